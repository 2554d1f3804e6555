// wait_process's use case, once for the scripts and the MCP server: wait until a process ends
// (a restart policy's restarts included), or the timeout passes, and give its exit status.
import { BgError } from '../errors.ts';
import type { Hints } from '../install/hints.ts';
import { resolveProcess } from '../process/resolve.ts';
import { isLive, type LiveStatus, liveStatus } from '../process/status.ts';
import { pollingLook } from '../process/proc.ts';
import type { Context } from '../store/context.ts';
import { findRecord } from '../store/state.ts';
import { waitFor } from '../util/wait.ts';
import { checkSeconds } from './checks.ts';

/** The exit status of a wait whose timeout passed first (as timeout(1) exits). */
export const EXIT_TIMEOUT = 124;
/** The exit status of a process that ended with none recorded (lost). */
export const EXIT_UNKNOWN = 125;
/** How often the state is read while waiting. */
const WAIT_POLL_MS = 100;

/** What a caller asks wait_process for. */
export interface WaitRequest {
  ref: string; // ID, unique ID prefix or name
  timeoutSec?: number; // give up after this long; none: wait as long as it runs (the scripts' default)
}

/** How a front end names, in the messages, the options of a wait. */
export interface WaitWords {
  /** The timeout's option: '--timeout' (scripts), 'timeout' (MCP). */
  timeout: string;
  /** A number as the caller typed it (the scripts: "abc", which yargs made NaN). */
  shown?: (value: number) => string;
  /** How the messages point to another call (install/hints.ts). */
  hints: Hints;
}

/** A wait request checked, with the caller's hints. */
export interface WaitOrder extends WaitRequest {
  hints: Hints;
}

/** Check a wait request before anything is read. */
export function checkWait(req: WaitRequest, words: WaitWords): WaitOrder {
  if (req.timeoutSec !== undefined) checkSeconds(words.timeout, req.timeoutSec, true, words.shown?.(req.timeoutSec));
  return { ...req, hints: words.hints };
}

export interface WaitResult {
  id: string;
  timeoutSec?: number;
  /** The wait ended before its timeout: the process had ended or was gone (or the call was cancelled). */
  done: boolean;
  /** The process has ended (its record read again after the wait). */
  ended: boolean;
  status: LiveStatus;
  /** Its exit status; EXIT_UNKNOWN if it ended with none, EXIT_TIMEOUT if it has not ended. */
  exitCode: number;
}

/** Wait as a checked request says; `signal` ends the wait early (a cancelled MCP call). */
export async function waitProcess(ctx: Context, req: WaitOrder, signal?: AbortSignal): Promise<WaitResult> {
  const id = resolveProcess(ctx.store.read(), req.ref, req.hints).id;
  const current = () => findRecord(ctx.store.read(), id);
  const done = await waitFor(
    () => {
      if (signal?.aborted) return true;
      const rec = current();
      return !rec || !pollingLook(() => isLive(rec));
    },
    req.timeoutSec === undefined ? Infinity : req.timeoutSec * 1000,
    WAIT_POLL_MS,
  );
  const rec = current();
  if (!rec) throw new BgError('NOT_FOUND', `process ${id} was removed while waiting.`);
  const status = liveStatus(rec);
  const ended = done && !isLive(rec);
  const exitCode = ended ? (status.exitStatus ?? EXIT_UNKNOWN) : EXIT_TIMEOUT;
  return { id, timeoutSec: req.timeoutSec, done, ended, status, exitCode };
}

/** What a wait that saw the process end says. */
export function endedText(r: WaitResult): string {
  return `Process ${r.id} ended: ${r.status.label}`;
}

/** What a wait whose timeout passed says, after the front end's own start. */
export function stillRunningText(r: WaitResult): string {
  return `${r.id} is still ${r.status.label} after ${r.timeoutSec} s.`;
}
