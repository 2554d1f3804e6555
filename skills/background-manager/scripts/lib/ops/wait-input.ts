// Waiting for a process to wait for input (issue 26, part 1), once for every front end:
// wait_process --until input, start_process/send_input --wait-input, and the MCP tools'
// until: "input" / wait_input. The answer is the one the supervisor records (its input watch,
// supervisor/waiting.ts, reads the kernel); here it is only read, with the prompt the program
// shows: its screen's last non-empty row under a terminal, else its log's last line.
import { BgError, EXIT } from '../errors.ts';
import { LogSetReader, logFileOf, type Cursor } from '../log/format/logset.ts';
import { lineText, type Line } from '../log/read/lines.ts';
import { recordRedactor, type Redactor } from '../util/redact.ts';
import { selectLines } from '../log/read/logquery.ts';
import { readScreen } from '../log/read/screen.ts';
import { waitingOf } from '../process/input-state.ts';
import { isLive, liveStatus } from '../process/status.ts';
import { pollingLook } from '../process/proc.ts';
import type { Context } from '../store/context.ts';
import { findRecord, type ProcessRecord } from '../store/state.ts';
import { waitFor } from '../util/wait.ts';
import { type FrontEnd, optionName, seconds } from './checks.ts';

/** How often the record is read while waiting. */
const INPUT_POLL_MS = 50;
/** The most lines --wait-input prints of what came since (the last ones; a note says how many were left out). */
export const WAIT_INPUT_MAX_LINES = 200;

/** How a wait for input ended. */
export type InputOutcome =
  | { state: 'waiting'; prompt: string; detail?: string }
  | { state: 'ended'; label: string }
  | { state: 'unknown'; why: string }
  | { state: 'timeout' };

/**
 * Wait until process `id` waits for input (a wait that began at or after `after`, ms since the
 * epoch: one that was already there before input was sent does not count), it ends, the record
 * says it cannot be told (at once), or `timeoutMs` passes.
 */
export async function awaitInput(
  ctx: Context,
  id: string,
  opts: { timeoutMs: number; after?: number; signal?: AbortSignal },
): Promise<InputOutcome> {
  let out = { state: 'timeout' } as InputOutcome;
  await waitFor(
    () => {
      if (opts.signal?.aborted) return true;
      const rec = findRecord(ctx.store.read(), id);
      if (!rec) throw new BgError('NOT_FOUND', `process ${id} was removed while waiting.`);
      const s = pollingLook(() => liveStatus(rec));
      const w = waitingOf(rec, s);
      const fresh = opts.after === undefined || Date.parse(rec.waitingSince ?? '') >= opts.after;
      if (w === true && fresh) {
        out = { state: 'waiting', prompt: '', detail: rec.waitingDetail };
        return true;
      }
      if (!isLive(rec)) return ((out = { state: 'ended', label: s.label }), true);
      if (w === null) return ((out = { state: 'unknown', why: unknownWhy(rec) }), true);
      return false;
    },
    opts.timeoutMs,
    INPUT_POLL_MS,
  );
  const seen = out as InputOutcome;
  if (seen.state === 'waiting') seen.prompt = await promptOf(ctx, findRecord(ctx.store.read(), id)!);
  return seen;
}

function unknownWhy(rec: ProcessRecord): string {
  if (rec.waitingForInput === undefined) return 'its supervisor predates the input watch; restart it to have one';
  return rec.waitingDetail ?? 'the system does not show what it is doing';
}

/** The prompt it shows: under a terminal the screen's last non-empty row, else the log's last line. */
export async function promptOf(ctx: Context, rec: ProcessRecord): Promise<string> {
  return recordRedactor(rec).text(await shownPrompt(ctx, rec));
}

async function shownPrompt(ctx: Context, rec: ProcessRecord): Promise<string> {
  const reader = new LogSetReader(logFileOf(ctx.dataDir, rec), ctx.unlocked!.keys, rec.id);
  if (rec.pty) {
    const rows = (await readScreen(reader)).rows;
    for (let i = rows.length - 1; i >= 0; i--) if (rows[i]!.trim() !== '') return rows[i]!;
    return '';
  }
  const sel = selectLines(reader, { streams: new Set(['stdout', 'stderr']), raw: false, lines: 1 });
  const last = sel.lines.at(-1);
  return last ? lineText(last, false) : '';
}

/** What the wait says when it saw the wait for input. */
export function waitingText(id: string, prompt: string): string {
  return `Process ${id} waits for input: ${JSON.stringify(prompt)}`;
}

/** What a wait says when the process ended first. */
export function endedFirstText(id: string, label: string): string {
  return `process ${id} ended (${label}) before it waited for input.`;
}

/** What a wait says when it cannot be told. */
export function unknownText(id: string, why: string): string {
  return `cannot tell whether process ${id} waits for input: ${why}.`;
}

/** What a wait says when its time ran out. */
export function notWaitingText(id: string, sec: number): string {
  return `process ${id} did not wait for input within ${sec} s; it is still running.`;
}

/** What it printed since `from` (stdout and stderr, as text): the last WAIT_INPUT_MAX_LINES lines, and how many before them were left out. */
export function outputSince(
  ctx: Context,
  rec: ProcessRecord,
  from: Cursor | undefined,
): { lines: Line[]; leftOut: number } {
  const reader = new LogSetReader(logFileOf(ctx.dataDir, rec), ctx.unlocked!.keys, rec.id);
  const sel = selectLines(reader, {
    streams: new Set(['stdout', 'stderr']),
    raw: false,
    lines: 0,
    from: from ?? null,
  });
  const all = sel.lines;
  const leftOut = Math.max(0, all.length - WAIT_INPUT_MAX_LINES);
  return { lines: all.slice(leftOut), leftOut };
}

/** A --wait-input request: whether to wait, and for how long (seconds; the front end's default if not given). */
export interface WaitInputRequest {
  waitInput?: boolean;
  waitFor?: string;
  waitPort?: number;
  waitTimeout?: number;
}

/**
 * start_process's --wait-input checked: it waits for the prompt itself, so --wait-for and
 * --wait-port (which wait for something else) are refused beside it. The seconds to wait, or
 * undefined when not asked.
 */
export function checkWaitInput(req: WaitInputRequest, fe: FrontEnd, defaultSec: number): number | undefined {
  if (!req.waitInput) {
    if (req.waitTimeout !== undefined && req.waitFor === undefined && req.waitPort === undefined)
      throw new BgError(
        'USAGE',
        `${optionName(fe, 'waitTimeout')} says how long ${optionName(fe, 'waitInput')} waits: add ${optionName(fe, 'waitInput')}.`,
      );
    return undefined;
  }
  if (req.waitFor !== undefined || req.waitPort !== undefined) {
    const other = optionName(fe, req.waitFor !== undefined ? 'waitFor' : 'waitPort');
    throw new BgError(
      'USAGE',
      `${optionName(fe, 'waitInput')} and ${other} wait for different things: give one (${optionName(fe, 'waitInput')} returns once the program waits for input).`,
    );
  }
  return seconds(fe, 'waitTimeout', req.waitTimeout, false) ?? defaultSec;
}

/** What a --wait-input saw: the output since, and whether it ended waiting (exit code for the scripts). */
export interface InputWaitReport {
  outcome: InputOutcome;
  lines: Line[];
  leftOut: number;
  /** Hides secrets in `lines` as every read does (util/redact.ts): pass it to lineText/formatLine. */
  redact: Redactor;
  /** The failure in words (not waiting), without the front end's prefix. */
  message?: string;
  exitCode: number;
}

/**
 * --wait-input after a start or an input: wait (as awaitInput), then read what it printed since
 * `from`. Exit codes: 0 waiting, 5 ended first, 1 timeout or cannot tell.
 */
export async function inputWaitReport(
  ctx: Context,
  id: string,
  opts: { timeoutSec: number; from?: Cursor; after?: number; signal?: AbortSignal },
): Promise<InputWaitReport> {
  const outcome = await awaitInput(ctx, id, {
    timeoutMs: opts.timeoutSec * 1000,
    after: opts.after,
    signal: opts.signal,
  });
  const rec = findRecord(ctx.store.read(), id);
  const { lines, leftOut } = rec ? outputSince(ctx, rec, opts.from) : { lines: [], leftOut: 0 };
  const redact = recordRedactor(rec);
  if (outcome.state === 'waiting') return { outcome, lines, leftOut, redact, exitCode: EXIT.OK };
  if (outcome.state === 'ended')
    return {
      outcome,
      lines,
      leftOut,
      redact,
      exitCode: EXIT.NOT_RUNNING,
      message: endedFirstText(id, outcome.label),
    };
  const message = outcome.state === 'unknown' ? unknownText(id, outcome.why) : notWaitingText(id, opts.timeoutSec);
  return { outcome, lines, leftOut, redact, exitCode: EXIT.FAILED, message };
}

/** The note before the lines when the first ones were left out. */
export function leftOutText(n: number): string {
  return `[${n} earlier line${n === 1 ? '' : 's'} left out: get_logs shows them]`;
}
