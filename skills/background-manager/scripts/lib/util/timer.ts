// Timers for user-given durations. Node's setTimeout takes at most 2^31 - 1 ms (about 24.8
// days): a longer delay fires after 1 ms with a TimeoutOverflowWarning, so `--timeout 3000000`
// stopped the process at once. A long wait is a chain of timers, each aimed at the deadline.
/** The longest delay one Node timer takes. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The longest duration an option takes (10 years): beyond it, a typo rather than a wish. */
export const MAX_DURATION_SEC = 10 * 365 * 24 * 3600;

export interface LongTimer {
  clear(): void;
}

export interface LongTimerOptions {
  /** The longest single step (tests inject a small one). */
  maxStepMs?: number;
  /** The clock and the one-step timer (tests inject a fake pair; default Date.now, setTimeout). */
  now?: () => number;
  schedule?: (fn: () => void, ms: number) => LongTimer;
}

const realSchedule = (fn: () => void, ms: number): LongTimer => {
  const t = setTimeout(fn, ms);
  return { clear: () => clearTimeout(t) };
};

/** setTimeout for any delay: `fn` runs once, no sooner than `ms` from now, unless cleared. */
export function setLongTimeout(fn: () => void, ms: number, opts: LongTimerOptions = {}): LongTimer {
  const maxStep = opts.maxStepMs ?? MAX_TIMER_MS;
  const now = opts.now ?? Date.now;
  const schedule = opts.schedule ?? realSchedule;
  const deadline = now() + Math.max(0, ms);
  let step: LongTimer | undefined;
  let cleared = false;
  // Each step ends no later than the deadline; fn never runs synchronously (as with setTimeout).
  const arm = (delay: number) => {
    step = schedule(() => {
      if (cleared) return;
      const left = deadline - now();
      if (left <= 0) fn();
      else arm(Math.min(left, maxStep));
    }, delay);
  };
  arm(Math.min(Math.max(0, ms), maxStep));
  return {
    clear: () => {
      cleared = true;
      step?.clear();
    },
  };
}
