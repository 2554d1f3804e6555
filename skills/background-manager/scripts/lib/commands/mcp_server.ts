// mcp_server: the skill as a Model Context Protocol server over stdio, for agent hosts that
// give their model tools rather than a shell. Same data dir, same password, same library.
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { BgError } from '../errors.ts';
import { makeParser } from '../cli/cli.ts';
import { Session } from '../mcp/session.ts';
import { createServer } from '../mcp/server.ts';

const VERSION = '0.1.0';

export async function main(argv: string[]): Promise<number> {
  await makeParser(
    argv,
    'Usage: $0\n\nServes the background-manager tools (start_process, list_processes, get_logs,\nsend_input, stop_process, restart_process, wait_process, remove_process) and each\nprocess\'s log as a resource, over MCP on stdin/stdout, until stdin closes. An agent\nhost starts it; see references/REFERENCE.md, "MCP server", for its configuration.',
  )
    .demandCommand(0, 0, '', 'mcp_server takes no arguments.')
    .parseAsync();
  const session = new Session();
  // Unlocked once, now. A missing or wrong password is said on stderr (where hosts log it) and
  // the server serves anyway: every tool call tries again and answers with the same error, so
  // the model learns what is wrong instead of seeing only a closed connection.
  try {
    session.context();
  } catch (err) {
    if (!(err instanceof BgError)) throw err;
    process.stderr.write(`mcp_server: error: ${err.message}\n`);
  }
  const { server, close } = createServer(session, VERSION);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
  });
  // The client has gone (stdin closed, or a signal from the host): end the waits in progress
  // and return, so that nothing of ours keeps the process alive.
  const gone = (why: string) => {
    if (session.closed.aborted) return;
    process.stderr.write(`mcp_server: ${why}; exiting.\n`);
    session.close();
    close();
    void server.close();
  };
  process.stdin.once('end', () => gone('the client closed stdin'));
  process.once('SIGTERM', () => gone('SIGTERM'));
  process.once('SIGINT', () => gone('SIGINT'));
  await server.connect(transport);
  await closed;
  // Calls still running finish their waits at the next status check (a quarter second).
  return 0;
}
