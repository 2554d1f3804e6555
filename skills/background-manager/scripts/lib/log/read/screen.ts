// get_logs --screen: a PTY process's terminal screen as it stands (or stood when it ended).
// Programs that draw a screen (top, curses menus, installers) move the cursor and redraw in
// place, so their output read as lines is a jumble; replayed through a terminal emulator
// (@xterm/headless, at the PTY's size) it is the rows a person would see.
// Only the output since the last full-screen reset is replayed, found by reading the log
// backward: the switch to the alternate screen (ESC[?1049h, which clears it), a clear of the
// whole screen (ESC[2J) or a terminal reset (ESC c) on the screen shown at the end. A program
// that redraws keeps --screen about as cheap on a 1 GiB log as on a 1 MB one. Without such a
// point within REPLAY_CAP bytes, the last REPLAY_CAP bytes are replayed from a line start:
// rows drawn before them by cursor movement alone are then missing (a documented limit).
import type { LogSetReader } from '../format/logset.ts';
import { screenAttrs, type Span } from './screen-attrs.ts';
import { newTerminal, parsed, PTY_COLS, PTY_ROWS, rowsOf, wrappedOf } from './xterm.ts';
import { sizeChange, startSize, type ReplayPart, type TermSize } from './term-size.ts';

export { PTY_COLS, PTY_ROWS } from './xterm.ts';
export const REPLAY_CAP = 8 << 20;

export interface Screen {
  rows: string[]; // every row, trailing spaces trimmed (written spaces too, not only empty cells)
  /** Which rows go on from the row above (soft-wrapped): secrets are looked for across them. */
  wrapped?: boolean[];
  cursor: { row: number; col: number }; // 0-based
  size: { cols: number; rows: number };
  replayedBytes: number;
  /** --attrs: the marked runs, and the rows with them marked (screen-attrs.ts). */
  attrs?: { spans: Span[]; marked: string[] };
}

// Alternate-screen switches (1049, 1047, 47) and whole-screen resets, in one pass.
const MARKS = /\x1b\[\?(1049|1047|47)([hl])|\x1b\[2J|\x1bc/g;

export interface Mark {
  at: number; // offset in the record's data
  kind: 'alt-on' | 'alt-off' | 'clear';
}

export function marksOf(data: Buffer): Mark[] {
  const out: Mark[] = [];
  if (!data.includes(0x1b)) return out; // most output has no escape at all: no string made of it
  for (const m of data.toString('latin1').matchAll(MARKS)) {
    out.push({ at: m.index!, kind: m[1] ? (m[2] === 'h' ? 'alt-on' : 'alt-off') : 'clear' });
  }
  return out;
}

/**
 * The PTY output to replay, oldest first: everything after the newest point from which the
 * final screen is whole. Walking back, a clear counts only on the screen shown at the end
 * (a clear inside an alternate-screen session that ended later does not reset the main one).
 */
export function outputSinceReset(reader: LogSetReader, cap = REPLAY_CAP): Buffer[] {
  return replaySinceReset(reader, undefined, cap).parts.filter((p): p is Buffer => Buffer.isBuffer(p));
}

/** What to replay, with the terminal's size changes among it (term-size.ts), and the size it starts at. */
export interface Replay {
  start: TermSize;
  parts: ReplayPart[];
}

/**
 * outputSinceReset with the size changes in it. `endSize`: the size at the end of the log (the
 * state's ptySize; default when absent). `beforeSeq`: only records before it (a viewer's start).
 */
export function replaySinceReset(
  reader: LogSetReader,
  endSize: TermSize | undefined,
  cap = REPLAY_CAP,
  beforeSeq?: number,
): Replay {
  const parts: ReplayPart[] = [];
  let bytes = 0;
  let insideEndedAlt = false; // walking back, between an alt-off and its alt-on
  let found = false;
  let firstWas: TermSize | undefined; // walking back, the last seen is the oldest change
  reader.backward((rec) => {
    if (beforeSeq !== undefined && rec.seq >= beforeSeq) return true;
    if (rec.stream !== 'stdout') {
      const change = sizeChange(rec);
      if (change) {
        parts.push(change.now);
        firstWas = change.was;
      }
      return true;
    }
    const marks = marksOf(rec.data);
    for (let i = marks.length - 1; i >= 0 && !found; i--) {
      const m = marks[i]!;
      if (m.kind === 'alt-off') insideEndedAlt = true;
      else if (m.kind === 'alt-on' && insideEndedAlt) insideEndedAlt = false;
      else if (m.kind === 'alt-on' || !insideEndedAlt) {
        parts.push(rec.data.subarray(m.at));
        found = true;
      }
    }
    if (found) return false;
    parts.push(rec.data);
    bytes += rec.data.length;
    return bytes < cap;
  });
  parts.reverse();
  if (!found && bytes >= cap) {
    // No reset point within the cap: start at a line start, not inside an escape sequence.
    const i = parts.findIndex((p) => Buffer.isBuffer(p));
    const first = parts[i] as Buffer;
    const nl = first.indexOf(0x0a);
    parts[i] = nl >= 0 ? first.subarray(nl + 1) : first;
  }
  return { start: startSize(firstWas, endSize), parts };
}

/** The screen after replaying `parts` through a terminal of the given size. */
export async function replayScreen(
  parts: ReplayPart[],
  cols = PTY_COLS,
  rows = PTY_ROWS,
  withAttrs = false,
): Promise<Screen> {
  const term = newTerminal(cols, rows);
  try {
    let replayedBytes = 0;
    for (const p of parts) {
      if (!Buffer.isBuffer(p)) {
        // At the size in force from here: what was written so far is parsed at the old one.
        await parsed(term);
        term.resize(p.cols, p.rows);
        cols = p.cols;
        rows = p.rows;
        continue;
      }
      term.write(p);
      replayedBytes += p.length;
    }
    await parsed(term);
    const buf = term.buffer.active;
    const plain = rowsOf(term, rows);
    return {
      rows: plain,
      wrapped: wrappedOf(term, rows),
      cursor: { row: buf.cursorY, col: buf.cursorX },
      size: { cols, rows },
      replayedBytes,
      ...(withAttrs ? { attrs: screenAttrs(term, plain, cols) } : {}),
    };
  } finally {
    term.dispose();
  }
}

/** The screen as the log leaves it; `endSize`: the state's ptySize (the terminal's size at the end). */
export async function readScreen(reader: LogSetReader, withAttrs = false, endSize?: TermSize): Promise<Screen> {
  const r = replaySinceReset(reader, endSize);
  return replayScreen(r.parts, r.start.cols, r.start.rows, withAttrs);
}

/** What --cursor puts before the cursor's row, and before every other row: a gutter of its own. */
export const CURSOR_MARK = '▶│';
export const NO_CURSOR_MARK = ' │';

/**
 * The screen as text: rows down to the last non-empty one (or the cursor's, with --cursor),
 * marked ⟦FLAGS:text⟧ where `s.attrs` holds marks (--attrs). --cursor prefixes every row with
 * a two-character gutter, CURSOR_MARK on the cursor's row: the program's own "> " stays in its row.
 */
export function screenText(s: Screen, markCursor: boolean): string {
  const all = s.attrs?.marked ?? s.rows;
  let last = all.length - 1;
  while (last >= 0 && all[last] === '' && !(markCursor && last === s.cursor.row)) last--;
  const rows = all.slice(0, last + 1);
  if (!markCursor) return rows.map((r) => `${r}\n`).join('');
  return rows.map((r, i) => `${i === s.cursor.row ? CURSOR_MARK : NO_CURSOR_MARK}${r}\n`).join('');
}
