// The supervisor's input watch (issue 26, part 1): after each quiet period (no output for
// QUIET_MS) it asks the kernel whether the command waits for input (lib/process/waiting.ts)
// and records the answer in the process's record, on transitions only (setWaiting). While
// nothing happens it asks again, less and less often (up to every RECHECK_MAX_MS), so a
// program that starts to read without printing anything is still seen. Input sent to the
// command ends a wait at once: the answer is being read. The supervisor is the command's
// ancestor, which is what reading /proc/<pid>/syscall takes under Yama ptrace_scope=1.
import fs from 'node:fs';
import { listeningPorts } from '../lib/process/ports.ts';
import { detectWaiting, type InputTarget, type TtyStat } from '../lib/process/waiting.ts';
import { isPortable, type ProcStat } from '../lib/process/proc.ts';
import type { Supervisor } from './state.ts';
import { recordWaitingInput } from './events.ts';

/** No output for this long, and the command is asked whether it waits for input. */
export const QUIET_MS = 300;
/** While nothing happens, it is asked again after 1 s, 2 s, 4 s, then every 5 s. */
const RECHECK_MIN_MS = 1000;
const RECHECK_MAX_MS = 5000;
/**
 * A re-check while nothing happened reads only the processes of the command's session that the
 * last full look found (a few files, not every process's stat); a full look (all of /proc)
 * follows each quiet period, and comes at least this often (a process that joined silently).
 */
const FULL_LOOK_MS = 30_000;

/**
 * The portable layer's answer (issue 29): macOS tells no one what a process waits for (ps shows
 * no wait channel there: XNU leaves p_wmesg empty; there is no /proc/<pid>/syscall).
 */
export const PORTABLE_UNKNOWN = 'this system does not tell what a process waits for (the portable process layer)';

/** What the record says of the wait: waiting, not, or unknown (null); with who waits and how. */
export interface WaitingState {
  waiting: boolean | null;
  /** Unknown: why. Waiting: the reader's PID and its syscall ("read on fd 0"). */
  detail?: string;
}

/**
 * THE transition: the one place the answer changes, in memory and in the record (only when it
 * changes). `waitingSince` is when it changed. A part that reports the change elsewhere (an
 * event log) hooks in here.
 */
export function setWaiting(sv: Supervisor, next: WaitingState): void {
  const w = watchOf(sv);
  if (w.current === next.waiting) return;
  w.current = next.waiting;
  const since = new Date().toISOString();
  void sv.updateRecord((rec) => {
    rec.waitingForInput = next.waiting;
    rec.waitingSince = since;
    if (next.detail) rec.waitingDetail = next.detail;
    else delete rec.waitingDetail;
  });
  if (next.waiting === true) recordWaitingInput(sv, next.detail); // the event log (issue 26, part 2)
}

interface Watch {
  current: boolean | null;
  timer?: NodeJS.Timeout;
  /** The timer armed is the end of a quiet period (not a re-check). */
  quietTimer?: boolean;
  lastActivity: number;
  nextGap: number;
  pid?: number;
  target?: InputTarget;
  /** The session's PIDs at the last full look, and when that was (0: none since the last activity). */
  session?: number[];
  fullAt: number;
}

const watches = new WeakMap<Supervisor, Watch>();

function watchOf(sv: Supervisor): Watch {
  let w = watches.get(sv);
  if (!w) {
    // The record starts with waitingForInput: false (main.ts runFields).
    w = { current: false, lastActivity: Date.now(), nextGap: RECHECK_MIN_MS, fullAt: 0 };
    watches.set(sv, w);
  }
  return w;
}

/** What the command's input is: its terminal, or the pipe the supervisor writes its stdin to. */
function targetOf(sv: Supervisor): InputTarget | undefined {
  const where = sv.child.inputPath?.();
  if (!where) return undefined;
  if (!sv.cfg.pty) return { kind: 'pipe', link: where };
  try {
    return { kind: 'tty', pts: where, ttyNr: fs.statSync(where).rdev };
  } catch {
    return undefined;
  }
}

/** Ask the kernel now, record the answer, and plan the next look. */
function check(sv: Supervisor): void {
  const w = watchOf(sv);
  w.timer = undefined;
  if (sv.ended) return;
  const quietFor = Date.now() - w.lastActivity;
  if (quietFor < QUIET_MS) return schedule(sv, QUIET_MS - quietFor, true);
  if (!sv.childRunning || sv.stop) {
    setWaiting(sv, { waiting: false });
  } else {
    if (w.pid !== sv.child.pid) {
      w.pid = sv.child.pid;
      w.target = targetOf(sv);
      w.fullAt = 0;
    }
    const full = !w.session || w.fullAt <= w.lastActivity || Date.now() - w.fullAt >= FULL_LOOK_MS;
    const target = w.target;
    const listens = (stats: TtyStat[]) => listeningPorts(sv.child.pid, stats as unknown as ProcStat[], {}).length > 0;
    const d = isPortable()
      ? { waiting: null as null, why: PORTABLE_UNKNOWN }
      : target
        ? detectWaiting({
            childPid: sv.child.pid,
            target,
            ancestor: process.pid,
            listens,
            known: full ? undefined : w.session,
          })
        : { waiting: null as null, why: 'its input cannot be found' };
    if ('session' in d && d.session) {
      w.session = d.session;
      if (full) w.fullAt = Date.now();
    }
    if (d.waiting === true) setWaiting(sv, { waiting: true, detail: `PID ${d.pid}: ${d.how}` });
    else if (d.waiting === null) setWaiting(sv, { waiting: null, detail: d.why });
    else setWaiting(sv, { waiting: false });
  }
  schedule(sv, w.nextGap, false);
  w.nextGap = Math.min(RECHECK_MAX_MS, w.nextGap * 2);
}

function schedule(sv: Supervisor, delay: number, quiet: boolean): void {
  const w = watchOf(sv);
  if (w.timer) clearTimeout(w.timer);
  w.quietTimer = quiet;
  w.timer = setTimeout(() => check(sv), delay);
  w.timer.unref(); // never what keeps the supervisor alive
}

/**
 * Start watching `sv`'s command (once it is registered): output and input restart the quiet
 * period; input also ends a wait at once.
 */
export function watchInput(sv: Supervisor): void {
  const w = watchOf(sv);
  const push = sv.out.push.bind(sv.out);
  sv.out.push = (stream, chunk) => {
    push(stream, chunk);
    if (stream === 'event') return;
    if (stream === 'input' && w.current !== false) setWaiting(sv, { waiting: false });
    w.lastActivity = Date.now();
    w.nextGap = RECHECK_MIN_MS;
    // A stream of output costs a clock read per chunk: the armed quiet timer looks again when it fires.
    if (!w.quietTimer || !w.timer) schedule(sv, QUIET_MS, true);
  };
  schedule(sv, QUIET_MS, true);
}
