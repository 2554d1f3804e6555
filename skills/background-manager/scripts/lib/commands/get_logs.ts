// get_logs: what a process printed: the last lines, what is new, what matches, or a wait
// until a line appears. Readable text by default, exact bytes with --raw.
import fs from 'node:fs';
import { compileRegex, durationSec, makeParser, typed, listHint } from '../cli/cli.ts';
import { openContext } from '../store/context.ts';
import { resolveProcess } from '../process/resolve.ts';
import { isLogging } from '../process/status.ts';
import { BgError, EXIT } from '../cli/errors.ts';
import { LogSetReader, logFileOf, type Cursor } from '../log/logset.ts';
import { selectLines, streamLines, matches, type Query, type Selection } from '../log/logquery.ts';
import { SyncOut } from '../log/syncout.ts';
import { formatLine, lineText, linesOf, type FormatOptions, type Line } from '../log/lines.ts';
import { follow, PROMPT_QUIET_MS } from '../log/follow.ts';
import { decryptOpenssl, isOpensslFile } from '../store/legacy.ts';
import type { LogIssue, StreamName } from '../log/logfile.ts';
import type { ProcessRecord } from '../store/state.ts';
import { findRecord } from '../store/records.ts';
import type { Context } from '../store/context.ts';
import { showScreen } from '../log/screen-show.ts';

const STREAM_CHOICES: Record<string, StreamName[]> = {
  output: ['stdout', 'stderr'],
  stdout: ['stdout'],
  stderr: ['stderr'],
  input: ['input'],
  events: ['event'],
  event: ['event'],
  all: ['stdout', 'stderr', 'input', 'event'],
};

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

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

export async function main(argv: string[]): Promise<number> {
  const args = await makeParser(
    argv,
    "Usage: $0 <id> [-n LINES] [options]\n\nPrints what a process printed (stdout and stderr), while it runs or after it ended.\nTerminal escape sequences and \\r redraws are rendered away unless --raw is given.",
  )
    .option('n', { alias: 'lines', type: 'number', describe: 'Lines from the end (default 20; 0 for all). With --new or --since: no limit unless given. Not with --wait-for', requiresArg: true })
    .option('raw', { type: 'boolean', default: false, describe: 'The exact bytes the process wrote' })
    .option('follow', { alias: 'f', type: 'boolean', default: false, describe: 'Keep printing new output until the process ends; a line without a newline yet (a prompt) shows once quiet for 0.2 s' })
    .option('new', { type: 'boolean', default: false, describe: 'Only output not shown by an earlier --new read of this process (one position per --stream/--grep view)' })
    .option('since', { type: 'string', describe: 'Only output since 30s, 5m, 2h, 1d ago, or an ISO time', requiresArg: true })
    .option('timestamps', { alias: 't', type: 'boolean', default: false, describe: 'Prefix each line with the time it arrived' })
    .option('stream', { type: 'string', default: 'output', choices: Object.keys(STREAM_CHOICES), describe: 'Which records: output (stdout+stderr), stdout, stderr, input, events, all' })
    .option('grep', { type: 'string', describe: 'Only lines matching this regular expression', requiresArg: true })
    .option('wait-for', { type: 'string', describe: 'Wait until a line (a prompt without a newline too) matches this regular expression; print it (with --new: every new line up to it). Exit 1 on --timeout, 5 if the process ends first', requiresArg: true })
    .option('timeout', { type: 'number', describe: 'With --wait-for or --follow: give up after this many seconds', requiresArg: true })
    .option('screen', { type: 'boolean', default: false, describe: 'PTY processes: the terminal screen as it stands (or stood at the end), rows with trailing spaces trimmed. With --wait-for: wait until the screen matches' })
    .option('cursor', { type: 'boolean', default: false, describe: 'With --screen: mark the cursor row with "> " (every other row gets two spaces)' })
    .option('json', { type: 'boolean', default: false, describe: 'One JSON object per line: {"time","stream","text"}, "partial":true on a line without a newline yet' })
    .example('$0 a1b2', 'Last 20 lines')
    .example('$0 a1b2 -n 0 --raw > out.bin', 'Everything, byte for byte')
    .example('$0 a1b2 --new', 'Only what arrived since the last --new read')
    .example('$0 a1b2 -f --grep ERROR', 'Watch for errors as they happen')
    .example("$0 a1b2 --wait-for 'listening on' --timeout 30", 'Block until the server is ready')
    .example('$0 a1b2 --stream all -t', 'Output, input and events, with times')
    .example("$0 a1b2 --screen --wait-for 'Pick one' --timeout 10", 'Wait until a menu is drawn, then print the screen')
    .demandCommand(1, 1, `give the process ID or name (${listHint()}).`, 'give one process ID.')
    .parseAsync();

  const nGiven = args.n !== undefined;
  const lines = args.n ?? 20;
  if (!Number.isInteger(lines) || lines < 0) {
    throw new BgError('USAGE', `-n must be a whole number of lines, 0 or more (got ${typed(argv, lines, '-n', '--lines')}).`);
  }
  const sinceMs = args.since === undefined ? undefined : parseSince(args.since);
  if (args.since !== undefined && sinceMs === undefined) {
    throw new BgError('USAGE', `--since "${args.since}" is not a time: use 30s, 5m, 2h, 1d or an ISO time like 2026-01-31T12:00:00Z.`);
  }
  if (args.timeout !== undefined) durationSec(argv, '--timeout', args.timeout, true);
  if (nGiven && args.waitFor !== undefined) {
    throw new BgError('USAGE', '-n does not apply to --wait-for, which prints the matching line (with --new, every new line up to it). Leave out -n.');
  }
  if (args.timeout !== undefined && !args.follow && args.waitFor === undefined) {
    throw new BgError('USAGE', '--timeout applies only to --follow and --wait-for; without them get_logs returns at once.');
  }
  checkScreenFlags(argv, args);
  const grep = args.grep === undefined ? undefined : compileRegex('--grep', args.grep);
  const waitFor = args.waitFor === undefined ? undefined : compileRegex('--wait-for', args.waitFor);
  const streams = new Set(STREAM_CHOICES[args.stream]!);
  // --new keeps a position per view (what --stream and --grep select), so that reading the
  // errors with --new --grep does not mark the other lines as read for a plain --new.
  const view = args.stream === 'output' && !grep ? undefined : `${[...streams].join('+')}${grep ? ` grep${args.raw ? ' raw' : ''} ${args.grep}` : ''}`;
  const fmt: FormatOptions = { raw: args.raw, json: args.json, timestamps: args.timestamps, labelStreams: args.stream === 'all' };

  const ctx = openContext({ create: false });
  const rec = resolveProcess(ctx.store.read(), String(args._[0]));
  // Under a PTY the terminal carries both streams as one: an empty answer would read as "no errors".
  if (rec.pty && args.stream === 'stderr') {
    throw new BgError('USAGE', 'stderr is merged into the terminal for PTY processes; start with --no-pty to keep it apart (--stream output shows it with the rest).');
  }
  const activeFile = logFileOf(ctx.dataDir, rec);
  const out = new SyncOut();
  const write = (line: Line) => out.write(formatLine(line, fmt));
  try {
    if (rec.legacy && fs.statSync(activeFile, { throwIfNoEntry: false })?.size === 0) {
      // The Python skill's openssl stream was never flushed when it stopped a process: 0 bytes.
      process.stderr.write(`get_logs: note: the Python version of this skill recorded no output for ${rec.id} (its log is empty).\n`);
      return 0;
    }
    if (isLegacyLog(activeFile)) {
      // Such a log has no MAC: only a process imported from the Python skill may have one.
      if (!rec.legacy) {
        throw new BgError('DAMAGED', `${activeFile} is in the Python skill's unauthenticated format, but process ${rec.id} was started by this tool, whose logs never are: something put it in place of the real log, so it is not shown. Restore the log from a backup, or remove the process with remove_process.`);
      }
      if (args.screen) throw new BgError('USAGE', `--screen cannot replay process ${rec.id}'s log: the Python skill kept it as one openssl stream of text. Read it without --screen.`);
      return showLegacy(ctx, activeFile, { streams, lines: nGiven ? lines : 20, grep, raw: args.raw, sinceMs }, write);
    }
    if (!ctx.unlocked) throw new BgError('DAMAGED', `${activeFile} needs key.json, which is missing. Restore it from a backup.`);
    if (args.screen) {
      const screenOpts = { activeFile, keys: ctx.unlocked.keys, rec, cursor: args.cursor, json: args.json, waitFor, waitForText: args.waitFor, timeoutSec: args.timeout };
      return await showScreen({ ...screenOpts, running: () => isLogging(currentRecord(ctx, rec)), write: (t) => out.write(Buffer.from(t)) });
    }
    return await show(ctx, rec, activeFile, write, out);
  } finally {
    out.flush();
  }

  async function show(ctx: Context, rec: ProcessRecord, activeFile: string, write: (l: Line) => void, out: SyncOut): Promise<number> {
    const reader = readerOf(ctx, rec, activeFile);
    const query: Query = {
      streams,
      sinceMs,
      grep,
      raw: args.raw,
      lines: nGiven ? lines : args.new || sinceMs !== undefined || waitFor ? 0 : 20,
      from: args.new ? (cursorOf(rec, view) ?? null) : waitFor ? null : undefined,
    };
    const running = isLogging(rec);
    // Without a line limit the output is streamed as it is read: a big log never sits in memory.
    let hit: Line | undefined;
    // --new --wait-for prints every new line up to the one that matches, so none is passed
    // over unseen; the next --new read goes on after that line.
    const upTo = args.new;
    let printedNew = 0;
    const printNew = (l: Line) => {
      printedNew++;
      write(l);
    };
    const sel: Selection = waitFor
      ? {
          ...streamLines(reader, { ...query, lines: 0 }, (l) => {
            if (!waitFor.test(lineText(l, args.raw))) {
              // An open line is printed once it ends (an input send is whole as sent).
              if (upTo && (l.complete || l.stream === 'input')) printNew(l);
              return true;
            }
            hit = l;
            return false;
          }),
          lines: [],
        }
      : query.lines === 0 && args.raw && !grep && !args.timestamps && !args.json && args.stream !== 'all' && !streams.has('event')
        ? copyRaw(reader, query, out)
        : query.lines === 0
          ? { ...streamLines(reader, query, write), lines: [] }
          : selectLines(reader, query);
    const said = new Set<string>(); // issue messages printed already
    let damaged = reportIssues(sel.issues, running, said);
    noteDropped(ctx, rec, sel, args.new ? cursorOf(rec, view) : undefined);

    const followOn = (onLine: (l: Line) => boolean, onPartial: (l: Line) => boolean, partialQuietMs: number) => {
      out.flush();
      out.immediate = true;
      return follow({
        activeFile,
        reader,
        from: sel.end,
        open: sel.open,
        shown: shownOpen,
        running: () => isLogging(currentRecord(ctx, rec)),
        timeoutMs: args.timeout === undefined ? undefined : args.timeout * 1000,
        onLine,
        onPartial,
        partialQuietMs,
      });
    };
    const wanted = (l: Line) => matches({ ...query, sinceMs: undefined }, l);
    // Lines left open by the read above that it printed (the filters hid the others).
    const shownOpen = waitFor ? [] : (sel.open ?? []).filter((l) => matches(query, l));

    if (waitFor) {
      if (hit) {
        if (upTo) for (const l of sel.open ?? []) if (wanted(l)) printNew(l); // begun before it, still open
        write(hit);
        await saveCursor(ctx, rec, args.new, view, sel.end);
        return damaged ? EXIT.DAMAGED : 0;
      }
      // A line still open counts too (a prompt waits for input without a newline).
      let found: Line | undefined;
      const hits = (l: Line) => wanted(l) && waitFor.test(lineText(l, args.raw));
      const onLine = (l: Line) => {
        if (hits(l)) return !(found = l);
        if (upTo && wanted(l)) printNew(l);
        return true;
      };
      const onPartial = (l: Line) => !(hits(l) && (found = l));
      const res = await followOn(onLine, onPartial, PROMPT_QUIET_MS); // quiet: not half of a line
      damaged = reportIssues(reader.issues, isLogging(currentRecord(ctx, rec)), said) || damaged;
      // Lines still open where it stopped (or timed out) are read now, so they are shown.
      if (upTo) for (const l of res.open) if (wanted(l)) printNew(l);
      await saveCursor(ctx, rec, args.new, view, res.cursor);
      if (found) {
        write(found);
        return damaged ? EXIT.DAMAGED : 0;
      }
      const why = res.end === 'timeout' ? `no line matched /${args.waitFor}/ within ${args.timeout} s` : `the process ended before a line matched /${args.waitFor}/`;
      if (upTo) {
        process.stderr.write(`get_logs: ${why}; ${printedNew ? 'what was new is printed above' : 'nothing new came'}.\n`);
        return res.end === 'timeout' ? EXIT.FAILED : EXIT.NOT_RUNNING;
      }
      process.stderr.write(`get_logs: ${why}; its last lines:\n`);
      const tail = selectLines(readerOf(ctx, rec, activeFile), { streams, raw: args.raw, lines: 20 });
      for (const l of tail.lines) write(l);
      return res.end === 'timeout' ? EXIT.FAILED : EXIT.NOT_RUNNING;
    }

    for (const l of sel.lines) write(l);
    if (args.follow) {
      const show = followWriter(fmt, shownOpen, (b) => out.write(b));
      const onLine = (l: Line) => {
        if (wanted(l)) show(l);
        return true;
      };
      const res = await followOn(onLine, onLine, PROMPT_QUIET_MS);
      damaged = reportIssues(reader.issues, isLogging(currentRecord(ctx, rec)), said) || damaged;
      await saveCursor(ctx, rec, args.new, view, res.cursor);
      return damaged ? EXIT.DAMAGED : 0;
    }
    await saveCursor(ctx, rec, args.new, view, sel.end);
    if (!fs.existsSync(activeFile) && !running && sel.lines.length === 0) process.stderr.write(`get_logs: process ${rec.id} has no log file.\n`);
    return damaged ? EXIT.DAMAGED : EXIT.OK;
  }
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
    if (l.complete) printed.delete(key);
    else printed.set(key, l.bytes.length);
    if (done === undefined) return formatLine(l, fmt);
    return Buffer.concat([l.bytes.subarray(done), l.complete ? Buffer.from('\n') : Buffer.alloc(0)]);
  };
  return (l) => write(exact ? rest(l) : formatLine(l, fmt));
}

// Every byte, as written: no lines to find, so records are copied straight out (fast).
function copyRaw(reader: LogSetReader, q: Query, out: SyncOut): Selection {
  const end = reader.forward(q.from ?? undefined, (rec) => {
    if (q.streams.has(rec.stream) && (q.sinceMs === undefined || rec.time >= q.sinceMs)) out.write(rec.data);
  });
  return { lines: [], end, reachedStart: !q.from, issues: reader.issues, bytesRead: reader.bytesRead };
}

/** --screen is the whole screen: the line options do not apply to it. */
function checkScreenFlags(argv: string[], args: { screen: boolean; cursor: boolean }): void {
  if (args.cursor && !args.screen) throw new BgError('USAGE', '--cursor marks the cursor row of --screen: add --screen.');
  if (!args.screen) return;
  const clash = argv.find((a) => /^(-n\d*|--lines|--raw|--follow|-f|--new|--since|-t|--timestamps|--stream|--grep)(=|$)/.test(a));
  if (clash) throw new BgError('USAGE', `--screen prints the whole screen as it stands; ${clash.replace(/=.*/, '')} applies to lines. Leave out one of them.`);
}

function isLegacyLog(file: string): boolean {
  try {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK); // a FIFO must not block
    const head = Buffer.alloc(16);
    const n = fs.readSync(fd, head, 0, 16, 0);
    fs.closeSync(fd);
    return n === 16 && isOpensslFile(head);
  } catch {
    return false;
  }
}

// The Python skill's log: one openssl stream, decrypted whole (it has no records to seek by).
function showLegacy(ctx: Context, file: string, q: Query, write: (l: Line) => void): number {
  const plain = decryptOpenssl(fs.readFileSync(file), ctx.password);
  if (plain && !plain.complete) process.stderr.write(`get_logs: note: ${file} (Python skill log) ends mid-stream; shown up to its last whole block.\n`);
  const lines = linesOf([{ seq: 0, stream: 'stdout', time: 0, data: plain?.data ?? Buffer.alloc(0), offset: 0, end: 0 }]).filter((l) => matches({ ...q, sinceMs: undefined }, l));
  for (const l of q.lines > 0 ? lines.slice(-q.lines) : lines) write(l);
  return 0;
}

function currentRecord(ctx: Context, rec: ProcessRecord): ProcessRecord {
  try {
    return findRecord(ctx.store.read(), rec.id) ?? rec;
  } catch {
    return rec;
  }
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
function readerOf(ctx: Context, rec: ProcessRecord, activeFile: string): LogSetReader {
  return new LogSetReader(activeFile, ctx.unlocked!.keys, rec.id, { endSeq: rec.logEnd, chained: rec.logVersion === 2 });
}

/** Where the last --new read of this view stopped. */
function cursorOf(rec: ProcessRecord, view: string | undefined): Cursor | undefined {
  return view === undefined ? rec.newCursor : rec.newCursors?.[view];
}

function noteDropped(ctx: Context, rec: ProcessRecord, sel: Selection, newFrom: Cursor | undefined): void {
  const dropped = currentRecord(ctx, rec).logDropped;
  if (!dropped || dropped.bytes === 0) return;
  const missedByNew = newFrom && sel.lines.length > 0 && sel.reachedStart === false;
  if (sel.reachedStart || missedByNew) {
    process.stderr.write(`get_logs: note: ${mib(dropped.bytes)} of the oldest output (${dropped.records} records) was dropped to keep the log under its ${mib(rec.maxLogSize ?? 0)} cap.\n`);
  }
}

/** Views (other than the default) whose --new position is kept, per process; the oldest go. */
const MAX_VIEWS = 16;

async function saveCursor(ctx: Context, rec: ProcessRecord, isNew: boolean, view: string | undefined, end: Selection['end']): Promise<void> {
  if (!isNew || !end || !ctx.unlocked) return;
  await ctx.store.update((doc) => {
    const r = findRecord(doc, rec.id);
    if (!r) return;
    if (view === undefined) {
      r.newCursor = end;
      return;
    }
    const views = { ...r.newCursors };
    delete views[view]; // set again below: the newest last
    const keep = Object.keys(views).slice(-(MAX_VIEWS - 1));
    r.newCursors = Object.fromEntries([...keep.map((k) => [k, views[k]!] as const), [view, end]]);
  });
}
