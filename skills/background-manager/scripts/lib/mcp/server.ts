// The MCP server: the skill's tools and log resources over one connection, on one unlocked
// data dir (Session). Tools live in start-tools.ts, process-tools.ts and logs-tool.ts; each
// calls the library functions its script calls.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { registerStartTools } from './start-tools.ts';
import { registerProcessTools } from './process-tools.ts';
import { registerLogsTool } from './logs-tool.ts';
import { registerLogResources } from './log-resources.ts';
import { EVENTS_URI, registerEvents } from './events.ts';
import { ClientRoots } from './roots.ts';
import type { Session } from './session.ts';

export const SERVER_INSTRUCTIONS =
  'background-manager runs long-lived commands in the background (dev servers, watchers, builds, REPLs) and keeps their output, encrypted, across sessions. ' +
  'Start one with start_process (wait_for/wait_port to return once it is ready), poll its output with get_logs new: true, type into it with send_input, end it with stop_process. ' +
  'Never run a command that does not end by itself any other way.';

/**
 * A server with every tool and resource registered, to connect once; `close` ends its log
 * watcher. It claims what it does: resources that change (a process started, stopped or
 * removed) and can be subscribed to; tools, but not tools.listChanged, which McpServer claims
 * as soon as a tool is registered: the nine tools never change, so a host need not watch them;
 * logging, the channel bg://events' subscribers are sent each event on (mcp/events.ts).
 */
export function createServer(session: Session, version: string): { server: McpServer; close: () => void } {
  const server = new McpServer(
    { name: 'background-manager', version },
    {
      capabilities: { resources: { subscribe: true, listChanged: true }, logging: {} },
      instructions: SERVER_INSTRUCTIONS,
    },
  );
  // A process started, stopped or removed: hosts that list resources read the list again.
  const changed = () => {
    if (server.isConnected()) server.sendResourceListChanged();
  };
  const roots = new ClientRoots(server.server);
  registerStartTools(server, session, roots, changed);
  registerProcessTools(server, session, changed, roots);
  registerLogsTool(server, session);
  const feed = registerEvents(server, session);
  const closeWatch = registerLogResources(server, session, { [EVENTS_URI]: feed });
  // Merged over what registerTool claimed (Server.registerCapabilities, before connect only).
  server.server.registerCapabilities({ tools: { listChanged: false } });
  return {
    server,
    close: () => {
      closeWatch();
      feed.close();
    },
  };
}
