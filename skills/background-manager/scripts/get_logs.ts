// get_logs: what a process printed: the tail, what is new, what matches, or a wait for a line.
// Usage: node skills/background-manager/dist/get_logs.mjs --help
// (the compatible form, same arguments and output: npx tsx skills/background-manager/scripts/get_logs.ts)
// The work is in lib/commands/get_logs.ts. This entry hands over to the bundle (the fast path,
// dist/get_logs.mjs) when it is current, and runs the TypeScript when it is not (lib/cli/entry.ts).
import { runScript } from './lib/cli/entry.ts';

await runScript('get_logs', () => import('./lib/commands/get_logs.ts'));
