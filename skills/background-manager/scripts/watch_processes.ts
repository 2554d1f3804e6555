// watch_processes: one line per event of the data dir's processes, as it happens (started,
// ready, port opened/closed, waiting for input, output matching --match, restarted, how it ended).
// Usage: node skills/background-manager/dist/watch_processes.mjs --help
// (the compatible form: npx tsx skills/background-manager/scripts/watch_processes.ts)
// The work is in lib/commands/watch_processes.ts. This entry hands over to the bundle (the fast path,
// dist/watch_processes.mjs) when it is current, and runs the TypeScript when it is not (lib/cli/entry.ts).
import { runScript } from './lib/cli/entry.ts';

await runScript('watch_processes', () => import('./lib/commands/watch_processes.ts'));
