// The MCP get_logs tool: the last lines, what is new since the last `new` read (the same
// position get_logs.ts --new keeps), a wait for a line or a screen, all read with the log
// library the script uses (logquery, follow, showScreen). Unlike the script, every answer is
// bounded: at most `lines` lines (default MCP_DEFAULT_LINES) and MAX_TEXT_BYTES of text, with a
// note saying how to read on.
import { z } from 'zod';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { BgError, EXIT } from '../errors.ts';
import { isLogging } from '../process/status.ts';
import { STREAM_CHOICES } from '../log/read/read-plan.ts';
import { currentRecord, droppedNotes, readerOf } from '../log/read/read-modes.ts';
import { newCursorOf, saveNewCursor } from '../store/state.ts';
import { logFileOf } from '../log/format/logset.ts';
import { matches, selectLines, streamLines, type Query } from '../log/read/logquery.ts';
import { GrepContext } from '../log/read/context.ts';
import type { ReadPlan } from '../log/read/read-plan.ts';
import { lineMissed, waitForLine } from '../log/read/wait-for.ts';
import type { Line } from '../log/read/lines.ts';
import type { LogIssue } from '../log/format/logfile.ts';
import { screenMissed, showScreen } from '../log/read/screen-show.ts';
import { screenText, type Screen } from '../log/read/screen.ts';
import { screenLines } from '../log/read/screen-watch.ts';
import { resolveProcess } from '../process/resolve.ts';
import type { Context } from '../store/context.ts';
import type { ProcessRecord } from '../store/state.ts';
import {
  KEEP_LINE_BYTES,
  MCP_DEFAULT_LINES,
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
import {
  checkLogs,
  checkScreenable,
  checkStream,
  DEFAULT_STREAM,
  logKeys,
  redactPlan,
  type LogsWords,
} from '../ops/logs.ts';
import { hiddenNote } from '../util/redact.ts';
import { howToRun } from '../install/hints.ts';
import { TOOL_HINTS } from './hints.ts';
import { MCP_CLIENT_TIMEOUT_SEC, MCP_WAIT_TIMEOUT_SEC } from '../ops/defaults.ts';
import { Digest } from '../log/read/digest.ts';
import { DIGEST_LINE_BYTES, DigestSource } from '../log/read/digest-source.ts';
import {
  MCP_DEFAULT_BUDGET,
  MCP_DIGEST_LINES,
  MCP_MAX_BUDGET,
  MIN_BUDGET,
  digestNote,
  digestRules,
  type DigestWords,
} from '../ops/digest.ts';

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
    .describe(
      `How many lines at most (default ${MCP_DEFAULT_LINES}); the newest, or with new the oldest unread. With context_before/context_after: how many matches`,
    ),
  new: z
    .boolean()
    .default(false)
    .describe(
      'Only output not returned by an earlier new read of this process (one position per stream/grep view, shared with get_logs.ts --new)',
    ),
  since: z.string().optional().describe('Only output since 30s, 5m, 2h, 1d ago, or an ISO time'),
  grep: z.string().optional().describe('Only lines matching this regular expression'),
  context_before: z
    .number()
    .int()
    .min(0)
    .max(MAX_LINES)
    .optional()
    .describe(
      'With grep: also this many lines before each match (grep -B); groups that are not adjacent are separated by a "--" line ({separator: true} in lines), context lines carry context: true. lines then counts matches',
    ),
  context_after: z
    .number()
    .int()
    .min(0)
    .max(MAX_LINES)
    .optional()
    .describe('With grep: also this many lines after each match (grep -A)'),
  budget: z
    .number()
    .int()
    .min(MIN_BUDGET)
    .max(MCP_MAX_BUDGET)
    .optional()
    .describe(
      `A digest of the lines read in about this many tokens (4 characters each): repeats folded with counts, errors, warnings, stack traces and failed tests kept whole, head and tail kept, and a note of what was left out with a narrower read. With new, since, grep, stream, lines (the last lines digested; default: all). Without lines, an answer past ${MCP_DEFAULT_LINES} lines or 24 KiB is a digest in ${MCP_DEFAULT_BUDGET} tokens of the last ${MCP_DIGEST_LINES.toLocaleString('en-US')} lines (new: of all that is new)`,
    ),
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
  attrs: z
    .boolean()
    .default(false)
    .describe(
      "With screen: mark reverse video, bold, underline and cells coloured unlike the rest of their row (how menus show the selected item) as ⟦FLAGS:text⟧, FLAGS from r (reverse) b (bold) u (underline) c (colour); the program's own ⟦ ⟧ \\ come as \\⟦ \\⟧ \\\\. wait_for then matches the marked rows. The structured screen.spans lists them: {row, col, text, attrs, fg, bg}",
    ),
  wait_for: z
    .string()
    .optional()
    .describe(
      'Wait until a line (a prompt without a newline too; of a full-screen program, a screen row too) matches this regular expression, and return it (with new: the new lines up to it)',
    ),
  reveal: z
    .boolean()
    .default(false)
    .describe(
      'Show secrets as written. Without it each secret (known token formats, private keys, the values of secret-looking env and secret_env) is returned as [REDACTED:kind], and grep and wait_for match that text',
    ),
  timeout: z
    .number()
    .max(MAX_WAIT_SEC)
    .optional()
    .describe(
      `With wait_for: give up after this many seconds (default ${MCP_WAIT_TIMEOUT_SEC}, at most ${MAX_WAIT_SEC}; most hosts give up on a call after ${MCP_CLIENT_TIMEOUT_SEC} s)`,
    ),
};
type Args = {
  id: string;
  lines?: number;
  new: boolean;
  since?: string;
  grep?: string;
  context_before?: number;
  context_after?: number;
  stream: string;
  screen: boolean;
  attrs: boolean;
  wait_for?: string;
  timeout?: number;
  budget?: number;
  reveal: boolean;
};

interface Read {
  ctx: Context;
  rec: ProcessRecord;
  a: Args;
  q: Query;
  /** grep with context_before/context_after (ReadPlan.context). */
  context?: ReadPlan['context'];
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
  const hidden = hiddenNote(r.q.redact, 'reveal: true');
  const text = [
    body,
    ...(note ? [`(${note})`] : []),
    ...(hidden ? [`(${hidden})`] : []),
    ...warn.map((w) => `warning: ${w}`),
  ].join('\n');
  return ok(text, {
    id: r.rec.id,
    lines,
    ...(note ? { note } : {}),
    ...(hidden ? { hidden: r.q.redact!.hidden } : {}),
    warnings: warn,
    ...extra,
  });
}

/** The line a group separator is in an answer: "--" in the text, {separator: true} in lines. */
const SEPARATOR: ShownLine = { time: '', stream: '', text: '--', separator: true };

/** A window (context.ts) whose lines and separators go into `got`, `cap` matches, the last ones unless `stream`. */
function contextInto(r: Read & { context: NonNullable<Read['context']> }, got: ShownLine[], keep: number): GrepContext {
  const q = { ...r.q, grep: r.context.grep };
  return new GrepContext(
    { before: r.context.before, after: r.context.after, isMatch: (l) => matches(q, l), keep },
    (item) =>
      got.push(
        'separator' in item
          ? SEPARATOR
          : { ...shownLine(item.line, r.q.redact), ...(item.context ? { context: true } : {}) },
      ),
  );
}

/** grep with context: the last `cap` matches with theirs (new: false), or the oldest unread ones (new: true). */
async function readContext(r: Read & { context: NonNullable<Read['context']> }): Promise<CallToolResult> {
  const got: ShownLine[] = [];
  if (r.a.new) {
    const window = contextInto(r, got, 0);
    let bytes = 0;
    // Stops once `cap` matches and their after-context are in, or at the byte cap.
    return readNew(r, got, (l) => {
      const had = got.length;
      window.push(l);
      for (const g of got.slice(had)) bytes += Buffer.byteLength(g.text) + 1;
      return !((window.matches >= r.cap && !window.afterPending) || bytes >= MAX_TEXT_BYTES);
    });
  }
  const reader = readerOf(r.ctx, r.rec, logFileOf(r.ctx.dataDir, r.rec));
  const window = contextInto(r, got, r.cap);
  const sel = streamLines(reader, { ...r.q, lines: 0, from: null }, (l) => window.push(l), KEEP);
  window.end();
  const fit = fitBytes(got, 'last');
  const earlier = window.matches > r.cap || fit.omitted > 0;
  const note = earlier
    ? `only the last ${Math.min(window.matches, r.cap)} matches are shown${fit.omitted ? ' (cut to fit)' : ''}; ask for up to ${MAX_LINES} matches with lines, or narrow with since or grep`
    : undefined;
  return answer(r, fit.lines, note, { more: earlier }, sel.issues);
}

/**
 * A new read: the lines after the new position go to `take` (false: stop after this one), the
 * position is saved just after the last line read, and `got` is the answer.
 */
async function readNew(r: Read, got: ShownLine[], take: (l: Line) => boolean): Promise<CallToolResult> {
  const reader = readerOf(r.ctx, r.rec, logFileOf(r.ctx.dataDir, r.rec));
  const from = newCursorOf(r.rec, r.view);
  const sel = streamLines(reader, { ...r.q, lines: 0, from: from ?? null }, take, KEEP);
  if (sel.end) await saveNewCursor(r.ctx.store, r.rec.id, r.view, sel.end);
  // What the size cap dropped before this read reached it is said first.
  const notes = [
    ...droppedNotes(r.ctx, r.rec, sel, from, 'new read returned'),
    ...(sel.stopped ? ['there may be more new output: call get_logs with new: true again'] : []),
  ];
  return answer(r, got, notes.join('; ') || undefined, { more: sel.stopped }, sel.issues);
}

/** The last lines (new: false), or the oldest unread ones (new: true), bounded. */
async function readLines(r: Read): Promise<CallToolResult> {
  if (r.context) return readContext({ ...r, context: r.context });
  if (r.a.new) {
    // Without lines, all that is new is read: as lines if they fit, else digested (default budget).
    if (r.a.lines === undefined) return readNewOrDigest(r);
    const got: ShownLine[] = [];
    let bytes = 0;
    // Stops after the line that reaches a cap: the position saved is just after it.
    return readNew(r, got, (l) => {
      got.push(shownLine(l, r.q.redact));
      bytes += Buffer.byteLength(got[got.length - 1]!.text) + 1;
      return got.length < r.cap && bytes < MAX_TEXT_BYTES;
    });
  }
  const reader = readerOf(r.ctx, r.rec, logFileOf(r.ctx.dataDir, r.rec));
  const sel = selectLines(reader, { ...r.q, lines: r.cap + 1 }, KEEP);
  const fit = fitBytes(
    sel.lines.slice(-r.cap).map((l) => shownLine(l, r.q.redact)),
    'last',
  );
  const earlier = sel.lines.length > r.cap || fit.omitted > 0;
  if (earlier && r.a.lines === undefined) return readDigest(r, MCP_DEFAULT_BUDGET, MCP_DIGEST_LINES, true);
  const note = earlier
    ? `only the last ${fit.lines.length} lines are shown; ask for up to ${MAX_LINES} lines, or narrow with since or grep`
    : undefined;
  return answer(r, fit.lines, note, { more: earlier }, sel.issues);
}

/** How the tool's note names the narrower reads it proposes. */
const DIGEST_WORDS: DigestWords = {
  budget: 'budget',
  since: 'since',
  grep: 'grep',
  after: 'context_after',
  new: 'new',
  sep: ', ',
  option: (name, value) => `${name}: ${JSON.stringify(value)}`,
};

/** What a digest under the default budget says first: why it is one, and of what. */
function defaultDigest(newRead: boolean): string {
  const of = newRead ? 'all that is new' : `the last ${MCP_DIGEST_LINES.toLocaleString('en-US')} lines`;
  return `no lines given and the answer was past ${MCP_DEFAULT_LINES} lines or 24 KiB, so this is a digest of ${of} in about ${MCP_DEFAULT_BUDGET.toLocaleString('en-US')} tokens; lines: N returns lines as they are`;
}

/** The answer a digest makes: its lines, the note, and its counts (structured: digest). */
function digestAnswer(r: Read, d: Digest, issues: LogIssue[], notes: string[], lead?: string): CallToolResult {
  const res = d.end();
  const body = res.lines.join('\n');
  const note = digestNote(res.stats, DIGEST_WORDS, { newRead: r.a.new, chars: body.length });
  const warn = warnings(issues, isLogging(currentRecord(r.ctx, r.rec)));
  const hidden = hiddenNote(r.q.redact, 'reveal: true');
  const text = [
    ...(lead ? [`(${lead})`] : []),
    ...(body ? [body] : []),
    note,
    ...notes.map((n) => `(${n})`),
    ...(hidden ? [`(${hidden})`] : []),
    ...warn.map((w) => `warning: ${w}`),
  ].join('\n');
  return ok(text, {
    id: r.rec.id,
    digest: res.stats,
    note,
    more: false,
    warnings: warn,
    ...(hidden ? { hidden: r.q.redact!.hidden } : {}),
  });
}

/** Lines read for a digest: whole up to SPILL, longer ones in pieces (DigestSource keeps their ends). */
function digestLimits(source: DigestSource) {
  return { spill: { bytes: KEEP_LINE_BYTES, out: (p: Line) => source.piece(p) } };
}

/**
 * A digest of what the call selects: all that is new (new; the position moves to the end), the
 * last `lines` lines, or all of it. `byDefault`: no budget was asked for (the default one).
 */
async function readDigest(
  r: Read,
  budget: number,
  lines: number | undefined,
  byDefault = false,
): Promise<CallToolResult> {
  const lead = byDefault ? defaultDigest(r.a.new) : undefined;
  const d = new Digest(digestRules(budget, lead ? lead.length + 3 : 0));
  const source = new DigestSource(r.a.stream === 'all', (l) => d.push(l), r.q.redact);
  const reader = readerOf(r.ctx, r.rec, logFileOf(r.ctx.dataDir, r.rec));
  if (r.a.new) {
    const from = newCursorOf(r.rec, r.view);
    const sel = streamLines(
      reader,
      { ...r.q, lines: 0, from: from ?? null },
      (l) => source.line(l),
      digestLimits(source),
    );
    if (sel.end) await saveNewCursor(r.ctx.store, r.rec.id, r.view, sel.end);
    return digestAnswer(r, d, sel.issues, droppedNotes(r.ctx, r.rec, sel, from, 'new read returned'), lead);
  }
  if (lines !== undefined) {
    const sel = selectLines(reader, { ...r.q, lines }, { keepBytes: DIGEST_LINE_BYTES });
    for (const l of sel.lines) source.line(l);
    return digestAnswer(r, d, sel.issues, droppedNotes(r.ctx, r.rec, sel, undefined), lead);
  }
  const sel = streamLines(reader, { ...r.q, lines: 0, from: null }, (l) => source.line(l), digestLimits(source));
  return digestAnswer(r, d, sel.issues, droppedNotes(r.ctx, r.rec, sel, undefined), lead);
}

/** new without lines: the new lines if they fit the bound, else their digest (default budget); the position moves to the end. */
async function readNewOrDigest(r: Read): Promise<CallToolResult> {
  const lead = defaultDigest(true);
  const d = new Digest(digestRules(MCP_DEFAULT_BUDGET, lead.length + 3));
  const source = new DigestSource(r.a.stream === 'all', (l) => d.push(l), r.q.redact);
  const got: ShownLine[] = [];
  let bytes = 0;
  let over = false;
  const reader = readerOf(r.ctx, r.rec, logFileOf(r.ctx.dataDir, r.rec));
  const from = newCursorOf(r.rec, r.view);
  const sel = streamLines(
    reader,
    { ...r.q, lines: 0, from: from ?? null },
    (l) => {
      source.line(l);
      if (over) return;
      got.push(shownLine(l));
      bytes += Buffer.byteLength(got[got.length - 1]!.text) + 1;
      over = got.length > r.cap || bytes > MAX_TEXT_BYTES;
    },
    KEEP, // a line's head, as a plain new read holds it (the digest shows that head, its length said)
  );
  if (sel.end) await saveNewCursor(r.ctx.store, r.rec.id, r.view, sel.end);
  const notes = droppedNotes(r.ctx, r.rec, sel, from, 'new read returned');
  if (over) return digestAnswer(r, d, sel.issues, notes, lead);
  return answer(r, got, notes.join('; ') || undefined, { more: false }, sel.issues);
}

/** Wait for a matching line, as get_logs.ts --wait-for does (from the start, or from the new position). */
async function waitLine(r: Read, pattern: RegExp, timeoutSec: number, missLines: number): Promise<CallToolResult> {
  const activeFile = logFileOf(r.ctx.dataDir, r.rec);
  const reader = readerOf(r.ctx, r.rec, activeFile);
  const before: ShownLine[] = []; // with new: the new lines up to the match
  let dropped = 0;
  const keep = (l: Line) => {
    before.push(shownLine(l, r.q.redact));
    if (before.length > r.cap) before.shift(), dropped++;
  };
  const res = await waitForLine({
    reader,
    activeFile,
    query: { ...r.q, from: r.a.new ? (newCursorOf(r.rec, r.view) ?? null) : null },
    pattern,
    // A cancelled call, or a client gone, ends the wait at the next status check.
    running: () => !r.signal.aborted && isLogging(currentRecord(r.ctx, r.rec)),
    timeoutMs: timeoutSec * 1000,
    openLinesAtOnce: true,
    screen: r.rec.pty,
    onPassed: r.a.new ? keep : undefined,
  });
  const hit = res.hit;
  if (r.a.new && res.cursor) await saveNewCursor(r.ctx.store, r.rec.id, r.view, res.cursor);
  const shown = fitBytes(before, 'last');
  const skipped = dropped + shown.omitted;
  const note = skipped ? `${skipped} earlier new lines not shown; read them with get_logs since` : undefined;
  if (hit)
    return answer(
      r,
      [...shown.lines, shownLine(hit, r.q.redact)],
      note,
      { matched: shownLine(hit, r.q.redact) },
      reader.issues,
    );
  if (r.signal.aborted) throw new BgError('TIMEOUT', 'the call was cancelled before a line matched.');
  const why = lineMissed(res.end, r.a.wait_for, timeoutSec, !!res.screen);
  const tail = r.a.new
    ? shown.lines
    : res.screen
      ? screenLines(res.screen).map((l) => shownLine(l, r.q.redact))
      : fitBytes(
          selectLines(readerOf(r.ctx, r.rec, activeFile), { ...r.q, lines: missLines }, KEEP).lines.map((l) =>
            shownLine(l, r.q.redact),
          ),
          'last',
        ).lines;
  const said = r.a.new
    ? tail.length
      ? 'what was new:'
      : 'nothing new came.'
    : res.screen
      ? 'its screen:'
      : 'its last lines:';
  return notMet(
    'get_logs',
    `${why}; ${said}\n${linesText(tail, r.a.stream === 'all')}`.trimEnd(),
    res.end === 'timeout' ? EXIT.FAILED : EXIT.NOT_RUNNING,
    { id: r.rec.id, lines: tail, matched: null },
  );
}

/** The terminal screen, or a wait until it matches (get_logs.ts --screen). */
async function screen(r: Read, pattern: RegExp | undefined, timeoutSec: number | undefined): Promise<CallToolResult> {
  let shown: Screen | undefined;
  const code = await showScreen({
    activeFile: logFileOf(r.ctx.dataDir, r.rec),
    keys: logKeys(r.ctx, r.rec),
    rec: r.rec,
    cursor: false,
    attrs: r.a.attrs,
    json: true,
    waitFor: pattern,
    waitForText: r.a.wait_for,
    timeoutSec,
    redact: r.q.redact,
    running: () => !r.signal.aborted && isLogging(currentRecord(r.ctx, r.rec)),
    write: () => undefined,
    shown: (sc) => (shown = sc),
  });
  if (r.signal.aborted) throw new BgError('TIMEOUT', 'the call was cancelled before the screen matched.');
  const { rows: all, cursor, size, attrs } = shown!;
  const s = { rows: [...all], cursor, size, ...(attrs ? { spans: attrs.spans } : {}) };
  while (s.rows.length && s.rows[s.rows.length - 1] === '') s.rows.pop(); // blank rows below cost context, say nothing
  const rows = screenText(shown!, false).replace(/\n$/, '');
  if (code === EXIT.FAILED || code === EXIT.NOT_RUNNING) {
    const why = screenMissed(code === EXIT.NOT_RUNNING, r.a.wait_for, timeoutSec);
    return notMet('get_logs', `${why}; the screen as it stands:\n${rows}`, code, { id: r.rec.id, screen: s });
  }
  const hidden = hiddenNote(r.q.redact, 'reveal: true');
  return ok(`${rows || '(blank screen)'}${hidden ? `\n(${hidden})` : ''}`, {
    id: r.rec.id,
    screen: s,
    ...(code === EXIT.DAMAGED ? { warnings: ['the log is damaged in places; the screen may miss output'] } : {}),
  });
}

/** How the MCP tool names get_logs' options in its messages, and its own wait (ops/logs.ts LogsWords). */
export const WORDS: LogsWords = {
  lines: 'lines',
  since: 'since',
  timeout: 'timeout',
  waitFor: 'wait_for',
  grep: 'grep',
  before: 'context_before',
  after: 'context_after',
  context: 'context_before and context_after',
  new: 'new',
  screen: 'screen',
  stream: 'stream',
  cursor: 'cursor',
  attrs: 'attrs',
  gives: 'returns',
  upTo: 'the new lines up to it',
  noPty: 'pty: false',
  budget: 'budget',
  linear: true, // a server must not hang on a backtracking pattern
  waitTimeoutSec: MCP_WAIT_TIMEOUT_SEC,
};

export function registerLogsTool(server: McpServer, session: Session): void {
  server.registerTool(
    'get_logs',
    {
      title: 'Read what a process printed',
      description:
        `Read a process's output, while it runs or after it ended: the last lines (default ${MCP_DEFAULT_LINES}), only what is new since your last new read (new: true; the way to poll), ` +
        'lines since a time or matching grep, the terminal screen of a full-screen program (screen), or wait until a line or the screen matches (wait_for, timeout). ' +
        'grep with context_before/context_after returns each match with the lines around it, as grep -B/-A does. ' +
        `budget: N returns a digest of a long log in about N tokens (repeats folded, errors and stack traces kept whole). ` +
        `Terminal escapes are rendered away. Returns {lines: [{time, stream, text, partial?, context?, separator?}], more, note?} and the text (a digest: {digest: counts, note}); at most ${MAX_LINES} lines and 24 KiB per call, with a note on how to read the rest; without lines, a longer answer comes as a digest.`,
      inputSchema: shape,
    },
    guarded('get_logs', session.closed, async (a: Args, signal) => {
      const { plan, timeoutSec } = checkLogs(
        {
          lines: a.lines,
          new: a.new || undefined,
          since: a.since,
          grep: a.grep,
          before: a.context_before,
          after: a.context_after,
          // zod fills in get_logs' own default: only another stream is asked for.
          stream: a.stream === DEFAULT_STREAM ? undefined : a.stream,
          screen: a.screen,
          attrs: a.attrs || undefined,
          waitFor: a.wait_for,
          timeoutSec: a.timeout,
          budget: a.budget,
        },
        WORDS,
      );
      const ctx = session.context();
      const rec = resolveProcess(ctx.store.read(), a.id, TOOL_HINTS);
      checkStream(rec, a.stream, WORDS);
      // Its log is one openssl stream the tools do not read: only a human with a shell can.
      if (rec.legacy)
        throw new BgError(
          'USAGE',
          `process ${rec.id} comes from the Python skill, whose log only the get_logs script reads, from a shell (${howToRun('get_logs')} ${rec.id}); this server cannot.`,
        );
      if (a.screen) checkScreenable(rec, WORDS);
      logKeys(ctx, rec);
      const { streams, sinceMs, grep } = plan.query;
      const redact = redactPlan(plan, rec, a.reveal).query.redact;
      const r: Read = {
        ctx,
        rec,
        a,
        // The view get_logs.ts keys its --new positions by, so both share them.
        view: plan.view,
        cap: a.lines ?? MCP_DEFAULT_LINES,
        signal,
        q: { streams, sinceMs, grep, raw: false, lines: 0, redact },
        context: plan.context,
      };
      if (a.screen) return screen(r, plan.waitFor, timeoutSec);
      if (a.budget !== undefined) return readDigest(r, a.budget, a.lines);
      return plan.waitFor ? waitLine(r, plan.waitFor, timeoutSec!, plan.missLines) : readLines(r);
    }),
  );
}
