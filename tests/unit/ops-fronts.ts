// The two front ends of the ops tests, as their adapters build them: the scripts' (flags; a
// number shown as typed, here "typed"; hints naming shell commands) and MCP's (fields; hints
// naming tools), each with its wait defaults.
import { SHELL_HINTS } from '../../skills/background-manager/scripts/lib/install/hints.ts';
import { TOOL_HINTS } from '../../skills/background-manager/scripts/lib/mcp/hints.ts';
import type { FrontEnd } from '../../skills/background-manager/scripts/lib/ops/checks.ts';
import { MCP_WAIT_TIMEOUT_SEC, WAIT_TIMEOUT_SEC } from '../../skills/background-manager/scripts/lib/ops/defaults.ts';
import type { WaitDefaults } from '../../skills/background-manager/scripts/lib/ops/ready.ts';
import { compileRegex } from '../../skills/background-manager/scripts/lib/util/regex.ts';

export const CLI: FrontEnd = { style: 'flag', shown: () => 'typed', regex: compileRegex, hints: SHELL_HINTS };
export const MCP: FrontEnd = { style: 'field', regex: compileRegex, hints: TOOL_HINTS };
export const CLI_WAITS: WaitDefaults = { waitTimeoutSec: WAIT_TIMEOUT_SEC, restartKeepsTimeout: true };
export const MCP_WAITS: WaitDefaults = { waitTimeoutSec: MCP_WAIT_TIMEOUT_SEC, restartKeepsTimeout: false };
