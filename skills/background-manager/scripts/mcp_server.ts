// mcp_server: the skill's tools over the Model Context Protocol (stdio), for agent hosts.
// Usage: BG_PASSWORD=... node skills/background-manager/dist/mcp_server.mjs (a host starts it)
// (the compatible form, same arguments and output: npx tsx skills/background-manager/scripts/mcp_server.ts)
// The work is in lib/commands/mcp_server.ts. This entry hands over to the bundle (the fast path,
// dist/mcp_server.mjs) when it is current, and runs the TypeScript when it is not (lib/cli/entry.ts).
import { runScript } from './lib/cli/entry.ts';

await runScript('mcp_server', () => import('./lib/commands/mcp_server.ts'));
