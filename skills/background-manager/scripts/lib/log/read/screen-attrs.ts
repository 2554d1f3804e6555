// get_logs --screen --attrs: what a screen shows by attributes alone. A menu that marks its
// selection only in reverse video, or only by a colour pair (dialog, whiptail), reads
// "Alpha / Beta / Gamma" as plain rows with no way to tell which is chosen. Read from the
// emulator's cells (@xterm/headless): reverse video, bold, underline, and cells whose colours
// differ from the rest of their row (the row's most common foreground/background pair).
// As text, each run of marked cells is written ⟦FLAGS:text⟧ (FLAGS from r b u c); a ⟦, ⟧ or \
// the program printed is written \⟦, \⟧, \\. As JSON, the runs are spans (REFERENCE.md).
import type { XTerm, XTermCell } from './xterm.ts';

/** A run of cells in one row with the same marks; `fg`/`bg`: palette 0-255, "#rrggbb", or null (default). */
export interface Span {
  row: number;
  col: number; // 0-based cell where it starts
  text: string;
  attrs: Attr[];
  fg: number | string | null;
  bg: number | string | null;
}

export type Attr = 'inverse' | 'bold' | 'underline' | 'colour';

/** The letter each attribute is marked with in text, in this order. */
const LETTERS: Record<Attr, string> = { inverse: 'r', bold: 'b', underline: 'u', colour: 'c' };
export const OPEN = '\u27e6'; // ⟦
export const CLOSE = '\u27e7'; // ⟧

function colourOf(mode: 'Fg' | 'Bg', c: XTermCell): number | string | null {
  const v = mode === 'Fg' ? c.getFgColor() : c.getBgColor();
  if (mode === 'Fg' ? c.isFgDefault() : c.isBgDefault()) return null;
  if (mode === 'Fg' ? c.isFgRGB() : c.isBgRGB()) return `#${v.toString(16).padStart(6, '0')}`;
  return v;
}

const fgOf = (c: XTermCell) => `${c.getFgColorMode()}:${c.getFgColor()}`;
const bgOf = (c: XTermCell) => `${c.getBgColorMode()}:${c.getBgColor()}`;
const blank = (c: XTermCell) => (c.getChars() || ' ') === ' ';

/** The most common of `keys`. */
function commonest(keys: string[]): string | undefined {
  const counts = new Map<string, number>();
  let best: string | undefined;
  for (const k of keys) {
    const n = (counts.get(k) ?? 0) + 1;
    counts.set(k, n);
    if (!best || n > counts.get(best)!) best = k;
  }
  return best;
}

interface Cell {
  col: number;
  chars: string;
  attrs: Attr[];
  fg: number | string | null;
  bg: number | string | null;
}

/**
 * The cells of row `y` (wide characters once, at their first column) with their marks. A
 * cell's colours count as different when its background is not the row's commonest, or (a
 * character, not a blank) its foreground is not the commonest of the row's characters. Blank
 * cells on the default background are left out of both: the part of a row nothing was drawn on
 * (curses writes text in explicit white on black, and leaves the rest at the default).
 */
function cellsOf(term: XTerm, y: number, cols: number): Cell[] {
  const buf = term.buffer.active;
  const line = buf.getLine(buf.viewportY + y);
  if (!line) return [];
  // One pass over the row's cells (one cell object, reused), then the marks.
  const raw: (Cell & { drawn: boolean; blank: boolean; fgKey: string; bgKey: string; wide0: boolean })[] = [];
  const reuse = buf.getNullCell();
  for (let x = 0; x < cols; x++) {
    const c = line.getCell(x, reuse);
    if (!c) continue;
    const isBlank = blank(c);
    const attrs: Attr[] = [];
    if (c.isInverse()) attrs.push('inverse');
    if (c.isBold()) attrs.push('bold');
    if (c.isUnderline()) attrs.push('underline');
    raw.push({
      col: x,
      chars: c.getChars() || ' ',
      attrs,
      fg: colourOf('Fg', c),
      bg: colourOf('Bg', c),
      drawn: !(isBlank && c.isBgDefault() && !c.isInverse()),
      blank: isBlank,
      fgKey: fgOf(c),
      bgKey: bgOf(c),
      wide0: c.getWidth() === 0,
    });
  }
  const drawn = raw.filter((c) => c.drawn);
  const baseBg = commonest(drawn.map((c) => c.bgKey));
  const baseFg = commonest(drawn.filter((c) => !c.blank).map((c) => c.fgKey));
  return raw.flatMap((c) => {
    if (c.wide0) return []; // the second cell of a wide character
    if (c.drawn && (c.bgKey !== baseBg || (!c.blank && c.fgKey !== baseFg))) c.attrs.push('colour');
    return [{ col: c.col, chars: c.chars, attrs: c.attrs, fg: c.fg, bg: c.bg }];
  });
}

/** A row's runs: cells with the same marks and colours (unmarked runs have no attrs). */
function runsOf(cells: Cell[], y: number): Span[] {
  const runs: Span[] = [];
  for (const c of cells) {
    const cur = runs[runs.length - 1];
    if (cur && cur.attrs.join() === c.attrs.join() && cur.fg === c.fg && cur.bg === c.bg) cur.text += c.chars;
    else runs.push({ row: y, col: c.col, text: c.chars, attrs: c.attrs, fg: c.fg, bg: c.bg });
  }
  // A run of blanks (a bar's padding) says nothing, and a run's blanks at either end are
  // padding: they stay in the row, unmarked.
  return runs.flatMap((r) => {
    const text = r.text.trim();
    if (!r.attrs.length || text === r.text) return [r];
    const lead = r.text.length - r.text.trimStart().length;
    const unmarked = (t: string, col: number): Span => ({ ...r, col, text: t, attrs: [] });
    if (text === '') return [unmarked(r.text, r.col)];
    return [
      ...(lead ? [unmarked(r.text.slice(0, lead), r.col)] : []),
      { ...r, col: r.col + lead, text },
      ...(lead + text.length < r.text.length ? [unmarked(r.text.slice(lead + text.length), 0)] : []),
    ];
  });
}

/** Program text with the markers' own characters escaped (\⟦ \⟧ \\). */
export function escapeMarks(text: string): string {
  return text.replace(/[\\\u27e6\u27e7]/g, (c) => `\\${c}`);
}

/** The marked spans of a screen, and its rows as text with each marked ⟦FLAGS:text⟧. */
export function screenAttrs(term: XTerm, plain: string[], cols: number): { spans: Span[]; marked: string[] } {
  const spans: Span[] = [];
  const marked: string[] = [];
  for (let y = 0; y < plain.length; y++) {
    if (plain[y] === '') {
      marked.push(''); // a blank row has no marks (a run of blanks is never marked)
      continue;
    }
    let text = '';
    for (const r of runsOf(cellsOf(term, y, cols), y)) {
      if (!r.attrs.length) {
        text += escapeMarks(r.text);
        continue;
      }
      spans.push(r);
      text += `${OPEN}${r.attrs.map((a) => LETTERS[a]).join('')}:${escapeMarks(r.text)}${CLOSE}`;
    }
    marked.push(text.replace(/ +$/, ''));
  }
  return { spans, marked };
}
