// A duration argument in seconds, checked once for every front end: the scripts (cli.ts
// durationSec, which shows the value as it was typed) and the MCP tools (the value as given).
import { BgError } from '../errors.ts';
import { MAX_DURATION_SEC } from '../util/timer.ts';

/**
 * `v` seconds, checked: a finite number, above 0 (or 0 too, with `zeroOk`), and at most
 * MAX_DURATION_SEC. A USAGE error naming `flag` otherwise, with the value as `shown`.
 */
export function checkDurationSec(flag: string, v: number, zeroOk: boolean, shown = String(v)): number {
  if (!Number.isFinite(v) || v < 0 || (!zeroOk && v === 0)) {
    throw new BgError(
      'USAGE',
      `${flag} must be a number of seconds${zeroOk ? ', 0 or more' : ' above 0'} (got ${shown}).`,
    );
  }
  if (v > MAX_DURATION_SEC) {
    throw new BgError('USAGE', `${flag} ${shown} is too long: give at most ${MAX_DURATION_SEC} seconds (10 years).`);
  }
  return v;
}
