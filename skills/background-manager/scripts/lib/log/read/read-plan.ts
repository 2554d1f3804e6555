// get_logs's plan: which way the log is read (the mode) and what is asked of it (the query).
// ops/logs.ts planRead makes one from the options (the rules and defaults); log/read/ reads by it.
import type { StreamName } from '../format/logfile.ts';
import type { Cursor } from '../format/logset.ts';
import type { Query } from './logquery.ts';
import type { FormatOptions } from './lines.ts';

export const STREAM_CHOICES: Record<string, StreamName[]> = {
  output: ['stdout', 'stderr'],
  stdout: ['stdout'],
  stderr: ['stderr'],
  input: ['input'],
  events: ['event'],
  event: ['event'],
  all: ['stdout', 'stderr', 'input', 'event'],
};

export interface ReadOptions {
  lines?: number; // -n, when given
  raw: boolean;
  follow: boolean;
  new: boolean;
  sinceMs?: number;
  timestamps: boolean;
  stream: string; // a key of STREAM_CHOICES
  grep?: string; // the --grep pattern as typed
  before?: number; // -B (-C), when given
  after?: number; // -A (-C), when given
  waitFor?: string; // the --wait-for pattern as typed
  screen: boolean;
  json: boolean;
  budget?: number; // --budget, when given: a digest in about this many tokens
  /** Secrets shown as written (--reveal): records may be copied out as they are. */
  reveal?: boolean;
}

/**
 * screen: the terminal's screen; wait-for: until a line matches; follow: read, then keep
 * reading as the log grows; forward: what came after the last --new read; since: what came
 * after a time; tail: the last lines.
 */
export type ReadMode = 'screen' | 'wait-for' | 'follow' | 'forward' | 'since' | 'tail';

/** How lines reach stdout: records copied as they are (--raw, all of it), streamed, or selected first. */
export type Delivery = 'copy' | 'stream' | 'select';

export interface ReadPlan {
  mode: ReadMode;
  /** `from`: 'cursor' (where the last --new read of `view` stopped), 'start', or 'tail' (the last `lines`). */
  query: Omit<Query, 'from'> & { from: 'cursor' | 'start' | 'tail' };
  delivery: Delivery;
  /** The --new position this read goes on from and saves; undefined: the default view. */
  view: string | undefined;
  saveCursor: boolean;
  /** --wait-for --new: every new line up to the match is printed, so none is passed over unseen. */
  upTo: boolean;
  waitFor?: RegExp;
  /**
   * --grep with -A, -B or -C: the query reads every line (no grep, no -n) and the pattern picks
   * the matches among them, shown with their context (context.ts); `matches`: the last ones to
   * show (-n; 0: all).
   */
  context?: { grep: RegExp; before: number; after: number; matches: number };
  /** Lines of a Python-skill log to show: -n, else the default (it has no times or cursors). */
  legacyLines: number;
  /** Lines of the log shown after a --wait-for that gave up (the last ones). */
  missLines: number;
  format: FormatOptions;
  /** --budget: the lines go to a digest of about this many tokens (digest.ts), printed at the end. */
  budget?: number;
}

// --new keeps a position per view (what --stream and --grep select), so that reading the
// errors with --new --grep does not mark the other lines as read for a plain --new.
/** The --new view a read belongs to (undefined: the default one); get_logs.ts and the MCP get_logs share it. */
export function viewOf(o: Pick<ReadOptions, 'stream' | 'grep' | 'raw'>, streams: Set<StreamName>): string | undefined {
  if (o.stream === 'output' && o.grep === undefined) return undefined;
  return `${[...streams].join('+')}${o.grep !== undefined ? ` grep${o.raw ? ' raw' : ''} ${o.grep}` : ''}`;
}

/** The plan's query at a cursor: `cursor` is where the last --new read of the view stopped. */
export function queryAt(plan: ReadPlan, cursor: Cursor | undefined): Query {
  const from = plan.query.from === 'cursor' ? (cursor ?? null) : plan.query.from === 'start' ? null : undefined;
  return { ...plan.query, from };
}
