// Turns what a program wrote to a terminal into the text a person would have seen: colour and
// cursor escape sequences removed, "\r" redraws (progress bars) collapsed to their final
// state, backspaces applied, other control bytes dropped. Invalid UTF-8 becomes U+FFFD.

// CSI, OSC (ended by BEL or ST), DCS/SOS/PM/APC strings, other ESC sequences, then text.
const TOKEN =
  /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[PX^_][^\x1b]*(?:\x1b\\)?|\x1b[ -/]*[0-~]?|\r\n|[\r\n\b\t]|[\x00-\x08\x0b-\x1f\x7f]|[^\x00-\x1f\x7f\x1b]+/g;

// Cursor moves past this column are clamped: output must not make us allocate without bound.
const MAX_COL = 4096;

export function renderTerminal(text: string): string {
  const t = new TerminalText();
  return t.feed(text) + t.end();
}

/**
 * renderTerminal, fed in pieces (a line too long to hold, get_logs writing it as it reads):
 * feed() returns what is final, end() the rest. A row is final once it holds ROW_CHARS
 * characters: a "\r" or cursor move after that reaches back only to the row's start, as on a
 * terminal that wraps. Shorter text renders exactly as renderTerminal did whole.
 */
export class TerminalText {
  static readonly ROW_CHARS = 1 << 18;
  private out: string[] = [];
  private line: string[] = [];
  private col = 0;
  private carry = ''; // the end of the last piece that may be the start of a token

  /** Nothing held back: text fed now starts a fresh row, so plain text is final as it stands. */
  get idle(): boolean {
    return this.line.length === 0 && this.col === 0 && this.carry === '';
  }

  feed(piece: string): string {
    if (!piece) return '';
    let text = this.carry + piece;
    // An escape sequence, or "\r" before a "\n", may go on in the next piece: keep it back.
    const esc = text.lastIndexOf('\x1b');
    const cut = esc >= 0 && text.length - esc < 256 ? esc : text.endsWith('\r') ? text.length - 1 : text.length;
    this.carry = text.slice(cut);
    text = text.slice(0, cut);
    if (
      this.line.length === 0 &&
      this.col === 0 &&
      text.length > TerminalText.ROW_CHARS &&
      !/[\x00-\x08\x0a-\x1f\x7f\x1b]/.test(text)
    ) {
      // Plain text on a fresh row: all but its last row is final as it stands (fast).
      let at = text.length - TerminalText.ROW_CHARS;
      if (/[\udc00-\udfff]/.test(text[at]!)) at--; // never between the halves of a surrogate pair
      this.out.push(text.slice(0, at));
      text = text.slice(at);
    }
    this.render(text);
    if (this.line.length >= TerminalText.ROW_CHARS) {
      this.out.push(this.line.join(''));
      this.line = [];
      this.col = 0;
    }
    const done = this.out.join('');
    this.out = [];
    return done;
  }

  end(): string {
    const text = this.carry;
    this.carry = '';
    this.render(text);
    if (this.line.length) this.out.push(this.line.join(''));
    this.line = [];
    const done = this.out.join('');
    this.out = [];
    return done;
  }

  private render(text: string): void {
    if (!text) return;
    const put = (s: string) => {
      for (const ch of s) {
        while (this.line.length < this.col) this.line.push(' ');
        this.line[this.col++] = ch;
      }
    };
    for (const m of text.matchAll(TOKEN)) {
      const t = m[0];
      const c = t.charCodeAt(0);
      if (c === 0x1b) {
        if (t[1] === '[') {
          const final = t[t.length - 1];
          const n = Number.parseInt(t.slice(2), 10);
          if (final === 'K') {
            const mode = Number.isNaN(n) ? 0 : n;
            if (mode === 0) this.line.length = Math.min(this.line.length, this.col);
            else if (mode === 2) this.line = [];
          } else if (final === 'G') this.col = Math.min(MAX_COL, Math.max(0, (Number.isNaN(n) ? 1 : n) - 1));
          else if (final === 'C') this.col = Math.min(MAX_COL, this.col + (Number.isNaN(n) ? 1 : n));
          else if (final === 'D') this.col = Math.max(0, this.col - (Number.isNaN(n) ? 1 : n));
        }
        continue;
      }
      if (t === '\n' || t === '\r\n') {
        this.out.push(this.line.join(''), '\n');
        this.line = [];
        this.col = 0;
      } else if (t === '\r') this.col = 0;
      else if (t === '\b') this.col = Math.max(0, this.col - 1);
      else if (t === '\t') put('\t');
      else if (c >= 0x20 && c !== 0x7f) put(t);
    }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

export function decodeUtf8(buf: Uint8Array): string {
  return utf8.decode(buf);
}

export function countNewlines(buf: Uint8Array): number {
  let n = 0;
  let ix = -1;
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  while ((ix = b.indexOf(0x0a, ix + 1)) >= 0) n++;
  return n;
}
