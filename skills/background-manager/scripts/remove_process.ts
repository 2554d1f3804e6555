// remove_process: forget finished processes and delete their logs.
// Usage: node skills/background-manager/dist/remove_process.mjs --help
// (the compatible form, same arguments and output: npx tsx skills/background-manager/scripts/remove_process.ts)
// The work is in lib/commands/remove_process.ts. This entry hands over to the bundle (the fast path,
// dist/remove_process.mjs) when it is current, and runs the TypeScript when it is not (lib/cli/entry.ts).
import { runScript } from './lib/cli/entry.ts';

await runScript('remove_process', () => import('./lib/commands/remove_process.ts'));
