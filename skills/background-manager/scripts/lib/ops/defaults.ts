// The defaults every front end shares (the scripts, the MCP server, the page), named once. A
// front end that differs on purpose says so beside its own constant (the MCP server's waits
// stay below the 60 s after which most MCP hosts give up on a call).

/** Lines of output shown when a call does not say how many (get_logs, a failed readiness wait); an MCP
 * get_logs answer holds 100 unless asked (mcp/result.ts MCP_DEFAULT_LINES). */
export const DEFAULT_LINES = 20;

/** The signal a stop sends first, and how long it waits for the tree to end before SIGKILL
 * (defined beside the stop itself, where the dashboard's handoff uses them too). */
export { STOP_GRACE_SEC, STOP_SIGNAL } from '../control/stop.ts';

/** How long start_process / restart_process / get_logs wait for a readiness condition. */
export const WAIT_TIMEOUT_SEC = 60;

/** How long most MCP hosts (and the SDK's own client) wait for a call's answer before giving up. */
export const MCP_CLIENT_TIMEOUT_SEC = 60;

/** The MCP server's wait default, below MCP_CLIENT_TIMEOUT_SEC, and its bound. */
export const MCP_WAIT_TIMEOUT_SEC = 30;
export const MCP_MAX_WAIT_SEC = 600;
