// Readiness (--wait-for / --wait-port / --wait-timeout), once for start_process and
// restart_process, from the scripts and from MCP: which wait a call asks for, its checks and
// their messages, and the wait itself with why it failed. Each front end renders the outcome.
import { BgError } from '../errors.ts';
import { notReady, waitReady } from '../control/ready.ts';
import type { Cursor } from '../log/format/logset.ts';
import type { Hints } from '../install/hints.ts';
import type { Line } from '../log/read/lines.ts';
import type { Context } from '../store/context.ts';
import type { ProcessRecord, Readiness } from '../store/state.ts';
import { findRecord } from '../store/state.ts';
import { appendEvent } from '../store/events.ts';
import { type Redactor, recordRedactor } from '../util/redact.ts';
import { DEFAULT_LINES } from './defaults.ts';
import { checkPort, type FrontEnd, offName, optionName, seconds } from './checks.ts';

/** What a call says of readiness; undefined: not given. */
export interface WaitRequest {
  waitFor?: string; // a regular expression an output line must match
  waitPort?: number; // a TCP port the process tree must listen on
  waitTimeout?: number; // seconds
}

/** The wait decided on: none (no `ready`), or what to wait for with its pattern compiled. */
export interface Wait {
  ready?: Readiness;
  pattern?: RegExp;
}

/** How long a wait lasts unless the call says, per front end (see ops/defaults.ts). */
export interface WaitDefaults {
  waitTimeoutSec: number;
  /**
   * A restart told what to wait for keeps the timeout it was started with (the scripts:
   * "default: as at start, else 60"); MCP's documents its own default (30) instead.
   */
  restartKeepsTimeout: boolean;
}

const names = (fe: FrontEnd) => ({
  waitFor: optionName(fe, 'waitFor'),
  waitPort: optionName(fe, 'waitPort'),
  waitTimeout: optionName(fe, 'waitTimeout'),
});

/** The readiness fields checked (the pattern compiles, the port is one, the timeout a duration). */
export function checkWait(req: WaitRequest, fe: FrontEnd): RegExp | undefined {
  const pattern = req.waitFor === undefined ? undefined : fe.regex(names(fe).waitFor, req.waitFor);
  checkPort(fe, 'waitPort', req.waitPort);
  seconds(fe, 'waitTimeout', req.waitTimeout, false);
  return pattern;
}

/** Whether the call names something to wait for. */
const given = (req: WaitRequest) => req.waitFor !== undefined || req.waitPort !== undefined;

/** start_process's wait: as the call says, or none; a timeout alone is refused. */
export function startWait(req: WaitRequest, fe: FrontEnd, defaults: WaitDefaults): Wait {
  const pattern = checkWait(req, fe);
  if (!given(req)) {
    if (req.waitTimeout !== undefined) {
      const n = names(fe);
      throw new BgError(
        'USAGE',
        `${n.waitTimeout} needs ${n.waitFor} or ${n.waitPort}: it says how long to wait for them.`,
      );
    }
    return {};
  }
  const timeoutSec = req.waitTimeout ?? defaults.waitTimeoutSec;
  return { ready: { pattern: req.waitFor, port: req.waitPort, timeoutSec }, pattern };
}

/** A restart's wait request: as given, or (wait not false) as the process was started with. */
export interface RestartWaitRequest extends WaitRequest {
  wait?: boolean; // default true
}

/** The checks a restart's wait fields get before the process is looked up. */
export function checkRestartWait(req: RestartWaitRequest, fe: FrontEnd): void {
  checkPort(fe, 'waitPort', req.waitPort);
  seconds(fe, 'waitTimeout', req.waitTimeout, false);
  if (given(req) && req.wait === false) {
    const n = names(fe);
    throw new BgError(
      'USAGE',
      `${offName(fe, 'wait')} and ${n.waitFor}/${n.waitPort} contradict each other: give one.`,
    );
  }
  if (req.waitFor !== undefined) fe.regex(names(fe).waitFor, req.waitFor);
}

/** restart_process's wait for `rec`'s new run (checked by checkRestartWait first). */
export function restartWait(rec: ProcessRecord, req: RestartWaitRequest, fe: FrontEnd, defaults: WaitDefaults): Wait {
  let ready: Readiness | undefined;
  if (req.wait === false) ready = undefined;
  else if (given(req)) {
    const kept = defaults.restartKeepsTimeout ? rec.ready?.timeoutSec : undefined;
    const timeoutSec = req.waitTimeout ?? kept ?? defaults.waitTimeoutSec;
    ready = { pattern: req.waitFor, port: req.waitPort, timeoutSec };
  } else if (rec.ready) ready = { ...rec.ready, timeoutSec: req.waitTimeout ?? rec.ready.timeoutSec };
  if (req.waitTimeout !== undefined && !ready) {
    const n = names(fe);
    throw new BgError(
      'USAGE',
      `${n.waitTimeout} needs something to wait for: process ${rec.id} was started without ${n.waitFor} or ${n.waitPort}, so give one.`,
    );
  }
  if (!ready) return {};
  const pattern = ready.pattern === undefined ? undefined : fe.regex(names(fe).waitFor, ready.pattern);
  return { ready, pattern };
}

/** How a wait ended: ready (what showed it), or why not in words with the run's last lines. */
export type ReadyOutcome =
  | { ready: true; detail: string }
  | {
      ready: false;
      why: 'timeout' | 'ended';
      message: string;
      tail: Line[];
      /** Hides the process's secrets in `tail` (util/redact.ts): the last lines are shown as get_logs shows them. */
      redact?: Redactor;
    };

/**
 * Wait for `id` as `wait` says (it must hold a `ready`). `hints`: how a failure says to stop
 * the process, in the caller's words. `from`: where the run's output starts (a restart continues
 * the log); `signal`: the wait ends early once it is aborted.
 */
export async function awaitReady(
  ctx: Context,
  id: string,
  wait: Wait,
  hints: Hints,
  opts: { from?: Cursor; signal?: AbortSignal } = {},
): Promise<ReadyOutcome> {
  const ready = wait.ready!;
  const { from, signal } = opts;
  const res = await waitReady(ctx, id, {
    pattern: wait.pattern,
    port: ready.port,
    timeoutMs: ready.timeoutSec * 1000,
    from,
    signal,
  });
  const redactOf = () => {
    const rec = findRecord(ctx.store.read(), id);
    return recordRedactor(rec);
  };
  if (res.ready) {
    // Recorded as printed (the event log's readers hide secrets); shown with them hidden.
    await recordReady(ctx, id, res.detail, ready.port !== undefined && !wait.pattern ? ready.port : undefined);
    return { ready: true, detail: redactOf().text(res.detail) };
  }
  // An aborted wait is the caller's to describe; its message is not read.
  if (signal?.aborted) return { ready: false, why: res.why, message: '', tail: [] };
  const { message, tail } = notReady(ctx, id, ready, wait.pattern, res.why, DEFAULT_LINES, hints, from, res.screen);
  return { ready: false, why: res.why, message, tail, redact: redactOf() };
}

/**
 * The "ready" event (lib/store/events.ts): readiness is decided here, by the call that waits
 * for it, so it is recorded here. Best effort: a failure to record does not fail the start.
 */
async function recordReady(ctx: Context, id: string, detail: string, port: number | undefined): Promise<void> {
  const rec = findRecord(ctx.store.read(), id);
  if (!rec || !ctx.unlocked) return;
  try {
    await appendEvent(ctx.dataDir, ctx.unlocked.keys, {
      id,
      ...(rec.name ? { name: rec.name } : {}),
      event: 'ready',
      text: detail,
      pid: rec.pid,
      ...(port !== undefined ? { port } : { line: detail }),
    });
  } catch {
    /* the start is ready all the same */
  }
}
