// list_processes: every managed process with its checked (not remembered) status.
// Usage: node skills/background-manager/dist/list_processes.mjs --help
// (the compatible form, same arguments and output: npx tsx skills/background-manager/scripts/list_processes.ts)
// The work is in lib/commands/list_processes.ts. This entry hands over to the bundle (the fast path,
// dist/list_processes.mjs) when it is current, and runs the TypeScript when it is not (lib/cli/entry.ts).
import { runScript } from './lib/cli/entry.ts';

await runScript('list_processes', () => import('./lib/commands/list_processes.ts'));
