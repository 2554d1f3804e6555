// The two front ends of the ops tests, as their adapters build them: the scripts' (flags; a
// number shown as typed, here "typed") and MCP's (fields), each with its wait defaults.
import type { FrontEnd } from '../../skills/background-manager/scripts/lib/ops/checks.ts';
import { MCP_WAIT_TIMEOUT_SEC, WAIT_TIMEOUT_SEC } from '../../skills/background-manager/scripts/lib/ops/defaults.ts';
import type { WaitDefaults } from '../../skills/background-manager/scripts/lib/ops/ready.ts';
import { compileRegex } from '../../skills/background-manager/scripts/lib/util/regex.ts';

export const CLI: FrontEnd = { style: 'flag', shown: () => 'typed', regex: compileRegex };
export const MCP: FrontEnd = { style: 'field', regex: compileRegex };
export const CLI_WAITS: WaitDefaults = { waitTimeoutSec: WAIT_TIMEOUT_SEC, restartKeepsTimeout: true };
export const MCP_WAITS: WaitDefaults = { waitTimeoutSec: MCP_WAIT_TIMEOUT_SEC, restartKeepsTimeout: false };
