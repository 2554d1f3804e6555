// The restart policy as one pure decision: given how a run ended, the policy, the restarts so
// far, the streak of quick failures and whether a stop is under way, finish or restart (after
// how long). No clock, no state: tests/unit/nextstep.test.ts checks every branch.
import type { RestartMode, StopReason } from '../lib/store/state.ts';

export interface Exit {
  exitCode: number | null;
  signal: string | null;
}

/** A run's end, and when the run began (ms since the epoch): a quick failure lengthens the back-off. */
export interface RunEnd extends Exit {
  startedAt: number;
}

export interface RestartPolicy {
  mode: RestartMode;
  max: number;
}

export const STOP_NOTES: Record<StopReason, string> = {
  stop: 'stopped by stop_process',
  timeout: 'stopped: --timeout reached',
  replace: 'stopped: replaced by a new process of the same name',
  restart: 'stopped by restart_process',
  remove: 'stopped by remove_process',
};

/** A run shorter than this counts as a quick failure: the back-off grows. */
export const QUICK_RUN_MS = 30_000;

/** Back-off before restart n of a streak of quick failures: 0.5 s, 1 s, 2 s ... up to 30 s. */
export function restartDelayMs(streak: number): number {
  return Math.min(30_000, 500 * 2 ** Math.max(0, streak - 1));
}

export function describeExit(exit: Exit): string {
  return exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.exitCode}`;
}

export type Step =
  /** No more runs. `gaveUp`: the policy wanted one, the budget was used up. */
  | { action: 'finish'; note: string; gaveUp: boolean }
  /** Run again `delayMs` from now (at `restartAt`): restart number `restarts`. */
  | { action: 'restart'; restarts: number; streak: number; delayMs: number; restartAt: number; note: string };

/** What follows a run's end. A stop under way always wins: nothing restarts what was stopped. */
export function nextStep(
  exit: RunEnd,
  policy: RestartPolicy,
  restarts: number,
  streak: number,
  stopping: StopReason | undefined,
  now: number,
): Step {
  const how = describeExit(exit);
  const failed = exit.signal !== null || exit.exitCode !== 0;
  const wanted = !stopping && (policy.mode === 'always' || (policy.mode === 'on-failure' && failed));
  if (!wanted || restarts >= policy.max) {
    const why = stopping
      ? ` (${STOP_NOTES[stopping]})`
      : wanted
        ? `; not restarted: all ${policy.max} restarts used`
        : '';
    return { action: 'finish', note: `${how}${why}`, gaveUp: wanted };
  }
  const nextStreak = now - exit.startedAt < QUICK_RUN_MS ? streak + 1 : 1;
  const delayMs = restartDelayMs(nextStreak);
  const n = restarts + 1;
  return {
    action: 'restart',
    restarts: n,
    streak: nextStreak,
    delayMs,
    restartAt: now + delayMs,
    note: `${how}; restarting in ${delayMs / 1000} s (restart ${n} of ${policy.max})`,
  };
}

/** The note for a stop that came during the back-off: the run that ended was the last. */
export function stoppedInBackoff(exit: Exit, reason: StopReason): string {
  return `${describeExit(exit)}; not restarted (${STOP_NOTES[reason]})`;
}
