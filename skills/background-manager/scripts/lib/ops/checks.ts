// How an operation's checks name an option and show a value, whichever front end called it: the
// scripts say `--wait-timeout` and show what was typed, MCP says `wait_timeout`. The checks that
// several verbs share (a duration, a TCP port) are written here once.
import { BgError } from '../errors.ts';
import { argOf, flagOf, type Hints } from '../install/hints.ts';
import { MAX_DURATION_SEC } from '../util/timer.ts';

/** The front end an operation was called from, as its messages need it. */
export interface FrontEnd {
  /** How options are named: `--wait-for` (the scripts' flags) or `wait_for` (MCP's fields). */
  style: 'flag' | 'field';
  /** A number as the caller gave it (the scripts: as typed, where yargs made "abc" NaN). */
  shown?: (name: string, value: number) => string;
  /** A user's regular expression, compiled (MCP's must run in linear time: see util/linear-regex.ts). */
  regex: (name: string, src: string) => RegExp;
  /** How its messages point to another call or an option (install/hints.ts). */
  hints: Hints;
}

/** The option a request field comes from, as the front end names it: waitFor -> --wait-for / wait_for. */
export function optionName(fe: FrontEnd, field: string): string {
  return fe.style === 'flag' ? flagOf(field) : argOf(field);
}

/** A boolean option turned off, as the front end says it: --no-wait / wait: false. */
export function offName(fe: FrontEnd, field: string): string {
  return fe.style === 'flag' ? `--no-${optionName(fe, field).slice(2)}` : `${optionName(fe, field)}: false`;
}

/** A number option's value for a message. */
export function shownValue(fe: FrontEnd, name: string, value: number): string {
  return fe.shown ? fe.shown(name, value) : String(value);
}

/**
 * A duration in seconds, checked: a finite number, above 0 (or 0 too, with `zeroOk`), and at
 * most MAX_DURATION_SEC. `shown`: the value as the caller typed it.
 */
export function checkSeconds(name: string, v: number, zeroOk: boolean, shown = String(v)): number {
  if (!Number.isFinite(v) || v < 0 || (!zeroOk && v === 0)) {
    throw new BgError(
      'USAGE',
      `${name} must be a number of seconds${zeroOk ? ', 0 or more' : ' above 0'} (got ${shown}).`,
    );
  }
  if (v > MAX_DURATION_SEC) {
    throw new BgError('USAGE', `${name} ${shown} is too long: give at most ${MAX_DURATION_SEC} seconds (10 years).`);
  }
  return v;
}

/** A request field holding seconds, checked (undefined stays undefined: the caller's default applies). */
export function seconds(fe: FrontEnd, field: string, v: number | undefined, zeroOk: boolean): number | undefined {
  if (v === undefined) return undefined;
  const name = optionName(fe, field);
  return checkSeconds(name, v, zeroOk, shownValue(fe, name, v));
}

/** A request field holding a TCP port to wait for, checked: 1 to 65535. */
export function checkPort(fe: FrontEnd, field: string, port: number | undefined): number | undefined {
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
    const name = optionName(fe, field);
    throw new BgError('USAGE', `${name} must be a TCP port, 1 to 65535 (got ${shownValue(fe, name, port)}).`);
  }
  return port;
}
