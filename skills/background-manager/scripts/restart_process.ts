// restart_process: stop a process, then run the same command again under the same ID.
// Usage: node skills/background-manager/dist/restart_process.mjs --help
// (the compatible form, same arguments and output: npx tsx skills/background-manager/scripts/restart_process.ts)
// The work is in lib/commands/restart_process.ts. This entry hands over to the bundle (the fast path,
// dist/restart_process.mjs) when it is current, and runs the TypeScript when it is not (lib/cli/entry.ts).
import { runScript } from './lib/cli/entry.ts';

await runScript('restart_process', () => import('./lib/commands/restart_process.ts'));
