// What a program's output may do to the terminal of a person attached to it (attach_process).
// Cursor moves, colours, modes and the alternate screen pass; what reaches beyond the screen
// does not:
// - OSC, DCS, APC, PM and SOS strings (ESC ] ... ESC P ... ESC _ ... ESC ^ ... ESC X ... up to
//   BEL or ESC \) and screen/tmux title strings (ESC k ... ESC \): no clipboard write (OSC 52),
//   no window title, no hyperlink, no DECRQSS query;
// - C1 controls, in any state (text, an ESC or CSI sequence, a string): U+0080 to U+009F as
//   UTF-8 (C2 80..C2 9F) and a bare byte 0x80..0x9F that is not inside a valid UTF-8 character
//   (so 'Ā' = c4 80 and '€' = e2 82 ac pass). A C1 control aborts the sequence it meets, as in a
//   terminal; its own 8-bit CSI, OSC, DCS... go whole;
// - what makes the terminal answer into the process's input in the person's name (QUERIES below,
//   ENQ, ESC Z) and CSI ... t (window operations: move, resize, report the title).
// A control met inside an ESC or CSI sequence is passed at once and the sequence when complete
// (the terminal does the same), so a sequence that is dropped leaves no ESC behind.
// A stream filter: a sequence or a UTF-8 character cut between two chunks is handled as one.
const ESC = 0x1b;
const BEL = 0x07;
const ENQ = 0x05;
const CAN = 0x18;
const SUB = 0x1a;

type State = 'text' | 'esc' | 'csi' | 'string' | 'string-esc';

/** The longest ESC or CSI sequence kept; a longer one is dropped (no terminal has one). */
const MAX_SEQ = 256;

/**
 * CSI sequences a terminal answers (by their private prefix, intermediates and final byte):
 * DA1/2/3 (c), DSR and DEC DSR (n, ?n: status, cursor position...), window reports (t),
 * DECRQM ($p), DECREQTPARM (x), XTVERSION (>q), the kitty keyboard query (?u), DECRQTSR ($u),
 * DECRQUPSS (&u), DECRQCRA (*y), DECRQPSR ($w), DECRQDE ("v), XTSMGRAPHICS (?S),
 * XTQMODKEYS (?m), XTREPORTSGR (#|), DECRQLP ('|).
 */
export function isQuery(prefix: string, inter: string, final: string): boolean {
  switch (final) {
    case 'c':
    case 'n':
    case 't':
      return true;
    case 'p':
    case 'w':
      return inter === '$';
    case 'x':
      return inter === '';
    case 'q':
      return prefix === '>';
    case 'u':
      return prefix === '?' || inter === '$' || inter === '&';
    case 'y':
      return inter === '*';
    case 'v':
      return inter === '"';
    case '|':
      return inter === '#' || inter === "'";
    case 'S':
    case 'm':
      return prefix === '?';
  }
  return false;
}

/** The length of a UTF-8 character from its lead byte; 0: not a lead byte. */
const utf8Length = (b: number) =>
  b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;

/** Whether `b` may follow `lead` as its first continuation byte (no overlong, surrogate, > U+10FFFF). */
function secondOk(lead: number, b: number): boolean {
  if (lead === 0xe0) return b >= 0xa0 && b <= 0xbf;
  if (lead === 0xed) return b >= 0x80 && b <= 0x9f;
  if (lead === 0xf0) return b >= 0x90 && b <= 0xbf;
  if (lead === 0xf4) return b >= 0x80 && b <= 0x8f;
  return b >= 0x80 && b <= 0xbf;
}

export class TermFilter {
  private state: State = 'text';
  private seq: number[] = []; // the ESC or CSI sequence so far (after ESC, after ESC [)
  private dropCsi = false; // the CSI began with an 8-bit introducer: dropped whole
  private utf8: number[] = []; // a UTF-8 character so far

  /** The part of `chunk` that may reach the person's terminal. */
  write(chunk: Uint8Array): Buffer {
    const out: number[] = [];
    for (const b of chunk) this.decode(b, out);
    return Buffer.from(out);
  }

  /** UTF-8 first: the parser sees characters (their code point) and stray bytes (minus the byte). */
  private decode(b: number, out: number[]): void {
    const u = this.utf8;
    if (u.length > 0) {
      const ok = u.length === 1 ? secondOk(u[0]!, b) : b >= 0x80 && b <= 0xbf;
      if (ok) {
        u.push(b);
        if (u.length === utf8Length(u[0]!)) {
          this.utf8 = [];
          let cp = u[0]! & (0x7f >> u.length);
          for (let i = 1; i < u.length; i++) cp = (cp << 6) | (u[i]! & 0x3f);
          this.unit(cp, out, u);
        }
        return;
      }
      this.utf8 = [];
      for (const x of u) this.unit(-x, out); // cut short: stray bytes
    }
    if (b < 0x80) this.unit(b, out);
    else if (utf8Length(b) > 0) this.utf8 = [b];
    else this.unit(-b, out);
  }

  /** One character `cp` (`bytes`: its UTF-8 when beyond ASCII), or a stray byte (`cp`: minus it). */
  private unit(cp: number, out: number[], bytes?: number[]): void {
    const c1 = Math.abs(cp);
    if (c1 >= 0x80 && c1 <= 0x9f) return this.c1(c1); // in every state: aborts the sequence; dropped
    const b = cp; // from here, cp < 0x80 is a byte of the sequence
    switch (this.state) {
      case 'text':
        if (b === ESC) this.startEsc();
        else if (b === ENQ)
          return; // the terminal would answer with its answerback message
        else if (bytes) out.push(...bytes);
        else out.push(Math.abs(cp)); // text, and a stray byte from 0xA0 (no C1 control)
        return;
      case 'esc':
        if (b === ESC) return this.startEsc();
        if (cp >= 0x80 || cp < 0) {
          this.state = 'text'; // not part of an ESC sequence: it ends it; the ESC goes
          return this.unit(cp, out, bytes);
        }
        if (b === CAN || b === SUB) this.state = 'text';
        else if (b < 0x20) this.control(b, out);
        else if (b >= 0x20 && b <= 0x2f) this.collect(b);
        else if (b >= 0x30 && b <= 0x7e) this.endEsc(b, out);
        return; // DEL: ignored
      case 'csi':
        if (b === ESC) return this.startEsc(); // cut short by a new sequence
        if (cp >= 0x80 || cp < 0) {
          this.state = 'text';
          return this.unit(cp, out, bytes);
        }
        if (b === CAN || b === SUB) this.state = 'text';
        else if (b < 0x20) this.control(b, out);
        else {
          this.collect(b);
          if (b >= 0x40 && b <= 0x7e) this.endCsi(out);
        }
        return;
      case 'string':
        if (b === BEL || b === CAN || b === SUB) this.state = 'text';
        else if (b === ESC) this.state = 'string-esc';
        return;
      case 'string-esc':
        // ESC \ ends the string; anything else ends it too, ESC starting a new sequence.
        this.state = 'text';
        if (b !== 0x5c) this.startEsc(), this.unit(cp, out, bytes);
        return;
    }
  }

  /** A control met inside a sequence: the terminal carries it out (ENQ: dropped). */
  private control(b: number, out: number[]): void {
    if (b !== ENQ) out.push(b);
  }

  private c1(b: number): void {
    this.seq = [];
    this.state = 'text';
    if (b === 0x90 || b === 0x98 || b === 0x9d || b === 0x9e || b === 0x9f) this.state = 'string';
    else if (b === 0x9b) this.startCsi(true);
    // any other C1 control (0x9C, ST, too): dropped
  }

  private startEsc(): void {
    this.state = 'esc';
    this.seq = [];
  }

  private startCsi(drop: boolean): void {
    this.state = 'csi';
    this.seq = [];
    this.dropCsi = drop;
  }

  private collect(b: number): void {
    this.seq.push(b);
    if (this.seq.length > MAX_SEQ) {
      this.seq = [];
      this.state = 'text';
    }
  }

  private endEsc(final: number, out: number[]): void {
    const inter = this.seq;
    this.seq = [];
    this.state = 'text';
    if (inter.length === 0) {
      // ] P _ ^ X k: strings; [: CSI; Z: DECID, answered as DA
      if (final === 0x5d || final === 0x50 || final === 0x5f || final === 0x5e || final === 0x58 || final === 0x6b)
        return void (this.state = 'string');
      if (final === 0x5b) return this.startCsi(false);
      if (final === 0x5a) return;
    }
    out.push(ESC, ...inter, final);
  }

  private endCsi(out: number[]): void {
    const seq = this.seq;
    this.seq = [];
    this.state = 'text';
    if (this.dropCsi) return; // 8-bit introducer
    const s = String.fromCharCode(...seq);
    const m = /^([\x30-\x3f]*)([\x20-\x2f]*)([\x40-\x7e])$/.exec(s);
    const prefix = m?.[1]?.match(/^[<=>?]/)?.[0] ?? '';
    if (!m || isQuery(prefix, m[2]!, m[3]!)) return;
    out.push(ESC, 0x5b, ...seq);
  }
}

/** The whole of `data` filtered (tests, one-off texts). */
export function filterTerminalOutput(data: Uint8Array): Buffer {
  return new TermFilter().write(data);
}
