// get_logs' use case, once for the script (commands/get_logs.ts) and the MCP tool
// (mcp/logs-tool.ts): the request, its defaults, the flag rules and their combinations, and the
// plan a checked request becomes (log/read/read-plan.ts's types; log/read/ does the reading).
// Each front end names its own options (`LogsWords`: "--wait-for" for the script, "wait_for"
// for MCP), so a message is written once and reads right in both.
import { BgError } from '../errors.ts';
import type { SubKeys } from '../store/crypto.ts';
import type { Context } from '../store/context.ts';
import type { ProcessRecord } from '../store/state.ts';
import { logFileOf } from '../log/format/logset.ts';
import {
  STREAM_CHOICES,
  viewOf,
  type Delivery,
  type ReadMode,
  type ReadOptions,
  type ReadPlan,
} from '../log/read/read-plan.ts';
import { oneLine } from '../util/format.ts';
import { compileRegex } from '../util/regex.ts';
import { linearRegex } from '../util/linear-regex.ts';
import { checkSeconds } from './checks.ts';
import { hiddenNote, recordRedactor } from '../util/redact.ts';
import { DEFAULT_LINES } from './defaults.ts';
import { checkBudget } from './digest.ts';

/** One get_logs call as a front end hands it over: an option left undefined was not given. */
export interface LogsRequest {
  lines?: number;
  raw?: boolean;
  follow?: boolean;
  new?: boolean;
  since?: string;
  timestamps?: boolean;
  stream?: string; // a key of STREAM_CHOICES; default DEFAULT_STREAM
  grep?: string;
  /** --grep's context: lines before and after each match (-B, -A; -C sets both). */
  before?: number;
  after?: number;
  waitFor?: string;
  timeoutSec?: number;
  screen?: boolean;
  cursor?: boolean;
  attrs?: boolean;
  json?: boolean;
  /** --budget: a digest of the selected lines in about this many tokens (ops/digest.ts). */
  budget?: number;
  /** Show secrets as written; else each is replaced by a marker naming its kind (util/redact.ts). */
  reveal?: boolean;
}

/** The records read when no stream is asked for: stdout and stderr. */
export const DEFAULT_STREAM = 'output';

/** The options that read lines, which --screen (the whole screen) does not. */
export const LINE_OPTIONS = [
  'lines',
  'raw',
  'follow',
  'new',
  'since',
  'timestamps',
  'grep',
  'before',
  'after',
  'stream',
  'budget',
] as const;
export type LineOption = (typeof LINE_OPTIONS)[number];

/** How a front end names get_logs' options and what it does with an answer, in its messages. */
export interface LogsWords {
  lines: string;
  since: string;
  timeout: string;
  waitFor: string;
  grep: string;
  /** --grep's context options (-B, -A), and how to name them together ("-A, -B and -C"). */
  before: string;
  after: string;
  context: string;
  new: string;
  screen: string;
  stream: string;
  cursor: string;
  attrs: string;
  /** Absent where there is no following (MCP). */
  follow?: string;
  /** What get_logs does with the lines: 'prints' (script) or 'returns' (MCP). */
  gives: string;
  /** The new lines up to a match, as `with --new, ...` goes on. */
  upTo: string;
  /** How to start a process without a terminal: '--no-pty', 'pty: false'. */
  noPty: string;
  /** The digest's option: '--budget', 'budget'. */
  budget: string;
  /** The line options given, in the order given, each named as typed (the script); else LINE_OPTIONS' order and names. */
  given?: Map<LineOption, string>;
  /** A number as the caller typed it, for "(got ...)" (the script: its argv text). */
  shown?: (option: 'lines' | 'timeout' | 'before' | 'after' | 'budget', v: number) => string;
  /** Compile patterns for V8's linear-time engine (MCP: a server must not hang on a regex). */
  linear?: boolean;
  /** How long a --wait-for waits when no timeout is given (undefined: until it matches or the process ends). */
  waitTimeoutSec?: number;
}

/** A request checked: the plan it reads by, and what the plan does not hold. */
export interface CheckedLogs {
  plan: ReadPlan;
  options: ReadOptions;
  timeoutSec?: number;
  cursor: boolean;
  attrs: boolean;
}

/** "30s", "5m", "2h", "1d", or an ISO time: the moment it names, in ms since the epoch. */
export function parseSince(text: string, now = Date.now()): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (m) return now - Number(m[1]) * { ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const t = Date.parse(text);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

/** The request checked and planned in one step: a USAGE error for a value or combination that does not apply. */
export function checkLogs(req: LogsRequest, w: LogsWords): CheckedLogs {
  const shown = (o: 'lines' | 'timeout' | 'before' | 'after' | 'budget', v: number) => w.shown?.(o, v) ?? String(v);
  // An empty -n is refused like any other non-number (yargs reads it as 0).
  if (
    req.lines !== undefined &&
    (!Number.isInteger(req.lines) || req.lines < 0 || shown('lines', req.lines).trim() === '')
  )
    throw new BgError(
      'USAGE',
      `${w.lines} must be a whole number of lines, 0 or more (got ${shown('lines', req.lines)}).`,
    );
  const sinceMs = req.since === undefined ? undefined : parseSince(req.since);
  if (req.since !== undefined && sinceMs === undefined)
    throw new BgError(
      'USAGE',
      `${w.since} "${oneLine(String(req.since))}" is not a time: use 30s, 5m, 2h, 1d or an ISO time like 2026-01-31T12:00:00Z.`,
    );
  if (req.timeoutSec !== undefined) checkSeconds(w.timeout, req.timeoutSec, true, shown('timeout', req.timeoutSec));
  if (req.lines !== undefined && req.waitFor !== undefined)
    throw new BgError(
      'USAGE',
      `${w.lines} does not apply to ${w.waitFor}, which ${w.gives} the matching line (with ${w.new}, ${w.upTo}). Leave out ${w.lines}.`,
    );
  if (req.timeoutSec !== undefined && !req.follow && req.waitFor === undefined)
    throw new BgError(
      'USAGE',
      `${w.timeout} applies only to ${w.follow ? `${w.follow} and ` : ''}${w.waitFor}; without ${w.follow ? 'them' : 'it'} get_logs returns at once.`,
    );
  checkScreen(req, w);
  checkContext(req, w, shown);
  if (req.budget !== undefined) checkBudget(req.budget, w, shown('budget', req.budget));
  checkDigest(req, w);
  const options: ReadOptions = {
    lines: req.lines,
    raw: req.raw ?? false,
    follow: req.follow ?? false,
    new: req.new ?? false,
    sinceMs,
    timestamps: req.timestamps ?? false,
    stream: req.stream ?? DEFAULT_STREAM,
    grep: req.grep,
    before: req.before,
    after: req.after,
    waitFor: req.waitFor,
    screen: req.screen ?? false,
    json: req.json ?? false,
    budget: req.budget,
    reveal: req.reveal ?? false,
  };
  const compile = w.linear ? linearRegex : compileRegex;
  const plan = planRead(options, (which, src) => compile(w[which], src));
  const timeoutSec = req.timeoutSec ?? (req.waitFor === undefined ? undefined : w.waitTimeoutSec);
  return { plan, options, timeoutSec, cursor: req.cursor ?? false, attrs: req.attrs ?? false };
}

/** --screen is the whole screen: the line options do not apply to it. */
function checkScreen(req: LogsRequest, w: LogsWords): void {
  if (req.cursor && !req.screen)
    throw new BgError('USAGE', `${w.cursor} marks the cursor row of ${w.screen}: add ${w.screen}.`);
  if (req.attrs && !req.screen)
    throw new BgError(
      'USAGE',
      `${w.attrs} marks reverse video, bold, underline and colours on ${w.screen}: add ${w.screen}.`,
    );
  if (!req.screen) return;
  const order = w.given ? [...w.given.keys()] : LINE_OPTIONS;
  const clash = order.find((o) => req[o] !== undefined);
  if (clash)
    throw new BgError(
      'USAGE',
      `${w.screen} ${w.gives} the whole screen as it stands; ${w.given?.get(clash) ?? clash} applies to lines. Leave out one of them.`,
    );
}

/**
 * --budget digests the lines a read selects once (a --new read, --since, --grep, --stream, -n):
 * not a read that goes on (--follow, --wait-for), nor exact bytes or records (--raw, --json,
 * -t), nor grep's own context (the digest keeps its own around what it keeps).
 */
function checkDigest(req: LogsRequest, w: LogsWords): void {
  if (req.budget === undefined || req.screen) return;
  const why: [unknown, string, string][] = [
    [req.follow, w.follow ?? 'follow', 'keeps printing lines as they come'],
    [req.waitFor, w.waitFor, `${w.gives} the line that matches`],
    [req.raw, '--raw', 'prints the exact bytes'],
    [req.json, '--json', 'prints each line as a record'],
    [req.timestamps, '-t', 'prints each line with its time'],
    [req.before ?? req.after, w.context, "show grep's context"],
  ];
  const clash = why.find(([given]) => given !== undefined && given !== false);
  if (clash)
    throw new BgError(
      'USAGE',
      `${w.budget} ${w.gives} a digest of the lines read (repeats folded, errors kept whole); ${clash[1]} ${clash[2]}. Leave out one of them.`,
    );
}

/** --grep's context: whole numbers of lines, with --grep, and not with --wait-for (which prints one line). */
function checkContext(req: LogsRequest, w: LogsWords, shown: (o: 'before' | 'after', v: number) => string): void {
  for (const o of ['before', 'after'] as const) {
    const v = req[o];
    if (v !== undefined && (!Number.isInteger(v) || v < 0 || shown(o, v).trim() === ''))
      throw new BgError('USAGE', `${w[o]} must be a whole number of lines, 0 or more (got ${shown(o, v)}).`);
  }
  if (req.before === undefined && req.after === undefined) return;
  if (req.grep === undefined)
    throw new BgError(
      'USAGE',
      `${w.context} show lines around ${w.grep}'s matches: add ${w.grep} PATTERN, or leave them out.`,
    );
  if (req.waitFor !== undefined)
    throw new BgError(
      'USAGE',
      `${w.context} do not apply to ${w.waitFor}, which ${w.gives} the matching line. Leave them out, or read the context afterwards with ${w.grep}.`,
    );
}

/** Under a PTY the terminal carries both streams as one: an empty answer would read as "no errors". */
export function checkStream(rec: ProcessRecord, stream: string, w: Pick<LogsWords, 'noPty' | 'stream'>): void {
  if (rec.pty && stream === 'stderr')
    throw new BgError(
      'USAGE',
      `stderr is merged into the terminal for PTY processes; start with ${w.noPty} to keep it apart (${w.stream} output shows it with the rest).`,
    );
}

/** A screen is read only where there is one: a process run with pipes has lines. */
export function checkScreenable(rec: ProcessRecord, w: Pick<LogsWords, 'noPty' | 'screen'>): void {
  if (!rec.pty)
    throw new BgError(
      'USAGE',
      `process ${rec.id} runs without a terminal (${w.noPty}), so it has no screen: its output is lines. Read them without ${w.screen}; start it with a terminal (the default) to use ${w.screen}.`,
    );
}

/**
 * The plan with the secrets of `rec`'s output hidden (util/redact.ts): gitleaks' rules and the
 * values the process was given as secrets. Unchanged with reveal (--reveal). The redactor
 * counts what it hid, for the note a front end gives.
 */
export function redactPlan(plan: ReadPlan, rec: ProcessRecord, reveal: boolean | undefined): ReadPlan {
  if (reveal) return plan;
  const redact = recordRedactor(rec);
  return { ...plan, query: { ...plan.query, redact }, format: { ...plan.format, redact } };
}

/** The one line said when a read hid secrets (`how`: the front end's way to see them). */
export function hiddenSecretsNote(plan: ReadPlan, how: string): string | undefined {
  return hiddenNote(plan.format.redact, how);
}

/** The keys a process's log is read with; without key.json it cannot be (DAMAGED). */
export function logKeys(ctx: Context, rec: ProcessRecord): SubKeys {
  if (!ctx.unlocked)
    throw new BgError(
      'DAMAGED',
      `${logFileOf(ctx.dataDir, rec)} needs key.json, which is missing. Restore it from a backup.`,
    );
  return ctx.unlocked.keys;
}

/**
 * The plan of a read (log/read/read-plan.ts): from the options alone, which way the log is read
 * (the mode) and what is asked of it (the query). Pure, so each combination of flags is tested
 * without a log. Throws a usage error for a --grep or --wait-for that is not a regular expression.
 */
export function planRead(
  o: ReadOptions,
  compile: (which: 'grep' | 'waitFor', src: string) => RegExp = (which, src) =>
    compileRegex(which === 'grep' ? '--grep' : '--wait-for', src),
): ReadPlan {
  const streams = new Set(STREAM_CHOICES[o.stream]!);
  const mode: ReadMode = o.screen
    ? 'screen'
    : o.waitFor
      ? 'wait-for'
      : o.follow
        ? 'follow'
        : o.new
          ? 'forward'
          : o.sinceMs !== undefined
            ? 'since'
            : 'tail';
  // Without -n: DEFAULT_LINES from the end, but all of what is new, or since a time, or up to a match.
  const lines = o.lines ?? (o.budget || o.new || o.sinceMs !== undefined || o.waitFor ? 0 : DEFAULT_LINES);
  const from = o.new ? 'cursor' : o.waitFor ? 'start' : 'tail';
  const grep = o.grep === undefined ? undefined : compile('grep', o.grep);
  const waitFor = o.waitFor === undefined ? undefined : compile('waitFor', o.waitFor);
  // With context (-A, -B, -C) every line of the read is read, and the pattern picks the matches
  // among them (log/read/context.ts): -n counts matches, not lines (as `grep -m` does, from the end).
  const withContext = grep !== undefined && (o.before !== undefined || o.after !== undefined);
  const context = withContext ? { grep, before: o.before ?? 0, after: o.after ?? 0, matches: lines } : undefined;
  const query = {
    streams,
    sinceMs: o.sinceMs,
    grep: context ? undefined : grep,
    raw: o.raw,
    lines: context ? 0 : lines,
    from,
  } as const;
  // Every byte as written, with nothing added: records are copied straight out (fast).
  const exactBytes =
    o.raw &&
    o.reveal &&
    o.grep === undefined &&
    !o.timestamps &&
    !o.json &&
    o.stream !== 'all' &&
    !streams.has('event');
  const delivery: Delivery = query.lines !== 0 ? 'select' : exactBytes && !o.waitFor ? 'copy' : 'stream';
  return {
    mode,
    query,
    delivery,
    view: viewOf(o, streams),
    saveCursor: o.new,
    upTo: o.new && !!o.waitFor,
    waitFor,
    context,
    legacyLines: o.lines ?? (o.budget ? 0 : DEFAULT_LINES),
    missLines: DEFAULT_LINES,
    format: { raw: o.raw, json: o.json, timestamps: o.timestamps, labelStreams: o.stream === 'all' },
    budget: o.budget,
  };
}
