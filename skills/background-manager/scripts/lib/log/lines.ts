// Log records -> lines: output is split at newlines per stream (a line broken across records
// is joined again), events are one line each. Each line keeps the time its first byte arrived.
import type { LogRecord, StreamName } from './logfile.ts';
import { decodeUtf8, renderTerminal } from './render.ts';
import { localStamp } from '../cli/format.ts';

export interface Line {
  stream: StreamName;
  time: number;
  bytes: Buffer; // without the newline
  complete: boolean; // ended by a newline (or an event)
  /** Never to be ended: the rest of it was dropped by the size cap before it was read. */
  cut?: true;
}

/** What ends a line whose rest was dropped (text and --raw; JSON says "cut": true). */
export const CUT_MARK = ' [cut: the rest of this line was dropped by the size cap]';

export class LineAssembler {
  private readonly partial = new Map<StreamName, { time: number; chunks: Buffer[] }>();
  private readonly fresh = new Set<StreamName>();
  /** Bytes left out as the tail of a line whose start is not in the records read. */
  skippedBytes = 0;
  /** Streams a fragment was left out of (skippedBytes may be 0: a record began with its newline). */
  readonly skipped = new Set<StreamName>();

  /** `skipFirstFragment`: streams whose records start mid-line, so their first fragment is cut. */
  constructor(skipFirstFragment: Iterable<StreamName> = []) {
    for (const s of skipFirstFragment) if (s !== 'event') this.fresh.add(s);
  }

  /**
   * The lines `rec` ends go to `out`; with `ends`, for each of them, how many bytes of
   * `rec.data` it took up to its end (its newline included).
   */
  push(rec: LogRecord, out: Line[], ends?: number[]): void {
    if (rec.stream === 'event') {
      out.push({ stream: 'event', time: rec.time, bytes: rec.data, complete: true });
      ends?.push(rec.data.length);
      return;
    }
    const data = rec.data;
    let start = 0;
    for (;;) {
      const nl = data.indexOf(0x0a, start);
      if (nl < 0) break;
      const head = data.subarray(start, nl);
      const p = this.partial.get(rec.stream);
      this.partial.delete(rec.stream);
      if (this.fresh.delete(rec.stream)) {
        this.skippedBytes += nl - start + (p ? p.chunks.reduce((n, c) => n + c.length, 0) : 0);
        this.skipped.add(rec.stream);
        start = nl + 1;
        continue; // the tail of a line that began before the records we have
      }
      out.push({ stream: rec.stream, time: p ? p.time : rec.time, bytes: p ? Buffer.concat([...p.chunks, head]) : Buffer.from(head), complete: true });
      ends?.push(nl + 1);
      start = nl + 1;
    }
    if (start < data.length && rec.stream === 'input') {
      // Input comes in whole sends (text -n, a keypress): an unterminated one is a line of its
      // own at its own time, not the start of whatever is typed later.
      out.push({ stream: 'input', time: rec.time, bytes: Buffer.from(data.subarray(start)), complete: false });
      ends?.push(data.length);
      return;
    }
    if (start < data.length && this.fresh.has(rec.stream)) {
      this.skippedBytes += data.length - start; // still the line begun before: nothing kept of it
      return;
    }
    if (start < data.length) {
      const p = this.partial.get(rec.stream);
      if (p) p.chunks.push(data.subarray(start));
      else this.partial.set(rec.stream, { time: rec.time, chunks: [data.subarray(start)] });
    }
  }

  /**
   * Records were dropped before the next one (LogSetReader's gap): lines still open lost their
   * rest (they go to `out` marked cut), and each output stream's first line after the gap lost
   * its start (left out, as with skipFirstFragment).
   */
  gap(out: Line[]): void {
    for (const l of this.open()) out.push({ ...l, cut: true });
    this.partial.clear();
    this.fresh.add('stdout');
    this.fresh.add('stderr');
  }

  /** Take up a line left open by an earlier read: what follows it continues that line. */
  reopen(line: Line): void {
    if (line.complete || line.stream === 'event' || line.stream === 'input') return; // input: never open (see push)
    this.partial.set(line.stream, { time: line.time, chunks: [line.bytes] });
  }

  /** Lines still open (a prompt, a progress bar), in arrival order; they stay open. */
  open(): Line[] {
    const rest = [...this.partial.entries()].filter(([s]) => !this.fresh.has(s)).sort((a, b) => a[1].time - b[1].time);
    return rest.map(([stream, p]) => ({ stream, time: p.time, bytes: Buffer.concat(p.chunks), complete: false }));
  }

  /** Lines still open at the end, in arrival order; the assembler is empty afterwards. */
  flush(out: Line[]): void {
    out.push(...this.open());
    this.partial.clear();
  }
}

export function linesOf(records: LogRecord[], skipFirstFragment: Iterable<StreamName> = [], withPartial = true): Line[] {
  const a = new LineAssembler(skipFirstFragment);
  const out: Line[] = [];
  for (const r of records) a.push(r, out);
  if (withPartial) a.flush(out);
  return out;
}

export interface FormatOptions {
  raw: boolean;
  json: boolean;
  timestamps: boolean;
  labelStreams: boolean; // prefix lines that are not stdout with [stderr], [input], [event]
}

// Anything the terminal renderer would change: control bytes (tab aside), DEL, ESC.
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

/** The text of a line as a person reads it (or the decoded bytes, with --raw). */
export function lineText(line: Line, raw: boolean): string {
  const text = decodeUtf8(line.bytes);
  if (raw || line.stream === 'event' || !CONTROL.test(text)) return text; // plain text: as is
  // Input is what was typed: keypresses show as ^C, ^M, ^[ rather than vanish.
  if (line.stream === 'input') return text.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, (c) => (c === '\x7f' ? '^?' : `^${String.fromCharCode(c.charCodeAt(0) + 64)}`));
  return renderTerminal(text).replace(/\n$/, '');
}

export function formatLine(line: Line, o: FormatOptions): Buffer {
  if (o.json) {
    // An input send without a newline is whole as sent; only output can be partial.
    const partial = !line.complete && line.stream !== 'input';
    const obj = { time: new Date(line.time).toISOString(), stream: line.stream, text: lineText(line, o.raw), ...(partial ? { partial: true } : {}), ...(line.cut ? { cut: true } : {}) };
    return Buffer.from(JSON.stringify(obj) + '\n');
  }
  const prefix = (o.timestamps ? localStamp(line.time) + ' ' : '') + (o.labelStreams && line.stream !== 'stdout' ? `[${line.stream}] ` : '');
  if (o.raw) {
    // Exact bytes: nothing added but the prefixes asked for; no newline invented.
    return Buffer.concat([Buffer.from(prefix), line.bytes, Buffer.from(lineEnd(line))]);
  }
  return Buffer.from(prefix + lineText(line, false) + (line.cut ? CUT_MARK : '') + '\n');
}

/** What --raw writes after a line's bytes: its newline, the cut mark, or nothing (still open). */
export function lineEnd(line: Line): string {
  return line.cut ? `${CUT_MARK}\n` : line.complete ? '\n' : '';
}
