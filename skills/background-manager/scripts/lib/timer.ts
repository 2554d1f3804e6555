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
  /** Called with each step's delay as it is armed (tests count the chain). */
  onStep?: (ms: number) => void;
  /** Keep the process alive while waiting (as setTimeout does); false: unref each step. */
  ref?: boolean;
}

/** setTimeout for any delay: `fn` runs once, no sooner than `ms` from now, unless cleared. */
export function setLongTimeout(fn: () => void, ms: number, opts: LongTimerOptions = {}): LongTimer {
  const maxStep = opts.maxStepMs ?? MAX_TIMER_MS;
  const deadline = Date.now() + Math.max(0, ms);
  let timer: NodeJS.Timeout | undefined;
  let cleared = false;
  // Each step ends no later than the deadline; fn never runs synchronously (as with setTimeout).
  const arm = (step: number) => {
    opts.onStep?.(step);
    timer = setTimeout(() => {
      if (cleared) return;
      const left = deadline - Date.now();
      if (left <= 0) fn();
      else arm(Math.min(left, maxStep));
    }, step);
    if (opts.ref === false) timer.unref();
  };
  arm(Math.min(Math.max(0, ms), maxStep));
  return {
    clear: () => {
      cleared = true;
      clearTimeout(timer);
    },
  };
}
