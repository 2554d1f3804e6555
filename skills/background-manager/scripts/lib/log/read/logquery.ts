// get_logs's selection: which lines of a log to show (last N, since a time, new since the last
// --new read, matching a pattern), read with as little I/O as the question allows.
import type { LogRecord, StreamName, LogIssue } from '../format/logfile.ts';
import type { LogSetReader, Cursor, Gap } from '../format/logset.ts';
import { countNewlines } from './render.ts';
import { LineAssembler, lineText, MATCH_BYTES, trimLine, type AssemblerLimits, type Line } from './lines.ts';
import type { Redactor } from '../../util/redact.ts';

// What an assembler holds of a line when a caller bounds it: what a pattern sees at least.
const held = (keep: number | undefined) => (keep === undefined ? undefined : Math.max(keep, MATCH_BYTES));

export interface Query {
  streams: Set<StreamName>;
  lines: number; // 0: no limit
  sinceMs?: number;
  grep?: RegExp;
  raw: boolean; // grep matches the raw text instead of the rendered one
  /** Secrets hidden in what patterns see (util/redact.ts); undefined with --reveal. */
  redact?: Redactor;
  from?: Cursor | null; // read forward from here (null: from the start) instead of the tail
}

export interface Selection {
  lines: Line[];
  open?: Line[]; // lines still open at the end (no newline yet), whatever the filters
  end: Cursor | undefined; // where following (or the next --new) continues
  reachedStart: boolean; // the selection goes back to the oldest kept record
  /** Records it wanted that were no longer kept (LogSetReader.forward's gap). */
  gap?: Gap;
  /** A line's tail was left out at the start: its beginning is not in the log any more. */
  cutStart?: boolean;
  issues: LogIssue[];
  bytesRead: number;
}

/** Whether `line` is one `q` selects; a pattern sees its first MATCH_BYTES bytes only. */
export function matches(q: Query, line: Line): boolean {
  if (!q.streams.has(line.stream)) return false;
  if (q.sinceMs !== undefined && line.time < q.sinceMs) return false;
  return (
    !q.grep ||
    q.grep.test(
      lineText(
        line.bytes.length > MATCH_BYTES ? { ...line, bytes: line.bytes.subarray(0, MATCH_BYTES) } : line,
        q.raw,
        q.redact,
      ),
    )
  );
}

/**
 * A spill (AssemblerLimits.spill) that lets through the pieces of the lines `want` takes, as
 * `want` judges a line by its first piece (its first MATCH_BYTES bytes at least), and the
 * judgement on the line going out in pieces, for its end (`continued`) to follow.
 */
function judgedSpill(
  bytes: number,
  want: (first: Line) => boolean,
  out: (piece: Line) => void,
): { spill: NonNullable<AssemblerLimits['spill']>; wanted: (l: Line, whole: (l: Line) => boolean) => boolean } {
  let last = false;
  return {
    spill: {
      bytes,
      out: (p) => {
        if (!p.continued) last = want(p);
        if (last) out(p);
      },
    },
    wanted: (l, whole) => (l.continued ? last : whole(l)),
  };
}

/**
 * The lines `q` selects. `limits` bound what is held of one line (AssemblerLimits); with
 * `emit`, the lines go to it as they are read, in order, after any pieces of them
 * `limits.spill` took, instead of into `lines`. Nothing is held of the log but what is
 * returned: the walk back counts, a forward read from where it stopped hands the lines on.
 */
export function selectLines(
  reader: LogSetReader,
  q: Query,
  limits: AssemblerLimits = {},
  emit?: (line: Line) => void,
): Selection {
  if (q.from !== undefined || q.lines === 0) return selectForward(reader, q, limits, emit);
  const plain = !q.grep && q.sinceMs === undefined;
  // Walk back from the end until enough lines (matching ones, with --grep or --since) are in hand.
  let first: Cursor | undefined; // where the oldest record wanted starts
  let newest: Cursor | undefined;
  let newlines = 0;
  // A plain tail takes a line per stream more: then the oldest line of the stream it began
  // with is not one of those shown (settled, below), and the walk need not find its start.
  let need = q.lines + 1 + (plain ? q.streams.size : 0);
  let finishing = false; // enough lines: now find where each stream's first line begins
  const boundary = new Set<StreamName>();
  const seen = new Set<StreamName>();
  // Per stream: how many lines end after the oldest newline of it read so far.
  const after = new Map<StreamName, number>();
  // A stream whose oldest line read cannot be among the last q.lines (plain tails only: each
  // stream's first line may be cut, so one more line per stream): it may start mid-line (its
  // first fragment is skipped) and the walk need not go on looking for where that line began.
  // Without this, a REPL whose records all end in a prompt (no newline) was walked back
  // through all its output (issue 25, item 7).
  const settled = (s: StreamName) => plain && (after.get(s) ?? -1) >= q.lines + seen.size;
  const take = (rec: LogRecord) => {
    first = { fileId: reader.lastCursor!.fileId, offset: rec.offset, seq: rec.seq };
  };
  // Enough matching lines from `first` on (read forward again, a line held up to MATCH_BYTES).
  const enough = () => plain || countLines(reader, q, first!, newest!, [...seen]) >= q.lines;
  // Streams whose first record read may begin mid-line (events never do).
  const pending = () => [...seen].some((s) => s !== 'event' && !boundary.has(s) && !settled(s));
  const reachedStart = reader.backward((rec) => {
    newest ??= reader.lastCursor;
    if (q.sinceMs !== undefined && rec.time < q.sinceMs && !finishing) finishing = true;
    if (finishing) {
      if (!pending()) return false;
      if (!seen.has(rec.stream) || rec.stream === 'event' || boundary.has(rec.stream)) return true;
      if (rec.data[rec.data.length - 1] === 0x0a) boundary.add(rec.stream);
      else take(rec); // still the same line: it began earlier
      return pending();
    }
    if (!q.streams.has(rec.stream)) return true;
    take(rec);
    seen.add(rec.stream);
    // An input send without a newline is a line too (LineAssembler).
    const nl = rec.stream === 'event' ? 0 : countNewlines(rec.data);
    const k =
      rec.stream === 'event' ? 1 : nl + (rec.stream === 'input' && rec.data[rec.data.length - 1] !== 0x0a ? 1 : 0);
    if (nl > 0) after.set(rec.stream, newlines + k - 1); // the lines after this record's first newline
    newlines += k;
    if (newlines >= need) {
      if (enough()) {
        finishing = true;
        return pending();
      }
      need = newlines * 2 + q.lines;
    }
    return true;
  });
  // At the start of a log whose oldest records are gone, the first record may begin mid-line too.
  const skip = reachedStart && !reader.startsAfterGap ? [] : [...seen].filter((s) => !boundary.has(s));
  const base = { end: newest, reachedStart, issues: reader.issues, bytesRead: reader.bytesRead };
  const { lines, open, skippedBytes } = readTail(reader, q, first, newest, skip, limits, emit);
  return { ...base, lines, open, cutStart: reachedStart && skippedBytes > 0, bytesRead: reader.bytesRead };
}

// How many lines `q` selects from `first` up to `newest` (a line held up to MATCH_BYTES).
function countLines(reader: LogSetReader, q: Query, first: Cursor, newest: Cursor, skip: StreamName[]): number {
  let n = 0;
  const a = new LineAssembler(skip, { keepBytes: q.grep ? MATCH_BYTES : 0 });
  const out: Line[] = [];
  const count = () => {
    for (const l of out) if (matches(q, l)) n++;
    out.length = 0;
  };
  reader.forward(first, (rec) => {
    if (rec.seq >= newest.seq) return false;
    if (q.streams.has(rec.stream)) a.push(rec, out);
    count();
  });
  a.flush(out);
  count();
  return n;
}

/**
 * The last q.lines lines `q` selects from `first` up to `newest`, read forward twice: once
 * counting them (nothing of them held but MATCH_BYTES of a line, for --grep), once handing the
 * wanted ones on (to `emit`, else returned). A line in pieces (spill) is judged by its first.
 */
function readTail(
  reader: LogSetReader,
  q: Query,
  first: Cursor | undefined,
  newest: Cursor | undefined,
  skip: StreamName[],
  limits: AssemblerLimits,
  emit?: (line: Line) => void,
): { lines: Line[]; open: Line[]; skippedBytes: number } {
  const pass = (lim: AssemblerLimits, each: (l: Line) => void): LineAssembler => {
    const a = new LineAssembler(skip, lim);
    const out: Line[] = [];
    const drain = () => {
      for (const l of out) each(l);
      out.length = 0;
    };
    reader.forward(first, (rec) => {
      if (rec.seq >= newest!.seq) return false; // newer than the walk back: not part of the tail
      if (q.streams.has(rec.stream)) a.push(rec, out);
      drain();
    });
    a.flush(out);
    drain();
    return a;
  };
  if (!first || !newest) return { lines: [], open: [], skippedBytes: 0 };
  const total = countLines(reader, q, first, newest, skip);
  const from = Math.max(0, total - q.lines);
  let ix = 0; // lines selected so far
  const lines: Line[] = [];
  const open: Line[] = [];
  const sp = limits.spill;
  const judged =
    sp && emit
      ? judgedSpill(
          sp.bytes,
          (p) => matches(q, p),
          (p) => ix >= from && sp.out(p),
        )
      : undefined;
  const a = pass({ keepBytes: held(limits.keepBytes), spill: judged?.spill }, (l) => {
    if (!l.complete && l.stream !== 'input') open.push(l);
    if (!(judged ? judged.wanted(l, (w) => matches(q, w)) : matches(q, l))) return;
    if (ix++ < from) return;
    if (emit) emit(l);
    else lines.push(trimLine(l, limits.keepBytes));
  });
  return { lines, open, skippedBytes: a.skippedBytes };
}

function selectForward(
  reader: LogSetReader,
  q: Query,
  limits: AssemblerLimits,
  emit?: (line: Line) => void,
): Selection {
  if (emit && q.lines === 0) return { ...streamLines(reader, q, emit, limits), lines: [] };
  if (emit) {
    // The last q.lines of them, handed on as they are read: counted first (a line held up to
    // MATCH_BYTES), then read again up to the last of them. The first read says where it ended.
    let total = 0;
    const counted = streamLines(reader, q, () => void total++, { keepBytes: q.grep ? MATCH_BYTES : 0 });
    const from = Math.max(0, total - q.lines);
    let ix = 0;
    if (total > 0)
      streamLines(reader, q, (l) => (ix++ >= from && emit(l), ix < total), {
        ...limits,
        shown: () => ix >= from && ix < total,
      });
    return { ...counted, lines: [] };
  }
  // Only the last q.lines lines are kept while reading (all of them when q.lines is 0).
  const lines: Line[] = [];
  const res = streamLines(
    reader,
    q,
    (l) => {
      lines.push(trimLine(l, limits.keepBytes));
      if (q.lines > 0 && lines.length > q.lines * 2) lines.splice(0, lines.length - q.lines);
    },
    limits,
  );
  return { ...res, lines: q.lines > 0 ? lines.slice(-q.lines) : lines };
}

/**
 * Matching lines from `q.from` (default: the oldest kept record) to the end, handed to `emit`
 * as they are read, nothing kept; `emit` may return false to stop there. With
 * `limits.keepBytes`, a line comes held up to that or MATCH_BYTES, whichever is more.
 */
export function streamLines(
  reader: LogSetReader,
  q: Query,
  emit: (line: Line) => boolean | void,
  limits: AssemblerLimits & { shown?: () => boolean; onRecord?: (rec: LogRecord) => void } = {},
): Omit<Selection, 'lines'> & { stopped: boolean } {
  // Pieces of a long line go out as it is read, if its first piece matches (`shown`: and if
  // the caller shows the line that is).
  const sp = limits.spill;
  const judged = sp
    ? judgedSpill(
        sp.bytes,
        (p) => matches(q, p),
        (p) => (limits.shown?.() ?? true) && sp.out(p),
      )
    : undefined;
  const selected = (l: Line) => (judged ? judged.wanted(l, (w) => matches(q, w)) : matches(q, l));
  const assembler = new LineAssembler([], { keepBytes: held(limits.keepBytes), spill: judged?.spill });
  const batch: Line[] = [];
  const ends: number[] = []; // where in its record each line of the batch ends
  let stopped = false;
  let stopAt: Cursor | undefined; // just after the line emit stopped at
  let stopLine: Line | undefined;
  let openAtStop: Line[] = [];
  const deliver = (rec?: LogRecord) => {
    for (let i = 0; i < batch.length; i++) {
      if (selected(batch[i]!) && emit(batch[i]!) === false) {
        stopped = true;
        stopLine = batch[i];
        if (rec) {
          stopAt = reader.cursorAfter(rec, ends[i]!);
          openAtStop = openedBefore(assembler.open(), batch[i]!);
        }
        break;
      }
    }
    batch.length = 0;
    ends.length = 0;
    return !stopped;
  };
  let gap: Gap | undefined;
  const end = reader.forward(
    q.from ?? undefined,
    (rec) => {
      limits.onRecord?.(rec);
      if (!q.streams.has(rec.stream)) return true;
      assembler.push(rec, batch, ends);
      return deliver(rec);
    },
    (g) => {
      gap = g;
      assembler.gap(batch); // nothing is open yet: a read begins here
    },
  );
  let open = stopped ? openAtStop : openLines(assembler.open());
  if (!stopped) {
    assembler.flush(batch);
    deliver();
    // Stopped at a line left open (a prompt): the others still open, without it.
    if (stopped) open = open.filter((l) => !(l.stream === stopLine!.stream && l.time === stopLine!.time));
  }
  // Stopped at a line: the end is just after it, so what followed it in its record is unread;
  // `open` is then what was still open there, so that a caller can show it before the stop.
  const cutStart = assembler.skippedBytes > 0;
  return {
    end: stopAt ?? end,
    open,
    reachedStart: !q.from,
    gap,
    cutStart,
    issues: reader.issues,
    bytesRead: reader.bytesRead,
    stopped,
  };
}

/**
 * Of the lines open once the record holding `stop` was read, those begun before `stop`: the
 * ones on other streams. One on its own stream began after it ended, later in that record
 * (the REPL's `row 2\r\n>>> `): it lies past the stop, for the next read.
 */
export function openedBefore(open: Line[], stop: Line): Line[] {
  return openLines(open).filter((l) => l.stream !== stop.stream);
}

// Output lines still waiting for their newline (input is never left open: each send is whole).
function openLines(lines: Line[]): Line[] {
  return lines.filter((l) => !l.complete && l.stream !== 'input');
}
