// stop_process's use case, once for the scripts, the MCP server and the page: which processes
// (IDs and names, or all), the first signal and the grace period (checked and defaulted here),
// every stop run at once, and the sentence that says what ended each one.
import { type StopOutcome, stopProcess } from '../control/stop.ts';
import { BgError, EXIT } from '../errors.ts';
import { signalNumber } from '../process/proc.ts';
import { exitStatusOf, isLive, liveLeftovers, liveStatus } from '../process/status.ts';
import type { Hints } from '../install/hints.ts';
import type { Context } from '../store/context.ts';
import type { ProcessRecord } from '../store/state.ts';
import { oneLine, shownMessage } from '../util/format.ts';
import { checkSeconds } from './checks.ts';
import { STOP_GRACE_SEC, STOP_SIGNAL } from './defaults.ts';
import { checkTargets, resolveTargets, type TargetWords } from './targets.ts';

/** What a caller asks stop_process for; an absent field takes its default (defaults.ts). */
export interface StopRequest {
  refs: string[]; // IDs, unique ID prefixes or names
  all: boolean; // every live process, and the background jobs ended ones left running
  signal?: string; // the first signal as given: TERM, int, SIGHUP (STOP_SIGNAL)
  timeoutSec?: number; // seconds from the signal to SIGKILL (STOP_GRACE_SEC)
  force: boolean; // SIGKILL at once
}

/** How a front end names, in the messages, the options of a stop. */
export interface StopWords extends TargetWords {
  /** The grace period's option: '--timeout' (scripts), 'timeout' (MCP). */
  timeout: string;
  /** A number as the caller typed it (the scripts: "abc", which yargs made NaN). */
  shown?: (value: number) => string;
}

/** How one stop is made: the first signal (its full name), the grace period, or SIGKILL at once. */
export interface StopHow {
  signal: NodeJS.Signals;
  timeoutSec: number;
  force: boolean;
}

/** A stop request, checked and with its defaults applied. */
export interface StopOrder extends StopHow {
  refs: string[];
  all: boolean;
  hints: Hints; // the caller's, for an ID that names nothing
}

/** The page's stop (it has no options): STOP_SIGNAL, then SIGKILL after STOP_GRACE_SEC. */
export const DEFAULT_STOP: StopHow = { signal: STOP_SIGNAL, timeoutSec: STOP_GRACE_SEC, force: false };

/** What stop_process --all says when nothing runs. */
export const NOTHING_TO_STOP = 'No running processes to stop.';

/** A signal's short name, as the scripts and the MCP tool show their default: SIGTERM -> TERM. */
export function shortSignal(sig: string): string {
  return sig.replace(/^SIG/, '');
}

/** A signal as a caller names it (TERM, int, SIGHUP), by its full name; USAGE if there is none. */
export function signalOf(name: string): NodeJS.Signals {
  const sig = `SIG${shortSignal(name.toUpperCase())}`;
  if (signalNumber(sig) === undefined)
    throw new BgError('USAGE', `unknown signal "${oneLine(name)}". Use a name like TERM, INT, HUP, QUIT or KILL.`);
  return sig as NodeJS.Signals;
}

/** Check a stop request before anything is read: the targets, the grace period, the signal. */
export function checkStop(req: StopRequest, words: StopWords): StopOrder {
  checkTargets(req.refs, req.all, words);
  const timeoutSec = req.timeoutSec ?? STOP_GRACE_SEC;
  checkSeconds(words.timeout, timeoutSec, true, words.shown?.(timeoutSec));
  // With force the signal is SIGKILL, whatever signal says.
  const signal = req.force ? 'SIGKILL' : signalOf(req.signal ?? STOP_SIGNAL);
  return { refs: req.refs, all: req.all, signal, timeoutSec, force: req.force, hints: words.hints };
}

/** One process stopped: how, the sentence that says it, and how the stop went around its supervisor. */
export interface Stopped {
  ok: true;
  rec: ProcessRecord;
  outcome: StopOutcome;
  text: string;
  note?: string;
}

/** One stop that failed: its error, and the message as a line shows it. */
export interface StopFailed {
  ok: false;
  rec: ProcessRecord;
  error: BgError;
  message: string;
}

export interface StopReport {
  /** One per target, in the order they were named (or listed, with all). */
  results: (Stopped | StopFailed)[];
  /** The first failure's exit code, else 0. */
  exitCode: number;
}

/** Stop one process as `how` says; what ended it. */
export async function stopOne(ctx: Context, rec: ProcessRecord, how: StopHow): Promise<Stopped> {
  const outcome = await stopProcess(ctx, rec, how.signal, how.force ? 0 : Math.round(how.timeoutSec * 1000));
  const text = describeStop(rec, outcome, how.signal, how.timeoutSec);
  return { ok: true, rec, outcome, text, ...(!outcome.already && outcome.note ? { note: outcome.note } : {}) };
}

/**
 * Stop what `order` names, all at once: each target's result, a failure not stopping the
 * others. No targets (all, and nothing runs): no results, said as NOTHING_TO_STOP.
 */
export async function stopTargets(ctx: Context, order: StopOrder): Promise<StopReport> {
  const doc = ctx.store.read();
  const targets = order.all
    ? doc.processes.filter((p) => isLive(p) || liveLeftovers(p).length > 0)
    : resolveTargets(doc, order.refs, 'stopped', order.hints);
  const settled = await Promise.allSettled(targets.map((rec) => stopOne(ctx, rec, order)));
  const results = settled.map((o, i): Stopped | StopFailed => {
    if (o.status === 'fulfilled') return o.value;
    const error =
      o.reason instanceof BgError
        ? o.reason
        : new BgError('SUPERVISOR', String((o.reason as Error)?.message ?? o.reason));
    return { ok: false, rec: targets[i]!, error, message: shownMessage(error.message) };
  });
  const failed = results.find((r) => !r.ok);
  return { results, exitCode: failed ? failed.error.exitCode : EXIT.OK };
}

/** The line a failed stop makes (the scripts' stderr, the MCP answer's text). */
export function stopFailedLine(f: StopFailed): string {
  return `stop_process: error: ${f.rec.id}: ${f.message}`;
}

/** The sentence that says what a stop did (`sig` the first signal, `timeoutSec` its grace period). */
export function describeStop(rec: ProcessRecord, out: StopOutcome, sig: string, timeoutSec: number): string {
  if (out.already && out.leftovers) {
    const l = out.leftovers;
    const them = l.count === 1 ? 'it' : 'them';
    return `Process ${rec.id} is not running (${liveStatus(out.rec).label}); stopped what it left running: ${oneLine(l.names)}: ${l.endedBy === 'SIGKILL' && sig !== 'SIGKILL' ? `SIGKILL ended ${them} after ${timeoutSec} s` : `${l.endedBy} ended ${them}`}.`;
  }
  if (out.already) return `Process ${rec.id} is not running (${liveStatus(out.rec).label}); nothing to stop.`;
  const r = out.result;
  const status = exitStatusOf(r.exitCode, r.signal);
  if (r.endedBy === 'exited' || r.endedBy === 'exit') {
    // It had ended by itself (just before the stop, or between restarts): what it left
    // running got the signal.
    const n = r.endedLeftovers ?? 0;
    const whose = rec.restart && rec.restart.mode !== 'no' ? 'its runs' : 'it';
    const left = n ? `; ${sig} went to the ${n === 1 ? 'process' : `${n} processes`} ${whose} left running` : '';
    const killed =
      r.killedLeftovers && sig !== 'SIGKILL'
        ? `, ${r.killedLeftovers} of them killed with SIGKILL after ${timeoutSec} s`
        : '';
    const how = r.endedBy === 'exit' ? 'it was waiting to restart; not restarted' : 'it had already exited';
    return `Stopped process ${rec.id} (PID ${rec.pid}): ${how} (exit status ${status ?? 'unknown'})${left}${killed}.`;
  }
  const how =
    r.endedBy === 'SIGKILL' && sig !== 'SIGKILL'
      ? `it did not exit within ${timeoutSec} s of ${sig}; SIGKILL ended it`
      : `${r.endedBy} ended it`;
  const extra = r.killedLeftovers
    ? `; ${r.killedLeftovers} leftover process${r.killedLeftovers === 1 ? '' : 'es'} killed with SIGKILL`
    : '';
  return `Stopped process ${rec.id} (PID ${rec.pid}): ${how} (exit status ${status ?? 'unknown'})${extra}.`;
}
