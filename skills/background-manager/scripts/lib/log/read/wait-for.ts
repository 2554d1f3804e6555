// Wait until a line of a log matches a pattern: get_logs --wait-for and start_process /
// restart_process --wait-for share this. What is in the log already is read first (as a
// selection, so --new and --since apply), then the log is followed as it grows. With `screen`
// (a PTY process), a row of the alternate screen matches too, once the program shows one.
import { follow, PROMPT_QUIET_MS, type FollowEnd } from './follow.ts';
import { lineText, MATCH_BYTES, type Line } from './lines.ts';
import { matches, streamLines, type Query, type Selection } from './logquery.ts';
import type { Cursor, Gap, LogSetReader } from '../format/logset.ts';
import { ScreenWatch } from './screen-watch.ts';
import { REPLAY_CAP } from './screen.ts';
import type { LogRecord } from '../format/logfile.ts';

const SWITCH = Buffer.from('\x1b[?'); // where an alternate-screen switch may be
const CURSOR_TO = /\x1b\[\d*;\d*[Hf]/;

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
  /**
   * The output is a terminal's (a PTY process): once the program enters the alternate screen,
   * whichever comes first matches, a line or a row of that screen (screen-watch.ts).
   */
  screen?: boolean;
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
  /** No match, and the program was showing the alternate screen at the end: its rows. */
  screen?: string[];
}

export async function waitForLine(o: WaitForLineOptions): Promise<WaitForLineResult> {
  const watch = o.screen && o.query.streams.has('stdout') ? new ScreenWatch() : undefined;
  try {
    return await waitWatching(o, watch);
  } finally {
    watch?.dispose();
  }
}

async function waitWatching(o: WaitForLineOptions, watch: ScreenWatch | undefined): Promise<WaitForLineResult> {
  const text = (l: Line) => lineText(l, o.query.raw, o.query.redact);
  let hit: Line | undefined;
  // A line left open with input sent after it is a prompt already answered (the REPL's `>>> `
  // before `print(6*7)` was echoed): it matches only once more of it comes, never as it stands.
  const lastSeq = new Map<string, number>();
  let moved = false; // a --new read met cursor moves (replayFromSwitch)
  const answered = (l: Line) => (lastSeq.get('input') ?? -1) > (lastSeq.get(l.stream) ?? -1);
  const sel = streamLines(
    o.reader,
    { ...o.query, lines: 0 },
    (l) => {
      const settled = l.complete || l.stream === 'input'; // an input send is whole as sent
      // Left open: following tests it once quiet (and, if answered, once it has grown).
      if (!settled && (!o.openLinesAtOnce || answered(l))) return true;
      if (o.pattern.test(text(l))) return !(hit = l);
      if (settled) o.onPassed?.(l);
      return true;
    },
    {
      keepBytes: MATCH_BYTES,
      onRecord: (rec) => {
        if (rec.data.length) lastSeq.set(rec.stream, rec.seq);
        watch?.feed(rec);
        moved ||= !!watch && !!o.query.from && movesCursor(rec);
      },
    },
  );
  if (watch && moved && !watch.showing) replayFromSwitch(o.reader, sel.end, watch);
  o.afterRead?.(sel);
  hit ??= await screenHit(o, watch);
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
  // The screen is matched after each batch of output, one check at a time; a hit stops following.
  const found = new AbortController();
  const screenCheck = watch && checkEach(o, watch, found);
  o.beforeFollow?.();
  const res = await follow({
    activeFile: o.activeFile,
    reader: o.reader,
    from: sel.end,
    open: sel.open,
    shown: sel.open?.filter(answered),
    running: o.running,
    timeoutMs: o.timeoutMs,
    statusEveryMs: o.statusEveryMs,
    onLine,
    onPartial: (l) => !(hits(l) && (hit = l)),
    partialQuietMs: PROMPT_QUIET_MS, // quiet: not half of a line
    onGap: o.onGap,
    keepBytes: MATCH_BYTES, // a line is held up to what the pattern sees, and shown so far
    onRecord: screenCheck?.onRecord,
    signal: found.signal,
  });
  // A check under way, and a last one of the screen as it stands where following ended.
  hit ??= (await screenCheck?.settled()) ?? (await screenHit(o, watch));
  if (hit) return { hit, end: 'found', followed: true, cursor: res.cursor, open: res.open };
  const rows = watch?.showing ? await watch.rows() : undefined;
  return { end: res.end, followed: true, cursor: res.cursor, open: res.open, ...(rows ? { screen: rows } : {}) };
}

/**
 * A read that starts at `from` (--new) may start inside an alternate-screen session whose
 * switch an earlier read passed, so the watch never saw it. When the read met cursor moves (a
 * full-screen program draws with them; a REPL does not, so it pays nothing), the watch is fed
 * again from the newest switch before `end` (at most REPLAY_CAP bytes), oldest first.
 */
function replayFromSwitch(reader: LogSetReader, end: Cursor | undefined, watch: ScreenWatch): void {
  const recs: LogRecord[] = [];
  let bytes = 0;
  reader.backward((rec) => {
    if ((end && rec.seq >= end.seq) || rec.stream !== 'stdout') return true;
    recs.push(rec);
    bytes += rec.data.length;
    return !rec.data.includes(SWITCH) && bytes < REPLAY_CAP;
  });
  watch.restart();
  for (let i = recs.length - 1; i >= 0; i--) watch.feed(recs[i]!);
}

/** Whether output moves the cursor to a place (CSI row;col H): how full-screen programs draw. */
function movesCursor(rec: LogRecord): boolean {
  return rec.stream === 'stdout' && rec.data.includes(0x1b) && CURSOR_TO.test(rec.data.toString('latin1'));
}

/** A row of the alternate screen that matches, as a line the query selects; undefined if none. */
async function screenHit(o: WaitForLineOptions, watch: ScreenWatch | undefined): Promise<Line | undefined> {
  const row = await watch?.match(o.pattern, o.query.redact);
  return row && matches({ ...o.query, sinceMs: undefined }, row) ? row : undefined;
}

/** Match the screen after each record that may change it, a check at a time; a hit aborts `found`. */
function checkEach(o: WaitForLineOptions, watch: ScreenWatch, found: AbortController) {
  let hit: Line | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  const check = async () => {
    do {
      again = false;
      hit = await screenHit(o, watch);
    } while (!hit && again);
    running = undefined;
    if (hit) found.abort();
  };
  return {
    onRecord: (rec: Parameters<ScreenWatch['feed']>[0]) => {
      watch.feed(rec);
      if (!watch.showing || found.signal.aborted) return;
      if (running) again = true;
      else running = check();
    },
    /** The hit, once any check under way is done. */
    settled: async () => {
      await running;
      return hit;
    },
  };
}

/**
 * Why a wait for a line gave up (`end`: 'timeout', or the process ended), as get_logs says it;
 * `screen`: the program was showing the alternate screen, whose rows were matched too.
 */
export function lineMissed(
  end: 'found' | FollowEnd,
  pattern: string | undefined,
  timeoutSec: number | undefined,
  screen = false,
): string {
  const what = screen ? 'line or screen row' : 'line';
  return end === 'timeout'
    ? `no ${what} matched /${pattern}/ within ${timeoutSec} s`
    : `the process ended before a ${what} matched /${pattern}/`;
}
