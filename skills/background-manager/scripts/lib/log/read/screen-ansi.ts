// A replayed screen as a terminal draws it (attach_process's first draw): each row's cells with
// their colours and attributes (SGR), the cursor where it stands, and the modes the program
// had set (application cursor keys, bracketed paste, mouse reports) so that keys reach it as it
// expects. Everything here is made from the emulator's cells: nothing the program printed
// reaches the person's terminal as it was, so no OSC or other string survives it.
import type { ReplayPart, TermSize } from './term-size.ts';
import { newTerminal, parsed, type XTermCell } from './xterm.ts';

export interface AnsiScreen {
  rows: string[]; // each row as SGR + text, trailing blank cells left out
  cursor: { row: number; col: number };
  size: TermSize;
  alternate: boolean;
  /** Escape sequences that set the modes the program had set (empty when none). */
  modes: string;
}

interface Cell extends XTermCell {
  isItalic(): number;
  isDim(): number;
  isFgPalette(): boolean;
  isBgPalette(): boolean;
}

interface Modes {
  applicationCursorKeysMode: boolean;
  bracketedPasteMode: boolean;
  mouseTrackingMode: 'none' | 'x10' | 'vt200' | 'drag' | 'any';
}

function colour(c: Cell, fg: boolean): string {
  if (fg ? c.isFgDefault() : c.isBgDefault()) return '';
  const v = fg ? c.getFgColor() : c.getBgColor();
  if (fg ? c.isFgRGB() : c.isBgRGB()) return `;${fg ? 38 : 48};2;${(v >> 16) & 255};${(v >> 8) & 255};${v & 255}`;
  if (v < 8) return `;${(fg ? 30 : 40) + v}`;
  if (v < 16) return `;${(fg ? 90 : 100) + v - 8}`;
  return `;${fg ? 38 : 48};5;${v}`;
}

function sgrOf(c: Cell): string {
  let s = '0';
  if (c.isBold()) s += ';1';
  if (c.isDim()) s += ';2';
  if (c.isItalic()) s += ';3';
  if (c.isUnderline()) s += ';4';
  if (c.isInverse()) s += ';7';
  return `\x1b[${s}${colour(c, true)}${colour(c, false)}m`;
}

const PLAIN = '\x1b[0m';

/** Replay `parts` from `start` (replaySinceReset) and draw the screen they leave. */
export async function replayAnsi(parts: ReplayPart[], start: TermSize): Promise<AnsiScreen> {
  const term = newTerminal(start.cols, start.rows);
  let size = start;
  try {
    for (const p of parts) {
      if (Buffer.isBuffer(p)) term.write(p);
      else {
        await parsed(term);
        term.resize(p.cols, p.rows);
        size = p;
      }
    }
    await parsed(term);
    const buf = term.buffer.active;
    const rows: string[] = [];
    for (let y = 0; y < size.rows; y++) {
      const line = buf.getLine(buf.viewportY + y);
      let out = '';
      let sgr = PLAIN;
      let pending = ''; // blank default cells: written only if something follows them
      for (let x = 0; line && x < size.cols; x++) {
        const c = line.getCell(x) as Cell | undefined;
        if (!c || c.getWidth() === 0) continue;
        const s = sgrOf(c);
        const ch = c.getChars() || ' ';
        if (ch === ' ' && s === PLAIN) {
          pending += ' ';
          continue;
        }
        if (pending) {
          if (sgr !== PLAIN) out += PLAIN;
          out += pending;
          sgr = PLAIN;
          pending = '';
        }
        if (s !== sgr) out += s;
        sgr = s;
        out += ch;
      }
      rows.push(sgr === PLAIN ? out : out + PLAIN);
    }
    const m = (term as unknown as { modes?: Modes }).modes;
    let modes = '';
    if (m?.applicationCursorKeysMode) modes += '\x1b[?1h';
    if (m?.bracketedPasteMode) modes += '\x1b[?2004h';
    const mouse: Record<string, number> = { x10: 9, vt200: 1000, drag: 1002, any: 1003 };
    const tracking = mouse[m?.mouseTrackingMode ?? 'none'];
    if (tracking) modes += `\x1b[?${tracking}h\x1b[?1006h`;
    return {
      rows,
      cursor: { row: buf.cursorY, col: buf.cursorX },
      size,
      alternate: buf.type === 'alternate',
      modes,
    };
  } finally {
    term.dispose();
  }
}

/** Leaves the modes a program may have set on the person's terminal as a shell expects them. */
export const RESET_MODES = '\x1b[0m\x1b[?1l\x1b[?2004l\x1b[?9l\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?25h';
