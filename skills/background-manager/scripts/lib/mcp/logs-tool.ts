// The MCP get_logs tool: the last lines, what is new since the last `new` read (the same
// position get_logs.ts --new keeps), a wait for a line or a screen, all read with the log
// library the script uses (logquery, follow, showScreen). Unlike the script, every answer is
// bounded: at most `lines` lines (default DEFAULT_LINES) and MAX_TEXT_BYTES of text, with a
// note saying how to read on.
import { z } from 'zod';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { durationSec } from '../cli/cli.ts';
import { linearRegex } from '../util/linear-regex.ts';
import { BgError, EXIT } from '../errors.ts';
import { parseSince } from '../commands/get_logs.ts';
import { isLogging } from '../process/status.ts';
import { STREAM_CHOICES, viewOf } from '../log/read/read-plan.ts';
import { currentRecord, droppedNotes, readerOf } from '../log/read/read-modes.ts';
import { newCursorOf, saveNewCursor } from '../store/state.ts';
import { logFileOf } from '../log/format/logset.ts';
import { matches, selectLines, streamLines, type Query } from '../log/read/logquery.ts';
import { follow, PROMPT_QUIET_MS } from '../log/read/follow.ts';
import { lineText, MATCH_BYTES, type Line } from '../log/read/lines.ts';
import type { LogIssue } from '../log/format/logfile.ts';
import { showScreen } from '../log/read/screen-show.ts';
import { resolveProcess } from '../process/resolve.ts';
import type { Context } from '../store/context.ts';
import type { ProcessRecord } from '../store/state.ts';
import {
  KEEP_LINE_BYTES,
  DEFAULT_LINES,
  MAX_LINES,
  MAX_TEXT_BYTES,
  fitBytes,
  guarded,
  linesText,
  notMet,
  ok,
  shownLine,
  type ShownLine,
  MAX_WAIT_SEC,
} from './result.ts';
import type { Session } from './session.ts';
import { oneLine } from '../util/format.ts';

/** What an answer holds of one line while reading it: a bounded head (result.ts). */
const KEEP = { keepBytes: KEEP_LINE_BYTES };

const shape = {
  id: z.string().describe('Process ID, unique ID prefix, or name'),
  lines: z
    .number()
    .int()
    .min(1)
    .max(MAX_LINES)
    .optional()
    .describe(`How many lines at most (default ${DEFAULT_LINES}); the newest, or with new the oldest unread`),
  new: z
    .boolean()
    .default(false)
    .describe(
      'Only output not returned by an earlier new read of this process (one position per stream/grep view, shared with get_logs.ts --new)',
    ),
  since: z.string().optional().describe('Only output since 30s, 5m, 2h, 1d ago, or an ISO time'),
  grep: z.string().optional().describe('Only lines matching this regular expression'),
  stream: z
    .enum(Object.keys(STREAM_CHOICES) as [string, ...string[]])
    .default('output')
    .describe('Which records: output (stdout+stderr, default), stdout, stderr, input, events, all'),
  screen: z
    .boolean()
    .default(false)
    .describe(
      'PTY processes: the terminal screen as it stands (200x50, trailing spaces trimmed) instead of lines; with wait_for, wait until the screen matches',
    ),
  wait_for: z
    .string()
    .optional()
    .describe(
      'Wait until a line (a prompt without a newline too) matches this regular expression, and return it (with new: the new lines up to it)',
    ),
  timeout: z
    .number()
    .max(MAX_WAIT_SEC)
    .optional()
    .describe('With wait_for: give up after this many seconds (default 30; most hosts give up on a call after 60 s)'),
};
type Args = {
  id: string;
  lines?: number;
  new: boolean;
  since?: string;
  grep?: string;
  stream: string;
  screen: boolean;
  wait_for?: string;
  timeout?: number;
};

interface Read {
  ctx: Context;
  rec: ProcessRecord;
  a: Args;
  q: Query;
  view: string | undefined;
  cap: number;
  signal: AbortSignal;
}

/** Warnings for damage the read met (a record being written right now is not damage). */
function warnings(issues: LogIssue[], running: boolean): string[] {
  return [...new Set(issues.filter((i) => i.kind !== 'torn-tail' || !running).map((i) => i.message))];
}

function answer(
  r: Read,
  lines: ShownLine[],
  note: string | undefined,
  extra: Record<string, unknown>,
  issues: LogIssue[],
): CallToolResult {
  const warn = warnings(issues, isLogging(currentRecord(r.ctx, r.rec)));
  const body = lines.length ? linesText(lines, r.a.stream === 'all') : r.a.new ? '(nothing new)' : '(no output)';
  const text = [body, ...(note ? [`(${note})`] : []), ...warn.map((w) => `warning: ${w}`)].join('\n');
  return ok(text, { id: r.rec.id, lines, ...(note ? { note } : {}), warnings: warn, ...extra });
}

/** The last lines (new: false), or the oldest unread ones (new: true), bounded. */
async function readLines(r: Read): Promise<CallToolResult> {
  const reader = readerOf(r.ctx, r.rec, logFileOf(r.ctx.dataDir, r.rec));
  if (r.a.new) {
    const got: ShownLine[] = [];
    let bytes = 0;
    // Stops after the line that reaches a cap: the position saved is just after it.
    const from = newCursorOf(r.rec, r.view);
    const sel = streamLines(
      reader,
      { ...r.q, lines: 0, from: from ?? null },
      (l) => {
        got.push(shownLine(l));
        bytes += Buffer.byteLength(got[got.length - 1]!.text) + 1;
        return got.length < r.cap && bytes < MAX_TEXT_BYTES;
      },
      KEEP,
    );
    if (sel.end) await saveNewCursor(r.ctx.store, r.rec.id, r.view, sel.end);
    // What the size cap dropped before this read reached it is said first.
    const notes = [
      ...droppedNotes(r.ctx, r.rec, sel, from, 'new read returned'),
      ...(sel.stopped ? ['there may be more new output: call get_logs with new: true again'] : []),
    ];
    return answer(r, got, notes.join('; ') || undefined, { more: sel.stopped }, sel.issues);
  }
  const sel = selectLines(reader, { ...r.q, lines: r.cap + 1 }, KEEP);
  const fit = fitBytes(sel.lines.slice(-r.cap).map(shownLine), 'last');
  const earlier = sel.lines.length > r.cap || fit.omitted > 0;
  const note = earlier
    ? `only the last ${fit.lines.length} lines are shown; ask for up to ${MAX_LINES} lines, or narrow with since or grep`
    : undefined;
  return answer(r, fit.lines, note, { more: earlier }, sel.issues);
}

/** Wait for a matching line, as get_logs.ts --wait-for does (from the start, or from the new position). */
async function waitLine(r: Read, pattern: RegExp, timeoutSec: number): Promise<CallToolResult> {
  const activeFile = logFileOf(r.ctx.dataDir, r.rec);
  const reader = readerOf(r.ctx, r.rec, activeFile);
  const before: ShownLine[] = []; // with new: the new lines up to the match
  let dropped = 0;
  const keep = (l: Line): true => {
    if (!r.a.new) return true;
    before.push(shownLine(l));
    if (before.length > r.cap) before.shift(), dropped++;
    return true;
  };
  let hit: Line | undefined;
  const hits = (l: Line) => matches({ ...r.q, sinceMs: undefined }, l) && pattern.test(lineText(l, false));
  const sel = streamLines(
    reader,
    { ...r.q, lines: 0, from: r.a.new ? (newCursorOf(r.rec, r.view) ?? null) : null },
    (l) => {
      // An open line is kept once it ends (an input send is whole as sent).
      if (!pattern.test(lineText(l, false))) return l.complete || l.stream === 'input' ? keep(l) : true;
      hit = l;
      return false;
    },
    KEEP,
  );
  let end = sel.end;
  let how: 'timeout' | 'ended' | 'stopped' = 'stopped';
  if (!hit) {
    const res = await follow({
      activeFile,
      reader,
      from: sel.end,
      open: sel.open,
      // A cancelled call, or a client gone, ends the wait at the next status check.
      running: () => !r.signal.aborted && isLogging(currentRecord(r.ctx, r.rec)),
      timeoutMs: timeoutSec * 1000,
      onLine: (l) => (hits(l) ? !(hit = l) : !matches({ ...r.q, sinceMs: undefined }, l) || keep(l)),
      onPartial: (l) => !(hits(l) && (hit = l)),
      partialQuietMs: PROMPT_QUIET_MS,
      keepBytes: MATCH_BYTES, // what the pattern sees; shownLine keeps less
    });
    end = res.cursor;
    how = res.end;
  }
  if (r.a.new && end) await saveNewCursor(r.ctx.store, r.rec.id, r.view, end);
  const shown = fitBytes(before, 'last');
  const skipped = dropped + shown.omitted;
  const note = skipped ? `${skipped} earlier new lines not shown; read them with get_logs since` : undefined;
  if (hit) return answer(r, [...shown.lines, shownLine(hit)], note, { matched: shownLine(hit) }, reader.issues);
  if (r.signal.aborted) throw new BgError('TIMEOUT', 'the call was cancelled before a line matched.');
  const why =
    how === 'timeout'
      ? `no line matched /${r.a.wait_for}/ within ${timeoutSec} s`
      : `the process ended before a line matched /${r.a.wait_for}/`;
  const tail = r.a.new
    ? shown.lines
    : fitBytes(
        selectLines(readerOf(r.ctx, r.rec, activeFile), { ...r.q, lines: 20 }, KEEP).lines.map(shownLine),
        'last',
      ).lines;
  const said = r.a.new ? (tail.length ? 'what was new:' : 'nothing new came.') : 'its last lines:';
  return notMet(
    'get_logs',
    `${why}; ${said}\n${linesText(tail, r.a.stream === 'all')}`.trimEnd(),
    how === 'timeout' ? EXIT.FAILED : EXIT.NOT_RUNNING,
    { id: r.rec.id, lines: tail, matched: null },
  );
}

/** The terminal screen, or a wait until it matches (get_logs.ts --screen). */
async function screen(r: Read, pattern: RegExp | undefined, timeoutSec: number | undefined): Promise<CallToolResult> {
  let text = '';
  const code = await showScreen({
    activeFile: logFileOf(r.ctx.dataDir, r.rec),
    keys: r.ctx.unlocked!.keys,
    rec: r.rec,
    cursor: false,
    json: true,
    waitFor: pattern,
    waitForText: r.a.wait_for,
    timeoutSec,
    running: () => !r.signal.aborted && isLogging(currentRecord(r.ctx, r.rec)),
    write: (t) => (text += t),
  });
  if (r.signal.aborted) throw new BgError('TIMEOUT', 'the call was cancelled before the screen matched.');
  const s = JSON.parse(text) as { rows: string[]; cursor: unknown; size: unknown };
  while (s.rows.length && s.rows[s.rows.length - 1] === '') s.rows.pop(); // blank rows below cost context, say nothing
  const rows = s.rows.join('\n');
  if (code === EXIT.FAILED || code === EXIT.NOT_RUNNING) {
    const why =
      code === EXIT.NOT_RUNNING
        ? `the process ended before its screen matched /${r.a.wait_for}/`
        : `the screen did not match /${r.a.wait_for}/ within ${timeoutSec} s`;
    return notMet('get_logs', `${why}; the screen as it stands:\n${rows}`, code, { id: r.rec.id, screen: s });
  }
  return ok(rows || '(blank screen)', {
    id: r.rec.id,
    screen: s,
    ...(code === EXIT.DAMAGED ? { warnings: ['the log is damaged in places; the screen may miss output'] } : {}),
  });
}

/** Flag combinations the script refuses, refused with its words. */
function checkArgs(a: Args): void {
  if (a.timeout !== undefined && a.wait_for === undefined)
    throw new BgError('USAGE', 'timeout applies only to wait_for; without it get_logs returns at once.');
  if (a.lines !== undefined && a.wait_for !== undefined)
    throw new BgError(
      'USAGE',
      'lines does not apply to wait_for, which returns the matching line (with new, the new lines up to it). Leave out lines.',
    );
  if (!a.screen) return;
  const clash =
    a.lines !== undefined
      ? 'lines'
      : a.new
        ? 'new'
        : a.since !== undefined
          ? 'since'
          : a.grep !== undefined
            ? 'grep'
            : a.stream !== 'output'
              ? 'stream'
              : undefined;
  if (clash)
    throw new BgError(
      'USAGE',
      `screen returns the whole screen as it stands; ${clash} applies to lines. Leave out one of them.`,
    );
}

export function registerLogsTool(server: McpServer, session: Session): void {
  server.registerTool(
    'get_logs',
    {
      title: 'Read what a process printed',
      description:
        `Read a process's output, while it runs or after it ended: the last lines (default ${DEFAULT_LINES}), only what is new since your last new read (new: true; the way to poll), ` +
        'lines since a time or matching grep, the terminal screen of a full-screen program (screen), or wait until a line or the screen matches (wait_for, timeout). ' +
        `Terminal escapes are rendered away. Returns {lines: [{time, stream, text, partial?}], more, note?} and the text; at most ${MAX_LINES} lines and 24 KiB per call, with a note on how to read the rest.`,
      inputSchema: shape,
    },
    guarded('get_logs', session.closed, async (a: Args, signal) => {
      checkArgs(a);
      const sinceMs = a.since === undefined ? undefined : parseSince(a.since);
      if (a.since !== undefined && sinceMs === undefined)
        throw new BgError(
          'USAGE',
          `since "${oneLine(a.since)}" is not a time: use 30s, 5m, 2h, 1d or an ISO time like 2026-01-31T12:00:00Z.`,
        );
      const timeoutSec = a.wait_for === undefined ? undefined : durationSec([], 'timeout', a.timeout ?? 30, true);
      const grep = a.grep === undefined ? undefined : linearRegex('grep', a.grep);
      const pattern = a.wait_for === undefined ? undefined : linearRegex('wait_for', a.wait_for);
      const ctx = session.context();
      const rec = resolveProcess(ctx.store.read(), a.id);
      if (rec.pty && a.stream === 'stderr')
        throw new BgError(
          'USAGE',
          'stderr is merged into the terminal for PTY processes; start with pty: false to keep it apart (stream output shows it with the rest).',
        );
      if (rec.legacy)
        throw new BgError('USAGE', `process ${rec.id} comes from the Python skill; read its log with get_logs.ts.`);
      if (!ctx.unlocked)
        throw new BgError(
          'DAMAGED',
          `${logFileOf(ctx.dataDir, rec)} needs key.json, which is missing. Restore it from a backup.`,
        );
      const streams = new Set(STREAM_CHOICES[a.stream]!);
      // The view name get_logs.ts keys its --new positions by, so both share them.
      const view = viewOf({ stream: a.stream, grep: a.grep, raw: false }, streams);
      const r: Read = {
        ctx,
        rec,
        a,
        view,
        cap: a.lines ?? DEFAULT_LINES,
        signal,
        q: { streams, sinceMs, grep, raw: false, lines: 0 },
      };
      if (a.screen) return screen(r, pattern, timeoutSec);
      return pattern ? waitLine(r, pattern, timeoutSec!) : readLines(r);
    }),
  );
}
