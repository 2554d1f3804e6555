// Wait until a line of a log matches a pattern: get_logs --wait-for and start_process /
// restart_process --wait-for share this. What is in the log already is read first (as a
// selection, so --new and --since apply), then the log is followed as it grows.
import { follow, PROMPT_QUIET_MS, type FollowEnd } from './follow.ts';
import { lineText, MATCH_BYTES, type Line } from './lines.ts';
import { matches, streamLines, type Query, type Selection } from './logquery.ts';
import type { Cursor, Gap, LogSetReader } from '../format/logset.ts';

export interface WaitForLineOptions {
  reader: LogSetReader;
  activeFile: string;
  /** Which lines count (streams, --grep, --since) and where to start (`from`; lines is ignored). */
  query: Query;
  pattern: RegExp;
  /** True while the process can still write. */
  running: () => boolean;
  timeoutMs?: number;
  statusEveryMs?: number;
  /**
   * Whether a line still open (no newline yet) in the log as first read may match at once.
   * get_logs: yes (it stood there already); start_process: only once it has been quiet for
   * PROMPT_QUIET_MS, like any open line, so that "Ready: <line>" never shows half of a line.
   */
  openLinesAtOnce: boolean;
  /** Each counted line passed over before the match (whole lines and input sends). */
  onPassed?: (line: Line) => void;
  /** After the first read, before following: what it read (issues, where it ended). */
  afterRead?: (sel: Omit<Selection, 'lines'>) => void;
  /** Before following starts (get_logs stops buffering its output). */
  beforeFollow?: () => void;
  /** While following: records the size cap dropped before they were read (follow.ts). */
  onGap?: (gap: Gap) => void;
}

export interface WaitForLineResult {
  hit?: Line;
  /** 'found' also when the first read found it; else how following ended. */
  end: 'found' | FollowEnd;
  followed: boolean;
  /** Where a later read goes on: just after the matching line, or where following stopped. */
  cursor: Cursor | undefined;
  /** Lines still open there (begun before the match, or left open at the end). */
  open: Line[];
}

export async function waitForLine(o: WaitForLineOptions): Promise<WaitForLineResult> {
  const text = (l: Line) => lineText(l, o.query.raw);
  let hit: Line | undefined;
  const sel = streamLines(
    o.reader,
    { ...o.query, lines: 0 },
    (l) => {
      const settled = l.complete || l.stream === 'input'; // an input send is whole as sent
      if (!settled && !o.openLinesAtOnce) return true; // left open: following tests it once quiet
      if (o.pattern.test(text(l))) return !(hit = l);
      if (settled) o.onPassed?.(l);
      return true;
    },
    { keepBytes: MATCH_BYTES },
  );
  o.afterRead?.(sel);
  if (hit) return { hit, end: 'found', followed: false, cursor: sel.end, open: sel.open ?? [] };

  // From here only new lines come: --since no longer filters. A line still open counts too
  // (a prompt waits for input without a newline).
  const wanted = (l: Line) => matches({ ...o.query, sinceMs: undefined }, l);
  const hits = (l: Line) => wanted(l) && o.pattern.test(text(l));
  const onLine = (l: Line) => {
    if (hits(l)) return !(hit = l);
    if (wanted(l)) o.onPassed?.(l);
    return true;
  };
  o.beforeFollow?.();
  const res = await follow({
    activeFile: o.activeFile,
    reader: o.reader,
    from: sel.end,
    open: sel.open,
    running: o.running,
    timeoutMs: o.timeoutMs,
    statusEveryMs: o.statusEveryMs,
    onLine,
    onPartial: (l) => !(hits(l) && (hit = l)),
    partialQuietMs: PROMPT_QUIET_MS, // quiet: not half of a line
    onGap: o.onGap,
    keepBytes: MATCH_BYTES, // a line is held up to what the pattern sees, and shown so far
  });
  return { hit, end: hit ? 'found' : res.end, followed: true, cursor: res.cursor, open: res.open };
}

/** Why a wait for a line gave up (`end`: 'timeout', or the process ended), as get_logs says it. */
export function lineMissed(
  end: 'found' | FollowEnd,
  pattern: string | undefined,
  timeoutSec: number | undefined,
): string {
  return end === 'timeout'
    ? `no line matched /${pattern}/ within ${timeoutSec} s`
    : `the process ended before a line matched /${pattern}/`;
}
