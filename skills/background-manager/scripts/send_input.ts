// send_input: type into a running process (text, keypresses, or end of input).
// Usage: node skills/background-manager/dist/send_input.mjs --help
// (the compatible form, same arguments and output: npx tsx skills/background-manager/scripts/send_input.ts)
// The work is in lib/commands/send_input.ts. This entry hands over to the bundle (the fast path,
// dist/send_input.mjs) when it is current, and runs the TypeScript when it is not (lib/cli/entry.ts).
import { runScript } from './lib/cli/entry.ts';

await runScript('send_input', () => import('./lib/commands/send_input.ts'));
