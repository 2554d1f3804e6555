// attach_process: a person's terminal on a running PTY process (watch it live, type, detach with Ctrl-]).
// Usage: node skills/background-manager/dist/attach_process.mjs --help
// (the compatible form, same arguments and output: npx tsx skills/background-manager/scripts/attach_process.ts)
// The work is in lib/commands/attach_process.ts. This entry hands over to the bundle (the fast path,
// dist/attach_process.mjs) when it is current, and runs the TypeScript when it is not (lib/cli/entry.ts).
import { runScript } from './lib/cli/entry.ts';

await runScript('attach_process', () => import('./lib/commands/attach_process.ts'));
