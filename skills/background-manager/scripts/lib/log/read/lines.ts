// Log records -> lines: output is split at newlines per stream (a line broken across records
// is joined again), events are one line each. Each line keeps the time its first byte arrived.
import { isUtf8 } from 'node:buffer';
import type { LogRecord, StreamName } from '../format/logfile.ts';
import { decodeUtf8, renderTerminal } from './render.ts';
import { localStamp, oneLine } from '../../util/format.ts';
import type { Redactor } from '../../util/redact.ts';

export interface Line {
  stream: StreamName;
  time: number;
  bytes: Buffer; // without the newline
  complete: boolean; // ended by a newline (or an event)
  /** Never to be ended: the rest of it was dropped by the size cap before it was read. */
  cut?: true;
  /** Its earlier bytes went out as pieces (AssemblerLimits.spill): `bytes` is what follows them. */
  continued?: true;
  /** Bytes of it past AssemblerLimits.keepBytes: counted, not kept. */
  more?: number;
  /** Not a line of the log but a row of the alternate screen (screen-watch.ts), 0-based. */
  screen?: { row: number };
  /** Shown as context of a --grep match (-A, -B, -C), not a match itself. */
  context?: true;
}

/**
 * What a pattern (--grep, --wait-for, MCP grep and wait_for) sees of a line: its first this many
 * bytes. So a line of any length costs a match no more memory than this; get_logs still prints
 * a matching line whole (in pieces, as it reads it, past this size).
 */
export const MATCH_BYTES = 1 << 20;

/** `line` held up to `keep` bytes (a copy: not the buffer of the rest), the rest counted in `more`. */
export function trimLine(line: Line, keep: number | undefined): Line {
  if (keep === undefined || line.bytes.length <= keep) return line;
  return {
    ...line,
    bytes: Buffer.from(line.bytes.subarray(0, keep)),
    more: (line.more ?? 0) + line.bytes.length - keep,
  };
}

/** What follows a line held only up to MATCH_BYTES (get_logs --wait-for; text and --raw; JSON says "more": N). */
export function moreMark(more: number): string {
  return ` [long line: ${more} more bytes not shown]`;
}

/** What ends a line whose rest was dropped (text and --raw; JSON says "cut": true). */
export const CUT_MARK = ' [cut: the rest of this line was dropped by the size cap]';

/**
 * What an assembler may hold of one line. `spill`: past `bytes`, a line's bytes so far go to
 * `out` as a piece (a Line with `complete: false`, `continued` on all but the first) and are not
 * held; the line's last piece is the Line it ends with (`continued`). Lines of other streams
 * that end meanwhile wait until it has, so pieces are never interleaved (get_logs's output).
 * `keepBytes`: a line's bytes past this many are counted in `more`, not kept (MCP answers).
 */
export interface AssemblerLimits {
  spill?: { bytes: number; out: (piece: Line) => void };
  keepBytes?: number;
}

interface OpenLine {
  time: number;
  chunks: Buffer[];
  size: number; // bytes in chunks
  spilled: boolean; // pieces of it went out already
  more: number; // bytes past keepBytes, not kept
}

export class LineAssembler {
  private readonly partial = new Map<StreamName, OpenLine>();
  private readonly fresh = new Set<StreamName>();
  private readonly limits: AssemblerLimits;
  private spilling: StreamName | undefined; // the stream whose line is going out in pieces
  private held: { line: Line; end: number }[] = []; // lines of other streams ended meanwhile
  /** Bytes left out as the tail of a line whose start is not in the records read. */
  skippedBytes = 0;

  /** `skipFirstFragment`: streams whose records start mid-line, so their first fragment is cut. */
  constructor(skipFirstFragment: Iterable<StreamName> = [], limits: AssemblerLimits = {}) {
    for (const s of skipFirstFragment) if (s !== 'event') this.fresh.add(s);
    this.limits = limits;
  }

  /**
   * The lines `rec` ends go to `out`; with `ends`, for each of them, how many bytes of
   * `rec.data` it took up to its end (its newline included).
   */
  push(rec: LogRecord, out: Line[], ends?: number[]): void {
    if (rec.stream === 'event') {
      this.deliver({ stream: 'event', time: rec.time, bytes: rec.data, complete: true }, rec.data.length, out, ends);
      return;
    }
    const data = rec.data;
    let start = 0;
    for (;;) {
      const nl = data.indexOf(0x0a, start);
      if (nl < 0) break;
      const p = this.partial.get(rec.stream);
      this.partial.delete(rec.stream);
      if (this.fresh.delete(rec.stream)) {
        this.skippedBytes += nl - start + (p ? p.size + p.more : 0);
        start = nl + 1;
        continue; // the tail of a line that began before the records we have
      }
      const line = p ?? { time: rec.time, chunks: [], size: 0, spilled: false, more: 0 };
      this.add(line, data.subarray(start, nl));
      this.deliver(lineOf(rec.stream, line, true), nl + 1, out, ends);
      start = nl + 1;
    }
    if (start < data.length && rec.stream === 'input') {
      // Input comes in whole sends (text -n, a keypress): an unterminated one is a line of its
      // own at its own time, not the start of whatever is typed later.
      this.deliver(
        { stream: 'input', time: rec.time, bytes: Buffer.from(data.subarray(start)), complete: false },
        data.length,
        out,
        ends,
      );
      return;
    }
    if (start < data.length && this.fresh.has(rec.stream)) {
      this.skippedBytes += data.length - start; // still the line begun before: nothing kept of it
      return;
    }
    if (start < data.length) {
      let p = this.partial.get(rec.stream);
      if (!p) this.partial.set(rec.stream, (p = { time: rec.time, chunks: [], size: 0, spilled: false, more: 0 }));
      this.add(p, data.subarray(start));
      this.spill(rec.stream, p);
    }
  }

  // Bytes of a line: kept up to keepBytes, counted past it.
  private add(p: OpenLine, chunk: Buffer): void {
    const room = this.limits.keepBytes === undefined ? chunk.length : Math.max(0, this.limits.keepBytes - p.size);
    if (chunk.length > room) p.more += chunk.length - room;
    if (room === 0) return;
    p.chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
    p.size += Math.min(room, chunk.length);
  }

  // An open line past the spill size goes out as a piece (one stream at a time).
  private spill(stream: StreamName, p: OpenLine): void {
    const sp = this.limits.spill;
    if (!sp || p.size < sp.bytes || (this.spilling && this.spilling !== stream)) return;
    this.spilling = stream;
    sp.out({
      stream,
      time: p.time,
      bytes: p.chunks.length === 1 ? p.chunks[0]! : Buffer.concat(p.chunks, p.size),
      complete: false,
      ...(p.spilled ? { continued: true as const } : {}),
    });
    p.spilled = true;
    p.chunks = [];
    p.size = 0;
  }

  // A line to `out`, unless another stream's line is going out in pieces: then after it.
  private deliver(line: Line, end: number, out: Line[], ends?: number[]): void {
    if (this.spilling && line.stream !== this.spilling) {
      this.held.push({ line, end });
      return;
    }
    out.push(line);
    ends?.push(end);
    if (this.spilling === line.stream) this.release(out, ends);
  }

  private release(out: Line[], ends?: number[]): void {
    this.spilling = undefined;
    for (const h of this.held) {
      out.push(h.line);
      ends?.push(h.end);
    }
    this.held = [];
  }

  /**
   * Records were dropped before the next one (LogSetReader's gap): lines still open lost their
   * rest (they go to `out` marked cut), and each output stream's first line after the gap lost
   * its start (left out, as with skipFirstFragment).
   */
  gap(out: Line[]): void {
    for (const l of this.open()) out.push({ ...l, cut: true });
    this.partial.clear();
    this.release(out);
    this.fresh.add('stdout');
    this.fresh.add('stderr');
  }

  /** Take up a line left open by an earlier read: what follows it continues that line. */
  reopen(line: Line): void {
    if (line.complete || line.stream === 'event' || line.stream === 'input') return; // input: never open (see push)
    this.partial.set(line.stream, {
      time: line.time,
      chunks: [line.bytes],
      size: line.bytes.length,
      spilled: !!line.continued,
      more: line.more ?? 0,
    });
  }

  /** Lines still open (a prompt, a progress bar), in arrival order; they stay open. */
  open(): Line[] {
    const rest = [...this.partial.entries()].filter(([s]) => !this.fresh.has(s)).sort((a, b) => a[1].time - b[1].time);
    return rest.map(([stream, p]) => lineOf(stream, p, false));
  }

  /** Lines still open at the end, in arrival order; the assembler is empty afterwards. */
  flush(out: Line[]): void {
    out.push(...this.open());
    this.partial.clear();
    this.release(out);
  }
}

function lineOf(stream: StreamName, p: OpenLine, complete: boolean): Line {
  const bytes = p.chunks.length === 1 && !complete ? p.chunks[0]! : Buffer.concat(p.chunks, p.size);
  return {
    stream,
    time: p.time,
    bytes,
    complete,
    ...(p.spilled ? { continued: true as const } : {}),
    ...(p.more ? { more: p.more } : {}),
  };
}

export function linesOf(
  records: LogRecord[],
  skipFirstFragment: Iterable<StreamName> = [],
  withPartial = true,
): Line[] {
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
  /** Secrets hidden (util/redact.ts); undefined with --reveal. */
  redact?: Redactor;
}

// Anything the terminal renderer would change: control bytes (tab aside), DEL, ESC.
export const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

/**
 * The text of a line as a person reads it (or the decoded bytes, with --raw), with the secrets
 * `redact` finds replaced by markers (util/redact.ts; none without it: --reveal).
 */
export function lineText(line: Line, raw: boolean, redact?: Redactor): string {
  const text = renderedText(line, raw);
  if (!redact) return text;
  return raw ? redact.raw(text, line.stream) : redact.text(text, line.stream);
}

function renderedText(line: Line, raw: boolean): string {
  const text = decodeUtf8(line.bytes);
  if (raw) return text;
  // An event is our own line, but it quotes what a user gave (a command, a job's name): shown
  // as list_processes shows them, so that it stays one line and cannot move the terminal.
  if (line.stream === 'event') return oneLine(text);
  if (!CONTROL.test(text)) return text; // plain text: as is
  // Input is what was typed: keypresses show as ^C, ^M, ^[ rather than vanish.
  if (line.stream === 'input')
    return text.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, (c) =>
      c === '\x7f' ? '^?' : `^${String.fromCharCode(c.charCodeAt(0) + 64)}`,
    );
  return renderTerminal(text).replace(/\n$/, '');
}

export function formatLine(line: Line, o: FormatOptions): Buffer {
  if (o.json) {
    // An input send without a newline is whole as sent; only output can be partial.
    const partial = !line.complete && line.stream !== 'input';
    const obj = {
      time: new Date(line.time).toISOString(),
      stream: line.stream,
      text: lineText(line, o.raw, o.redact),
      ...(partial ? { partial: true } : {}),
      ...(line.cut ? { cut: true } : {}),
      ...(line.more ? { more: line.more } : {}),
      ...(line.screen ? { screen: line.screen } : {}),
      ...(line.context ? { context: true } : {}),
    };
    return Buffer.from(`${JSON.stringify(obj)}\n`);
  }
  const prefix =
    (o.timestamps ? `${localStamp(line.time)} ` : '') +
    (o.labelStreams && line.stream !== 'stdout' ? `[${line.stream}] ` : '');
  if (o.raw) {
    // Exact bytes: nothing added but the prefixes asked for; no newline invented. A secret in
    // them is replaced by its marker unless --reveal (then they are as written).
    const bytes = o.redact ? redactBytes(line.bytes, decodeUtf8(line.bytes), o.redact, line.stream) : line.bytes;
    return Buffer.concat([
      Buffer.from(prefix),
      bytes,
      Buffer.from((line.more ? moreMark(line.more) : '') + lineEnd(line)),
    ]);
  }
  return Buffer.from(
    `${prefix + lineText(line, false, o.redact) + (line.more ? moreMark(line.more) : '') + (line.cut ? CUT_MARK : '')}\n`,
  );
}

/**
 * --raw's bytes with the secrets in them replaced by markers: the bytes themselves when none
 * is (`text` is their decoded form). Bytes that are not valid UTF-8 (binary output) are matched
 * as Latin-1, one character a byte, so that every other byte stays as it was: a marker never
 * turns the rest of a binary line into U+FFFD (a secret in them that is not ASCII is not found).
 */
export function redactBytes(bytes: Buffer, text: string, redact: Redactor, key: string): Buffer {
  const shown = redact.raw(text, key);
  if (shown === text) return bytes;
  if (isUtf8(bytes)) return Buffer.from(shown);
  const latin = bytes.toString('latin1');
  const kept = redact.raw(latin, key);
  return kept === latin ? bytes : Buffer.from(kept, 'latin1');
}

/** What --raw writes after a line's bytes: its newline, the cut mark, or nothing (still open). */
export function lineEnd(line: Line): string {
  return line.cut ? `${CUT_MARK}\n` : line.complete ? '\n' : '';
}
