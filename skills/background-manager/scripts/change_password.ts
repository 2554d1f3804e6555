// change_password: re-wrap the data key under a new password.
// Usage: node skills/background-manager/dist/change_password.mjs --help
// (the compatible form, same arguments and output: npx tsx skills/background-manager/scripts/change_password.ts)
// The work is in lib/commands/change_password.ts. This entry hands over to the bundle (the fast path,
// dist/change_password.mjs) when it is current, and runs the TypeScript when it is not (lib/cli/entry.ts).
import { runScript } from './lib/cli/entry.ts';

await runScript('change_password', () => import('./lib/commands/change_password.ts'));
