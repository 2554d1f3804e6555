// get_logs's ways of reading, one function per mode of its plan (read-plan.ts): a read of the log
// as it stands (tail, forward from the --new cursor, since a time), following it, and waiting
// for a line. --screen is screen-show.ts's. Each returns the exit code.
import fs from 'node:fs';
import { EXIT } from '../../errors.ts';
import { LogSetReader, type Gap } from '../format/logset.ts';
import { selectLines, streamLines, matches, type Query, type Selection } from './logquery.ts';
import type { SyncOut } from './syncout.ts';
import { formatLine, lineEnd, MATCH_BYTES, type FormatOptions, type Line } from './lines.ts';
import { follow, PROMPT_QUIET_MS } from './follow.ts';
import { lineMissed, waitForLine } from './wait-for.ts';
import { screenLines } from './screen-watch.ts';
import { newCursorOf, saveNewCursor, type ProcessRecord } from '../../store/state.ts';
import type { LogIssue } from '../format/logfile.ts';
import type { Context } from '../../store/context.ts';
import { queryAt, type ReadPlan } from './read-plan.ts';
import { findRecord } from '../../store/state.ts';
import type { GrepContext } from './context.ts';

/** One get_logs read: the process, its log, the plan and where lines go. */
export interface ReadRun {
  ctx: Context;
  rec: ProcessRecord;
  activeFile: string;
  plan: ReadPlan;
  out: SyncOut;
  write: (line: Line) => void;
  /** A piece of a line too long to hold (LineAssembler's spill); the line's end goes to write. */
  piece?: (piece: Line) => void;
  timeoutSec?: number;
  /** --grep with context (-A, -B, -C): `write` feeds it; end() once the first read is over. */
  context?: GrepContext;
  waitForText?: string; // --wait-for as typed, for messages
  said: Set<string>; // issue messages printed already
  runningAtStart: boolean; // the process could still write to its log when the read began
  running: () => boolean; // the same, asked afresh (following ends when it turns false)
}

/** The record as it stands now (the process may have ended since it was read). */
export function currentRecord(ctx: Context, rec: ProcessRecord): ProcessRecord {
  try {
    return findRecord(ctx.store.read(), rec.id) ?? rec;
  } catch {
    return rec;
  }
}

/** tail, forward, since: the lines the query selects, as the log stands. */
export async function readOnce(run: ReadRun): Promise<number> {
  const { sel, damaged, running } = firstRead(run);
  for (const l of sel.lines) run.write(l);
  run.context?.end();
  await saveCursor(run, sel.end);
  if (!fs.existsSync(run.activeFile) && !running && sel.lines.length === 0)
    process.stderr.write(`get_logs: process ${run.rec.id} has no log file.\n`);
  return damaged ? EXIT.DAMAGED : EXIT.OK;
}

/** follow: the selected lines, then new ones as they come, until the process ends (or --timeout). */
export async function followLog(run: ReadRun): Promise<number> {
  const first = firstRead(run);
  const { reader, sel, query } = first;
  let damaged = first.damaged;
  for (const l of sel.lines) run.write(l);
  const context = run.context;
  context?.end();
  // Lines left open by the read above that it printed (the filters hid the others; with
  // context none: a line goes through the window once, when it ends).
  const shownOpen = context ? [] : (sel.open ?? []).filter((l) => matches(query, l));
  const writer = followWriter(run.plan.format, shownOpen, (b) => run.out.write(b));
  const show = context ? (l: Line) => context.push(l) : writer;
  const wanted = (l: Line) => matches({ ...query, sinceMs: undefined }, l);
  const onLine = (l: Line) => {
    if (wanted(l)) show(l);
    return true;
  };
  run.out.flush();
  run.out.immediate = true;
  const res = await follow({
    activeFile: run.activeFile,
    reader,
    from: sel.end,
    open: sel.open,
    shown: shownOpen,
    running: () => run.running(),
    timeoutMs: timeoutMs(run),
    onLine,
    onPartial: context ? undefined : onLine,
    partialQuietMs: PROMPT_QUIET_MS,
    onGap: (gap) => noteGap(run.ctx, run.rec, gap),
  });
  damaged = reportIssues(reader.issues, run.running(), run.said) || damaged;
  await saveCursor(run, res.cursor);
  return damaged ? EXIT.DAMAGED : 0;
}

/** wait-for: until a line matches (get_logs --wait-for); with --new, every new line up to it. */
export async function waitForMatch(run: ReadRun): Promise<number> {
  const { ctx, rec, plan } = run;
  const reader = readerOf(ctx, rec, run.activeFile);
  const query = queryAt(plan, newCursorOf(rec, plan.view));
  let printedNew = 0;
  const printNew = (l: Line) => {
    printedNew++;
    run.write(l);
  };
  let damaged = false;
  const res = await waitForLine({
    reader,
    activeFile: run.activeFile,
    query,
    pattern: plan.waitFor!,
    running: () => run.running(),
    timeoutMs: timeoutMs(run),
    openLinesAtOnce: true,
    screen: rec.pty,
    onPassed: plan.upTo ? printNew : undefined,
    afterRead: (sel) => {
      damaged = reportIssues(sel.issues, run.runningAtStart, run.said);
      noteDropped(ctx, rec, sel, plan.saveCursor ? newCursorOf(rec, plan.view) : undefined);
    },
    beforeFollow: () => {
      run.out.flush();
      run.out.immediate = true;
    },
    onGap: (gap) => noteGap(ctx, rec, gap),
  });
  if (res.followed) damaged = reportIssues(reader.issues, run.running(), run.said) || damaged;
  // Lines begun before the match (or still open where waiting stopped) are shown now.
  if (plan.upTo) for (const l of res.open) if (matches({ ...query, sinceMs: undefined }, l)) printNew(l);
  await saveCursor(run, res.cursor);
  if (res.hit) {
    run.write(res.hit);
    return damaged ? EXIT.DAMAGED : 0;
  }
  const why = lineMissed(res.end, run.waitForText, run.timeoutSec, !!res.screen);
  const code = res.end === 'timeout' ? EXIT.FAILED : EXIT.NOT_RUNNING;
  if (plan.upTo) {
    process.stderr.write(`get_logs: ${why}; ${printedNew ? 'what was new is printed above' : 'nothing new came'}.\n`);
    return code;
  }
  if (res.screen) {
    // A full-screen program: its lines are a jumble of cursor moves, its screen reads plainly.
    process.stderr.write(`get_logs: ${why}; its screen:\n`);
    for (const l of screenLines(res.screen)) run.write(l);
    return code;
  }
  process.stderr.write(`get_logs: ${why}; its last lines:\n`);
  const tail = selectLines(readerOf(ctx, rec, run.activeFile), {
    streams: query.streams,
    raw: query.raw,
    lines: plan.missLines,
  });
  for (const l of tail.lines) run.write(l);
  return code;
}

// The read of the log as it stands that tail, forward, since and follow begin with.
function firstRead(run: ReadRun): {
  reader: LogSetReader;
  query: Query;
  sel: Selection;
  damaged: boolean;
  running: boolean;
} {
  const { ctx, rec, plan } = run;
  const reader = readerOf(ctx, rec, run.activeFile);
  const query = queryAt(plan, newCursorOf(rec, plan.view));
  const running = run.runningAtStart;
  const sel = select(reader, query, run);
  const damaged = reportIssues(sel.issues, running, run.said);
  noteDropped(ctx, rec, sel, plan.saveCursor ? newCursorOf(rec, plan.view) : undefined);
  return { reader, query, sel, damaged, running };
}

// The output is streamed as it is read: a big log never sits in memory, nor a long line (its
// pieces are written as they come). Following then holds a line until it ends.
function select(reader: LogSetReader, query: Query, run: ReadRun): Selection {
  const limits = run.piece ? { spill: { bytes: SPILL_BYTES, out: run.piece } } : {};
  switch (run.plan.delivery) {
    case 'copy':
      return copyRaw(reader, query, run.out);
    case 'stream':
      return { ...streamLines(reader, query, run.write, limits), lines: [] };
    case 'select':
      return selectLines(reader, query, limits, limits.spill && run.write);
  }
}

/** A line longer than this is written in pieces as it is read, not held whole (a pattern sees its first piece). */
const SPILL_BYTES = MATCH_BYTES;

// Every byte, as written: no lines to find, so records are copied straight out (fast).
function copyRaw(reader: LogSetReader, q: Query, out: SyncOut): Selection {
  let gap: Gap | undefined;
  const end = reader.forward(
    q.from ?? undefined,
    (rec) => {
      if (q.streams.has(rec.stream) && (q.sinceMs === undefined || rec.time >= q.sinceMs)) out.write(rec.data);
    },
    (g) => (gap = g),
  );
  return { lines: [], end, reachedStart: !q.from, gap, issues: reader.issues, bytesRead: reader.bytesRead };
}

/**
 * How --follow prints: whole lines as they end, and a line still open (a prompt) as it stands
 * once it goes quiet. As text or JSON, such a line is printed as a line of its own (JSON:
 * "partial": true) and printed whole again when it ends, so every printed line renders alone.
 * With --raw only the bytes not printed yet are written, so the output is the exact stream.
 */
function followWriter(fmt: FormatOptions, shownOpen: Line[], write: (b: Buffer) => void): (l: Line) => void {
  const exact = fmt.raw && !fmt.json; // --raw --json is still one JSON object per line
  const printed = new Map<string, number>(); // exact: bytes of an open line already written, by stream:time
  if (exact) for (const l of shownOpen) printed.set(`${l.stream}:${l.time}`, l.bytes.length);
  const rest = (l: Line) => {
    const key = `${l.stream}:${l.time}`;
    const done = printed.get(key);
    if (l.complete || l.cut) printed.delete(key);
    else printed.set(key, l.bytes.length);
    if (done === undefined) return formatLine(l, fmt);
    return Buffer.concat([l.bytes.subarray(done), Buffer.from(lineEnd(l))]);
  };
  return (l) => write(exact ? rest(l) : formatLine(l, fmt));
}

function timeoutMs(run: ReadRun): number | undefined {
  return run.timeoutSec === undefined ? undefined : run.timeoutSec * 1000;
}

/** Print the issues not printed yet (`said`); true if any is damage (exit 6). */
function reportIssues(issues: LogIssue[], running: boolean, said: Set<string>): boolean {
  let damaged = false;
  for (const issue of issues) {
    if (issue.kind === 'torn-tail' && running) continue; // a record being written right now
    if (issue.kind !== 'torn-tail') damaged = true;
    if (said.has(issue.message)) continue;
    said.add(issue.message);
    process.stderr.write(`get_logs: warning: ${issue.message}\n`);
  }
  return damaged;
}

/** The log's reader, with what the state commits about it (its end, its chaining). */
export function readerOf(ctx: Context, rec: ProcessRecord, activeFile: string): LogSetReader {
  return new LogSetReader(activeFile, ctx.unlocked!.keys, rec.id, {
    endSeq: rec.logEnd,
    chained: rec.logVersion === 2,
  });
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** How much of what the cap dropped `records` of it are: exact when it is all of it. */
function droppedSize(records: number, dropped: ProcessRecord['logDropped']): string {
  if (!dropped?.records) return 'output';
  return `${records >= dropped.records ? '' : 'about '}${mib((dropped.bytes * Math.min(records, dropped.records)) / dropped.records)} of output`;
}

/**
 * What the size cap dropped that this read wanted (REFERENCE.md lists these notes): the oldest
 * output, when the read reaches back to it; output no earlier --new read showed, when a --new
 * cursor (`newFrom`) is older than the oldest record kept; and a line cut at the start.
 * get_logs prints each as a note on stderr, MCP get_logs puts them in its answer.
 */
export function droppedNotes(
  ctx: Context,
  rec: ProcessRecord,
  sel: Omit<Selection, 'lines'>,
  newFrom: unknown,
  verb = '--new read showed',
): string[] {
  const dropped = currentRecord(ctx, rec).logDropped;
  const cap = mib(rec.maxLogSize ?? 0);
  const notes: string[] = [];
  if (sel.gap && newFrom) {
    const n = sel.gap.to - sel.gap.from + 1;
    notes.push(
      `${droppedSize(n, dropped)} (${n} records) that no earlier ${verb} was dropped to keep the log under its ${cap} cap; it is not shown.`,
    );
  } else if (sel.reachedStart && dropped && dropped.bytes > 0) {
    notes.push(
      `${mib(dropped.bytes)} of the oldest output (${dropped.records} records) was dropped to keep the log under its ${cap} cap.`,
    );
  }
  if (sel.cutStart) notes.push('the first line kept may have lost its start to the cap; it is not shown.');
  return notes;
}

function noteDropped(ctx: Context, rec: ProcessRecord, sel: Omit<Selection, 'lines'>, newFrom: unknown): void {
  for (const n of droppedNotes(ctx, rec, sel, newFrom)) process.stderr.write(`get_logs: note: ${n}\n`);
}

/** Following fell behind the size cap (the cap dropped records before they were read). */
function noteGap(ctx: Context, rec: ProcessRecord, gap: Gap): void {
  const n = gap.to - gap.from + 1;
  const size = droppedSize(n, currentRecord(ctx, rec).logDropped);
  process.stderr.write(
    `get_logs: note: following fell behind the size cap: ${size} (${n} records) was dropped before it was read; output goes on at the first whole line kept.\n`,
  );
}

// --new: the next --new read of this view goes on from `end`.
async function saveCursor(run: ReadRun, end: Selection['end']): Promise<void> {
  if (!run.plan.saveCursor || !end || !run.ctx.unlocked) return;
  await saveNewCursor(run.ctx.store, run.rec.id, run.plan.view, end);
}
