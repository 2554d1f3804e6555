// stop_process: end a process and everything it started, and say what ended it.
// Usage: node skills/background-manager/dist/stop_process.mjs --help
// (the compatible form, same arguments and output: npx tsx skills/background-manager/scripts/stop_process.ts)
// The work is in lib/commands/stop_process.ts. This entry hands over to the bundle (the fast path,
// dist/stop_process.mjs) when it is current, and runs the TypeScript when it is not (lib/cli/entry.ts).
import { runScript } from './lib/cli/entry.ts';

await runScript('stop_process', () => import('./lib/commands/stop_process.ts'));
