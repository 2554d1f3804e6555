// MCP's wait for input (issue 26, part 1): wait_process until "input", and send_input's and
// start_process's wait_input, answered alike: what the program printed since (fitted to the
// answer's size) and the prompt, or a tool error saying why not. The rules are ops/wait-input.ts.
import { z } from 'zod';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { BgError, EXIT } from '../errors.ts';
import type { Cursor } from '../log/format/logset.ts';
import { MCP_CLIENT_TIMEOUT_SEC, MCP_WAIT_TIMEOUT_SEC } from '../ops/defaults.ts';
import { EXIT_TIMEOUT, EXIT_UNKNOWN } from '../ops/wait.ts';
import {
  awaitInput,
  endedFirstText,
  inputWaitReport,
  leftOutText,
  notWaitingText,
  unknownText,
  waitingText,
} from '../ops/wait-input.ts';
import type { Context } from '../store/context.ts';
import { TOOL_HINTS } from './hints.ts';
import { fitBytes, linesText, MAX_WAIT_SEC, notMet, ok, shownLine } from './result.ts';

export const waitInputFields = {
  wait_input: z
    .boolean()
    .default(false)
    .describe(
      'Return only once the program waits for input (the kernel shows it reading its terminal or stdin, quiet 0.3 s), with what it printed: a REPL answer is complete',
    ),
};

export const waitInputTimeout = z
  .number()
  .max(MAX_WAIT_SEC)
  .optional()
  .describe(
    `Seconds to wait for wait_input (default ${MCP_WAIT_TIMEOUT_SEC}, at most ${MAX_WAIT_SEC}). Most hosts give up on a call after ${MCP_CLIENT_TIMEOUT_SEC} s`,
  );

/** A wait_input after a start or an input: `head` (what was done) then the output and the prompt. */
export async function answerInputWait(
  tool: string,
  ctx: Context,
  id: string,
  head: string,
  facts: Record<string, unknown>,
  opts: { timeoutSec: number; from?: Cursor; after?: number; signal: AbortSignal },
): Promise<CallToolResult> {
  const r = await inputWaitReport(ctx, id, opts);
  if (opts.signal.aborted) throw cancelled(id);
  const { lines, omitted } = fitBytes(
    r.lines.map((l) => shownLine(l, r.redact)),
    'last',
  );
  const leftOut = r.leftOut + omitted;
  const body = `${leftOut ? `${leftOutText(leftOut)}\n` : ''}${linesText(lines, false)}`;
  const more = { ...facts, lines, omitted: leftOut };
  if (r.outcome.state === 'waiting') {
    const prompt = r.outcome.prompt;
    return ok(`${head}\n${body}${body ? '\n' : ''}${waitingText(id, prompt)}`, {
      ...more,
      waitingForInput: true,
      prompt,
    });
  }
  return notMet(tool, `${head}\nerror: ${r.message}\n${body}`, r.exitCode, {
    ...more,
    waitingForInput: false,
    why: r.outcome.state,
  });
}

/** wait_process until "input": the prompt, or why not (ended 5, unknown 125, timeout 124, as the script exits). */
export async function answerUntilInput(
  ctx: Context,
  id: string,
  timeoutSec: number,
  signal: AbortSignal,
): Promise<CallToolResult> {
  const r = await awaitInput(ctx, id, { timeoutMs: timeoutSec * 1000, signal });
  if (signal.aborted) throw cancelled(id);
  if (r.state === 'waiting')
    return ok(waitingText(id, r.prompt), { id, waitingForInput: true, state: r.state, prompt: r.prompt });
  const [text, code] =
    r.state === 'ended'
      ? [endedFirstText(id, r.label), EXIT.NOT_RUNNING]
      : r.state === 'unknown'
        ? [unknownText(id, r.why), EXIT_UNKNOWN]
        : [notWaitingText(id, timeoutSec), EXIT_TIMEOUT];
  return notMet('wait_process', `error: ${text}`, code, { id, waitingForInput: false, state: r.state });
}

function cancelled(id: string): BgError {
  return new BgError(
    'TIMEOUT',
    `the call was cancelled before process ${id} waited for input; it runs on (${TOOL_HINTS.call('stop_process', { ref: id })} ends it).`,
  );
}
