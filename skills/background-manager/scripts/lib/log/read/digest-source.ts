// The lines a digest (digest.ts) reads, from the log's lines: rendered as get_logs prints them,
// labelled with their stream for --stream all. Kept apart from the digest so that another step
// (a secret redactor) can run on the lines between the two.
import type { Redactor } from '../../util/redact.ts';
import type { DigestLine } from './digest.ts';
import { lineText, moreMark, type Line } from './lines.ts';
import { renderTerminal, decodeUtf8 } from './render.ts';

/** What is held of a line too long to hold (it comes in pieces): its first and its last this many bytes. */
export const DIGEST_LINE_BYTES = 16 * 1024;

/** A line of the log as the digest reads it. */
export function digestLineOf(l: Line, labelStreams: boolean): DigestLine {
  return { text: labelOf(l, labelStreams) + lineText(l, false) + (l.more ? moreMark(l.more) : ''), time: l.time };
}

function labelOf(l: Line, labelStreams: boolean): string {
  return labelStreams && l.stream !== 'stdout' ? `[${l.stream}] ` : '';
}

/**
 * Lines, and the pieces of a line too long to hold (LineAssembler's spill), to DigestLines: of a
 * long line its first and last DIGEST_LINE_BYTES are held, and it is shown as its last redraw
 * when it has "\r" redraws (a progress bar: its last state), else from its start.
 */
export class DigestSource {
  private first: Line | undefined; // the first piece of a line going out in pieces
  private head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer = Buffer.alloc(0);
  private total = 0;
  private readonly out: (l: DigestLine) => void;

  /** `redact`: secrets hidden (util/redact.ts) in each line before the digest reads it; undefined with --reveal. */
  constructor(
    private readonly labelStreams: boolean,
    out: (l: DigestLine) => void,
    redact?: Redactor,
  ) {
    this.out = redact ? (l) => out({ ...l, text: redact.text(l.text, 'digest') }) : out;
  }

  piece(p: Line): void {
    if (!p.continued) {
      this.first = p;
      this.head = [];
      this.headBytes = 0;
      this.tail = Buffer.alloc(0);
      this.total = 0;
    }
    this.hold(p.bytes);
  }

  line(l: Line): void {
    if (!l.continued || !this.first) return this.out(digestLineOf(l, this.labelStreams));
    this.hold(l.bytes);
    const first = this.first;
    this.first = undefined;
    const cr = this.tail.lastIndexOf(0x0d, this.tail.length - 2);
    const shown =
      cr >= 0
        ? renderTerminal(decodeUtf8(this.tail.subarray(cr + 1)))
        : lineText({ ...first, bytes: Buffer.concat(this.head) }, false);
    const more = this.total - (cr >= 0 ? this.tail.length - cr - 1 : this.headBytes);
    const note = cr >= 0 ? ` [its last redraw of ${this.total} bytes]` : moreMark(more);
    this.out({ text: labelOf(first, this.labelStreams) + shown.replace(/\n$/, '') + note, time: first.time });
  }

  private hold(b: Buffer): void {
    this.total += b.length;
    if (this.headBytes < DIGEST_LINE_BYTES) {
      const take = b.subarray(0, DIGEST_LINE_BYTES - this.headBytes);
      this.head.push(Buffer.from(take));
      this.headBytes += take.length;
    }
    const joined = Buffer.concat([this.tail, b.subarray(Math.max(0, b.length - DIGEST_LINE_BYTES))]);
    this.tail = Buffer.from(joined.subarray(Math.max(0, joined.length - DIGEST_LINE_BYTES)));
  }
}
