// get_logs's output of lines, whole or in pieces: a line too long to hold (LineAssembler's
// spill) is written as its pieces are read, and comes out byte for byte as formatLine would
// have written it whole (text rendered as it streams, JSON escaped as it streams).
import { CONTROL, CUT_MARK, formatLine, lineEnd, redactBytes, type FormatOptions, type Line } from './lines.ts';
import { TerminalText } from './render.ts';
import { localStamp } from '../../util/format.ts';

export class LineWriter {
  private decoder: TextDecoder | undefined; // of the line going out in pieces
  private term: TerminalText | undefined;

  constructor(
    private readonly fmt: FormatOptions,
    private readonly write: (b: Buffer) => void,
  ) {}

  /** A piece of a line (complete: false); its first piece starts the line. */
  piece(p: Line): void {
    if (!p.continued) this.begin(p);
    this.bodyOf(p.bytes, false);
  }

  /** A whole line, or the last piece of one (`continued`). */
  line(l: Line): void {
    if (!l.continued) return this.write(formatLine(l, this.fmt));
    this.bodyOf(l.bytes, true);
    this.write(Buffer.from(this.end(l)));
  }

  // In slices, so that the text made of them stays small (young, soon collected) whatever the piece.
  private bodyOf(bytes: Buffer, last: boolean): void {
    const SLICE = 64 * 1024;
    for (let at = 0; at < bytes.length || (last && at === 0); at += SLICE) {
      const end = Math.min(bytes.length, at + SLICE);
      this.write(this.body(bytes.subarray(at, end), last && end === bytes.length));
      if (end === bytes.length) break;
    }
  }

  private begin(p: Line): void {
    this.decoder = new TextDecoder('utf-8', { fatal: false });
    this.term = this.fmt.raw ? undefined : new TerminalText();
    if (this.fmt.json) {
      this.write(
        Buffer.from(
          `{"time":${JSON.stringify(new Date(p.time).toISOString())},"stream":${JSON.stringify(p.stream)},"text":"`,
        ),
      );
      return;
    }
    const prefix =
      (this.fmt.timestamps ? `${localStamp(p.time)} ` : '') +
      (this.fmt.labelStreams && p.stream !== 'stdout' ? `[${p.stream}] ` : '');
    this.write(Buffer.from(prefix));
  }

  // A secret is looked for in each slice as it goes out (util/redact.ts): one cut by a slice's
  // edge in a line this long is not found (a documented limit).
  private body(bytes: Buffer, last: boolean): Buffer {
    const red = this.fmt.redact;
    if (this.fmt.raw && !this.fmt.json && !red) return bytes;
    let text = this.decoder!.decode(bytes, { stream: !last });
    if (this.fmt.raw && !this.fmt.json) return redactBytes(bytes, text, red!, 'piece');
    // Plain text on a fresh row goes out as it is (what the renderer would make of it, faster).
    if (this.term && !(this.term.idle && !CONTROL.test(text)))
      text = this.term.feed(text) + (last ? this.term.end() : '');
    if (red) text = this.fmt.raw ? red.raw(text, 'piece') : red.text(text, 'piece');
    return Buffer.from(this.fmt.json ? JSON.stringify(text).slice(1, -1) : text);
  }

  private end(l: Line): string {
    if (this.fmt.json) return `"${!l.complete ? ',"partial":true' : ''}${l.cut ? ',"cut":true' : ''}}\n`;
    if (this.fmt.raw) return lineEnd(l);
    return `${l.cut ? CUT_MARK : ''}\n`;
  }
}
