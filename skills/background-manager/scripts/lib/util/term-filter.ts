// What a program's output may do to the terminal of a person attached to it (attach_process).
// Cursor moves, colours, modes and the alternate screen pass; what reaches beyond the screen
// does not:
// - OSC, DCS, APC, PM and SOS strings (ESC ] ... ESC P ... ESC _ ... ESC ^ ... ESC X ... up to
//   BEL or ESC \): no clipboard write (OSC 52), no window title, no hyperlink, no DECRQSS
//   query answered into the process's input in the person's name;
// - C1 controls (U+0080 to U+009F, as UTF-8): their 8-bit CSI, OSC, DCS... with them (an 8-bit
//   CSI sequence is dropped whole);
// - CSI ... t (window operations: move, resize, report the title).
// A stream filter: a sequence cut between two chunks is handled as one.
const ESC = 0x1b;
const BEL = 0x07;

type State = 'text' | 'esc' | 'csi' | 'string' | 'string-esc' | 'string-c2' | 'c2';

/** The longest CSI sequence kept; a longer one is dropped (no terminal has one). */
const MAX_CSI = 256;

export class TermFilter {
  private state: State = 'text';
  private csi: number[] = [];
  private dropCsi = false; // the CSI began with an 8-bit introducer: dropped whole

  /** The part of `chunk` that may reach the person's terminal. */
  write(chunk: Uint8Array): Buffer {
    const out: number[] = [];
    for (const b of chunk) this.byte(b, out);
    return Buffer.from(out);
  }

  private byte(b: number, out: number[]): void {
    switch (this.state) {
      case 'text':
        if (b === ESC) this.state = 'esc';
        else if (b === 0xc2) this.state = 'c2';
        else out.push(b);
        return;
      case 'c2':
        this.state = 'text';
        if (b >= 0x80 && b <= 0x9f) return this.c1(b);
        out.push(0xc2);
        return this.byte(b, out);
      case 'esc':
        this.state = 'text';
        if (b === 0x5d || b === 0x50 || b === 0x5f || b === 0x5e || b === 0x58)
          this.state = 'string'; // ] P _ ^ X
        else if (b === 0x5b)
          this.startCsi(false); // [
        else if (b === ESC) this.state = 'esc';
        else out.push(ESC, b);
        return;
      case 'string':
        if (b === BEL) this.state = 'text';
        else if (b === ESC) this.state = 'string-esc';
        else if (b === 0xc2) this.state = 'string-c2';
        return;
      case 'string-c2':
        this.state = b === 0x9c ? 'text' : 'string'; // C2 9C: the 8-bit ST
        return;
      case 'string-esc':
        // ESC \ ends the string; ESC and anything else ends it too and starts a new sequence.
        this.state = 'text';
        if (b !== 0x5c) this.byte(ESC, out), this.byte(b, out);
        return;
      case 'csi':
        if (b === ESC) {
          this.csi = [];
          this.state = 'esc'; // cut short by a new sequence
        } else if (b === 0x18 || b === 0x1a) {
          this.csi = []; // CAN, SUB: cancelled
          this.state = 'text';
        } else if (b < 0x20) {
          out.push(b); // a terminal carries out a control met inside a sequence
        } else {
          this.csi.push(b);
          if (b >= 0x40 && b <= 0x7e) this.endCsi(b, out);
          else if (this.csi.length > MAX_CSI) {
            this.csi = [];
            this.state = 'text';
          }
        }
        return;
    }
  }

  private c1(b: number): void {
    if (b === 0x90 || b === 0x98 || b === 0x9d || b === 0x9e || b === 0x9f) this.state = 'string';
    else if (b === 0x9b) this.startCsi(true);
    // any other C1 control: dropped
  }

  private startCsi(drop: boolean): void {
    this.state = 'csi';
    this.csi = [];
    this.dropCsi = drop;
  }

  private endCsi(final: number, out: number[]): void {
    const seq = this.csi;
    this.csi = [];
    this.state = 'text';
    if (this.dropCsi || final === 0x74) return; // 8-bit introducer; t: window operations
    out.push(ESC, 0x5b, ...seq);
  }
}

/** The whole of `data` filtered (tests, one-off texts). */
export function filterTerminalOutput(data: Uint8Array): Buffer {
  return new TermFilter().write(data);
}
