// start_process: run a command in the background under a supervisor.
// Usage: node skills/background-manager/dist/start_process.mjs --help
// (the compatible form, same arguments and output: npx tsx skills/background-manager/scripts/start_process.ts)
// The work is in lib/commands/start_process.ts. This entry hands over to the bundle (the fast path,
// dist/start_process.mjs) when it is current, and runs the TypeScript when it is not (lib/cli/entry.ts).
import { runScript } from './lib/cli/entry.ts';

await runScript('start_process', () => import('./lib/commands/start_process.ts'));
