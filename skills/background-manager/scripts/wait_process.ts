// wait_process: block until a process ends, and exit with its exit status.
// Usage: node skills/background-manager/dist/wait_process.mjs --help
// (the compatible form, same arguments and output: npx tsx skills/background-manager/scripts/wait_process.ts)
// The work is in lib/commands/wait_process.ts. This entry hands over to the bundle (the fast path,
// dist/wait_process.mjs) when it is current, and runs the TypeScript when it is not (lib/cli/entry.ts).
import { runScript } from './lib/cli/entry.ts';

await runScript('wait_process', () => import('./lib/commands/wait_process.ts'));
