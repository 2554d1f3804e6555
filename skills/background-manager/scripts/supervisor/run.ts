// The run loop: wait for each run's end, note what it left running, and ask the restart policy
// (policy.ts nextStep) what follows: a back-off and another run, or the end, recorded. Stop
// replies wait for this loop to finish, so the end is in the state when they arrive.
import { commOf, markedWith, sessionMembersOf } from '../lib/process/proc.ts';
import { provenanceOf } from '../lib/util/git.ts';
import { finish } from './ending.ts';
import { describeExit, nextStep, stoppedInBackoff, type Exit } from './policy.ts';
import type { Supervisor } from './state.ts';
import { recordEvent } from './events.ts';

export async function runLoop(sv: Supervisor, ready: Promise<void>): Promise<void> {
  await ready;
  let restarts = 0;
  let streak = 0;
  for (;;) {
    const startedAt = Date.now();
    const exit = await sv.child.exited;
    sv.childRunning = false;
    sv.out.flush();
    keepLeftovers(sv);
    const step = nextStep({ ...exit, startedAt }, sv.cfg.restart, restarts, streak, sv.stop?.reason, Date.now());
    if (step.action === 'finish') {
      if (step.gaveUp) await sv.updateRecord((rec) => void (rec.gaveUp = true));
      return finish(sv, exit, step.note);
    }
    ({ restarts, streak } = step);
    sv.out.event(step.note);
    const at = new Date().toISOString();
    await sv.updateRecord((rec) => {
      rec.lastExit = { exitCode: exit.exitCode, signal: exit.signal, at };
      rec.restartingAt = new Date(step.restartAt).toISOString();
    });
    await backoff(sv, step.delayMs);
    if (sv.stop) return finish(sv, exit, stoppedInBackoff(exit, sv.stop.reason));
    if (!(await restart(sv, exit, restarts))) return;
  }
}

// Background jobs that outlived the run (they ignored the hang-up, or hold no pipe): kept for a
// stop (now, or stop_process later) and named, so that nobody thinks they ended with it. (Not
// named while a stop is under way: it ends them, and says how many.)
function keepLeftovers(sv: Supervisor): void {
  const left = sessionMembersOf(sv.child.pid, sv.since(), !sv.childStat);
  // And what left the session (setsid) on the way: found by the mark in its environment.
  for (const st of markedWith(sv.treeMark))
    if (st.pid !== sv.child.pid && !left.some((l) => l.pid === st.pid) && !sv.leftovers.some((l) => l.pid === st.pid))
      left.push(st);
  for (const st of left) sv.leftovers.push({ pid: st.pid, startTicks: st.startTicks, name: commOf(st.pid) ?? '?' });
  if (left.length && !sv.stop)
    sv.out.event(
      `still running after it ended, not stopped with it: ${left.map((st) => `PID ${st.pid} (${commOf(st.pid) ?? '?'})`).join(', ')}`,
    );
}

// Wait out the back-off, unless a stop is under way or comes meanwhile (stopChild wakes it).
async function backoff(sv: Supervisor, delayMs: number): Promise<void> {
  if (!sv.stop) {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, delayMs);
      sv.wakeBackoff = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
  sv.wakeBackoff = undefined;
}

// The next run; false if it could not start (then the end is recorded).
async function restart(sv: Supervisor, exit: Exit, restarts: number): Promise<boolean> {
  try {
    await sv.spawn();
  } catch (err) {
    await finish(sv, exit, `${describeExit(exit)}; restart failed: ${(err as Error).message}`);
    return false;
  }
  sv.out.event(`restarted: PID ${sv.child.pid} (restart ${restarts} of ${sv.cfg.restart.max})`);
  // The new run runs the code in the worktree now: its commit is read again (list --json's `stale`).
  const from = sv.cfg.provenance && provenanceOf(sv.cfg.provenance.folder);
  const why = describeExit(exit);
  const line = sv.tail.lastErrorLine();
  sv.tail.clear();
  void recordEvent(
    sv,
    'restarted',
    `${why}${line ? ` (${line})` : ''}; restart ${restarts} of ${sv.cfg.restart.max}, PID ${sv.child.pid}`,
    {
      pid: sv.child.pid,
      reason: why,
      exitCode: exit.exitCode,
      signal: exit.signal,
      ...(line ? { line } : {}),
    },
  );
  await sv.updateRecord((rec) => {
    if (from) rec.provenance = from;
    rec.restarts = restarts; // counted once it has happened, not while waiting for it
    rec.pid = sv.child.pid;
    rec.startTicks = sv.childStat?.startTicks;
    delete rec.restartingAt;
  });
  return true;
}
