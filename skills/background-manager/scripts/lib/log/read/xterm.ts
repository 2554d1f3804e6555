// The terminal emulator every screen is replayed through (@xterm/headless, at the PTY's size),
// and the part of its API we use (its typings: node_modules/@xterm/headless/typings).
import { createRequire } from 'node:module';

export const PTY_COLS = 200;
export const PTY_ROWS = 50;

export interface XTerm {
  write(data: Uint8Array | string, cb?: () => void): void;
  buffer: {
    active: {
      type: 'normal' | 'alternate';
      cursorX: number;
      cursorY: number;
      viewportY: number;
      getLine(y: number): XTermLine | undefined;
      getNullCell(): XTermCell;
    };
  };
  resize(cols: number, rows: number): void;
  dispose(): void;
}

/** A row of the emulator's buffer (@xterm/headless's IBufferLine). */
export interface XTermLine {
  length: number;
  /** The row goes on from the one above (the terminal wrapped it). */
  isWrapped: boolean;
  translateToString(trim: boolean, start?: number, end?: number): string;
  getCell(x: number, reuse?: XTermCell): XTermCell | undefined;
}

/** One cell (@xterm/headless's IBufferCell): what --attrs reads. */
export interface XTermCell {
  getWidth(): number;
  getChars(): string;
  isInverse(): number;
  isBold(): number;
  isUnderline(): number;
  getFgColorMode(): number;
  getBgColorMode(): number;
  getFgColor(): number;
  getBgColor(): number;
  isFgDefault(): boolean;
  isBgDefault(): boolean;
  isFgRGB(): boolean;
  isBgRGB(): boolean;
}

// Loaded only here: the emulator is 180 KB that no other call needs.
export function newTerminal(cols = PTY_COLS, rows = PTY_ROWS): XTerm {
  const require = createRequire(import.meta.url);
  const { Terminal } = require('@xterm/headless') as { Terminal: new (o: object) => XTerm };
  return new Terminal({ cols, rows, scrollback: 0, allowProposedApi: true });
}

/** Until everything written to `term` so far has been parsed. */
export function parsed(term: XTerm): Promise<void> {
  return new Promise<void>((resolve) => term.write('', resolve));
}

/** Which visible rows of `term` go on from the row above (soft-wrapped). */
export function wrappedOf(term: XTerm, rows = PTY_ROWS): boolean[] {
  const buf = term.buffer.active;
  return Array.from({ length: rows }, (_, y) => !!buf.getLine(buf.viewportY + y)?.isWrapped);
}

/** The visible rows of `term`, trailing spaces trimmed. */
export function rowsOf(term: XTerm, rows = PTY_ROWS): string[] {
  const buf = term.buffer.active;
  const lines: string[] = [];
  for (let y = 0; y < rows; y++)
    lines.push((buf.getLine(buf.viewportY + y)?.translateToString(true) ?? '').replace(/ +$/, ''));
  return lines;
}
