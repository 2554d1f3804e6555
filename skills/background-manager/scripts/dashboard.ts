// dashboard: a live web page of every process (status, output, terminal; stop, restart, remove, send).
// Usage: node skills/background-manager/dist/dashboard.mjs --help
// (the compatible form, same arguments and output: npx tsx skills/background-manager/scripts/dashboard.ts)
// The work is in lib/commands/dashboard.ts. This entry hands over to the bundle (the fast path,
// dist/dashboard.mjs) when it is current, and runs the TypeScript when it is not (lib/cli/entry.ts).
import { runScript } from './lib/cli/entry.ts';

await runScript('dashboard', () => import('./lib/commands/dashboard.ts'));
