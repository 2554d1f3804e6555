// A PTY's size over time. The terminal starts at PTY_COLS x PTY_ROWS; while people are attached
// it takes the smallest viewer's size (supervisor/viewers.ts), and each change is an event in
// the log, `terminal size: 80x24 (was 200x50)` (docs/FORMAT.md). A replay (--screen, the page,
// attach_process's first draw, --wait-for on a screen) resizes its emulator at each one, and
// starts at the size before the first change it meets (or the size at the end: the state's
// ptySize, when no change lies in what it replays). Logs without such events are all default.
import type { LogRecord } from '../format/logfile.ts';
import { PTY_COLS, PTY_ROWS } from './xterm.ts';

export interface TermSize {
  cols: number;
  rows: number;
}

/** The largest cols or rows a viewer may ask for. */
export const SIZE_LIMIT = 1000;

export const DEFAULT_SIZE: TermSize = { cols: PTY_COLS, rows: PTY_ROWS };

const PREFIX = 'terminal size: ';
const EVENT = /^terminal size: (\d+)x(\d+) \(was (\d+)x(\d+)\)$/;

export const formatSize = (s: TermSize) => `${s.cols}x${s.rows}`;

/** The event recorded when the terminal's size changes. */
export function sizeEvent(now: TermSize, was: TermSize): string {
  return `${PREFIX}${formatSize(now)} (was ${formatSize(was)})`;
}

/** A record that says the size changed: the new size and the one before; undefined for any other. */
export function sizeChange(rec: LogRecord): { now: TermSize; was: TermSize } | undefined {
  if (rec.stream !== 'event' || rec.data.length > 64 || !rec.data.subarray(0, PREFIX.length).equals(PREFIX_BYTES))
    return undefined;
  const m = EVENT.exec(rec.data.toString('utf8'));
  if (!m) return undefined;
  return { now: { cols: +m[1]!, rows: +m[2]! }, was: { cols: +m[3]!, rows: +m[4]! } };
}
const PREFIX_BYTES = Buffer.from(PREFIX);

/** Output to replay, with the size changes among it, oldest first. */
export type ReplayPart = Buffer | TermSize;

/**
 * The size a replay of `parts` starts at: before the first change among them, else the size at
 * the end (`end`: the state's ptySize; the default when absent).
 */
export function startSize(firstWas: TermSize | undefined, end: TermSize | undefined): TermSize {
  return firstWas ?? end ?? DEFAULT_SIZE;
}
