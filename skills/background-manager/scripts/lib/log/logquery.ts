// get_logs's selection: which lines of a log to show (last N, since a time, new since the last
// --new read, matching a pattern), read with as little I/O as the question allows.
import type { LogRecord, StreamName, LogIssue } from './logfile.ts';
import { LogSetReader, type Cursor, type Gap } from './logset.ts';
import { countNewlines } from './render.ts';
import { LineAssembler, linesOf, lineText, type Line } from './lines.ts';

export interface Query {
  streams: Set<StreamName>;
  lines: number; // 0: no limit
  sinceMs?: number;
  grep?: RegExp;
  raw: boolean; // grep matches the raw text instead of the rendered one
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

export function matches(q: Query, line: Line): boolean {
  if (!q.streams.has(line.stream)) return false;
  if (q.sinceMs !== undefined && line.time < q.sinceMs) return false;
  return !q.grep || q.grep.test(lineText(line, q.raw));
}

export function selectLines(reader: LogSetReader, q: Query): Selection {
  if (q.from !== undefined || q.lines === 0) return selectForward(reader, q);
  // Walk back from the end until enough lines (matching ones, with --grep) are in hand.
  const collected: LogRecord[] = [];
  let newest: Cursor | undefined;
  let newlines = 0;
  let need = q.lines + 1;
  let finishing = false; // enough lines: now find where each stream's first line begins
  const boundary = new Set<StreamName>();
  const seen = new Set<StreamName>();
  const enough = () => {
    if (!q.grep && q.sinceMs === undefined) return true;
    const lines = linesOf([...collected].reverse(), seen).filter((l) => matches(q, l));
    return lines.length >= q.lines;
  };
  // Streams whose first collected record may begin mid-line (events never do).
  const pending = () => [...seen].some((s) => s !== 'event' && !boundary.has(s));
  const reachedStart = reader.backward((rec) => {
    newest ??= reader.lastCursor;
    if (q.sinceMs !== undefined && rec.time < q.sinceMs && !finishing) finishing = true;
    if (finishing) {
      if (!pending()) return false;
      if (!seen.has(rec.stream) || rec.stream === 'event' || boundary.has(rec.stream)) return true;
      if (rec.data[rec.data.length - 1] === 0x0a) boundary.add(rec.stream);
      else collected.push(rec); // still the same line: it began earlier
      return pending();
    }
    if (!q.streams.has(rec.stream)) return true;
    collected.push(rec);
    seen.add(rec.stream);
    // An input send without a newline is a line too (LineAssembler).
    newlines += rec.stream === 'event' ? 1 : countNewlines(rec.data) + (rec.stream === 'input' && rec.data[rec.data.length - 1] !== 0x0a ? 1 : 0);
    if (newlines >= need) {
      if (enough()) {
        finishing = true;
        return pending();
      }
      need = newlines * 2 + q.lines;
    }
    return true;
  });
  collected.reverse();
  // At the start of a log whose oldest records are gone, the first record may begin mid-line too.
  const skip = reachedStart && !reader.startsAfterGap ? [] : [...seen].filter((s) => !boundary.has(s));
  const assembler = new LineAssembler(skip);
  const all: Line[] = [];
  for (const r of collected) assembler.push(r, all);
  assembler.flush(all);
  let lines = all.filter((l) => matches(q, l));
  if (q.lines > 0) lines = lines.slice(-q.lines);
  const cutStart = reachedStart && assembler.skippedBytes > 0;
  return { lines, open: openLines(all), end: newest, reachedStart, cutStart, issues: reader.issues, bytesRead: reader.bytesRead };
}

function selectForward(reader: LogSetReader, q: Query): Selection {
  // Only the last q.lines lines are kept while reading (all of them when q.lines is 0).
  const lines: Line[] = [];
  const res = streamLines(reader, q, (l) => {
    lines.push(l);
    if (q.lines > 0 && lines.length > q.lines * 2) lines.splice(0, lines.length - q.lines);
  });
  return { ...res, lines: q.lines > 0 ? lines.slice(-q.lines) : lines };
}

/**
 * Matching lines from `q.from` (default: the oldest kept record) to the end, handed to `emit`
 * as they are read, nothing kept; `emit` may return false to stop there.
 */
export function streamLines(reader: LogSetReader, q: Query, emit: (line: Line) => boolean | void): Omit<Selection, 'lines'> & { stopped: boolean } {
  const assembler = new LineAssembler();
  const batch: Line[] = [];
  const ends: number[] = []; // where in its record each line of the batch ends
  let stopped = false;
  let stopAt: Cursor | undefined; // just after the line emit stopped at
  let stopLine: Line | undefined;
  let openAtStop: Line[] = [];
  const deliver = (rec?: LogRecord) => {
    for (let i = 0; i < batch.length; i++) {
      if (matches(q, batch[i]!) && emit(batch[i]!) === false) {
        stopped = true;
        stopLine = batch[i];
        if (rec) {
          stopAt = reader.cursorAfter(rec, ends[i]!);
          openAtStop = openLines(assembler.open()); // begun before the stop, on other streams
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
  return { end: stopAt ?? end, open, reachedStart: !q.from, gap, cutStart, issues: reader.issues, bytesRead: reader.bytesRead, stopped };
}

// Output lines still waiting for their newline (input is never left open: each send is whole).
function openLines(lines: Line[]): Line[] {
  return lines.filter((l) => !l.complete && l.stream !== 'input');
}
