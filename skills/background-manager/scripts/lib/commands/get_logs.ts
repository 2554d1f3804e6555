// get_logs: what a process printed: the last lines, what is new, what matches, or a wait
// until a line appears. Readable text by default, exact bytes with --raw. The options become
// a checked request and its plan in one step (ops/logs.ts); each mode of the plan is one function
// (log/read/read-modes.ts).
import fs from 'node:fs';
import { makeParser, typed, listHint } from '../cli/cli.ts';
import { openContext, type Context } from '../store/context.ts';
import { resolveProcess } from '../process/resolve.ts';
import { SHELL_HINTS } from '../install/hints.ts';
import { BgError } from '../errors.ts';
import { shellQuote } from '../util/format.ts';
import { logFileOf } from '../log/format/logset.ts';
import { matches } from '../log/read/logquery.ts';
import { SyncOut } from '../log/read/syncout.ts';
import { linesOf, type Line } from '../log/read/lines.ts';
import { LineWriter } from '../log/read/line-writer.ts';
import { decryptOpenssl, isOpensslFile } from '../store/legacy.ts';
import { showScreen } from '../log/read/screen-show.ts';
import { STREAM_CHOICES, type ReadPlan } from '../log/read/read-plan.ts';
import {
  checkLogs,
  checkScreenable,
  checkStream,
  hiddenSecretsNote,
  redactPlan,
  logKeys,
  type CheckedLogs,
  type LineOption,
  type LogsWords,
} from '../ops/logs.ts';
import { DEFAULT_LINES } from '../ops/defaults.ts';
import { currentRecord, followLog, readOnce, waitForMatch, type ReadRun } from '../log/read/read-modes.ts';
import { isLogging } from '../process/status.ts';
import { grepContextOf, separatorOf } from '../log/read/context.ts';
import { Digest, type DigestResult } from '../log/read/digest.ts';
import { DigestSource } from '../log/read/digest-source.ts';
import { digestNote, digestRules, type DigestWords } from '../ops/digest.ts';

function parse(argv: string[]) {
  return makeParser(
    argv,
    'Usage: $0 <id> [-n LINES] [options]\n\nPrints what a process printed (stdout and stderr), while it runs or after it ended.\nTerminal escape sequences and \\r redraws are rendered away unless --raw is given.',
  )
    .option('n', {
      alias: 'lines',
      type: 'number',
      describe: `Lines from the end (default ${DEFAULT_LINES}; 0 for all). With --new or --since: no limit unless given. With -A/-B/-C: matches, not lines. Not with --wait-for`,
      requiresArg: true,
    })
    .option('raw', {
      type: 'boolean',
      defaultDescription: 'false',
      describe: 'The exact bytes the process wrote (secrets still hidden unless --reveal)',
    })
    .option('reveal', {
      type: 'boolean',
      defaultDescription: 'false',
      describe:
        'Show secrets as written. Without it each secret (known token formats, private keys, the values of --env NAME=VALUE with a secret-looking NAME and of --secret-env) is shown as [REDACTED:kind], and --grep and --wait-for match that text',
    })
    .option('follow', {
      alias: 'f',
      type: 'boolean',
      defaultDescription: 'false',
      describe:
        'Keep printing new output until the process ends; a line without a newline yet (a prompt) shows once quiet for 0.2 s',
    })
    .option('new', {
      type: 'boolean',
      defaultDescription: 'false',
      describe:
        'Only output not shown by an earlier --new read of this process (one position per --stream/--grep view)',
    })
    .option('since', {
      type: 'string',
      describe: 'Only output since 30s, 5m, 2h, 1d ago, or an ISO time',
      requiresArg: true,
    })
    .option('timestamps', {
      alias: 't',
      type: 'boolean',
      defaultDescription: 'false',
      describe: 'Prefix each line with the time it arrived',
    })
    .option('stream', {
      type: 'string',
      defaultDescription: '"output"',
      choices: Object.keys(STREAM_CHOICES),
      describe: 'Which records: output (stdout+stderr), stdout, stderr, input, events, all',
    })
    .option('grep', { type: 'string', describe: 'Only lines matching this regular expression', requiresArg: true })
    .option('A', {
      alias: 'after-context',
      type: 'number',
      describe: 'With --grep: also N lines after each match; "--" between groups that are not adjacent',
      requiresArg: true,
    })
    .option('B', {
      alias: 'before-context',
      type: 'number',
      describe: 'With --grep: also N lines before each match (with -f: from lines already read too)',
      requiresArg: true,
    })
    .option('C', {
      alias: 'context',
      type: 'number',
      describe:
        'With --grep: N lines before and after each match (-A, -B override it). -n then counts matches, not lines',
      requiresArg: true,
    })
    .option('wait-for', {
      type: 'string',
      describe:
        'Wait until a line (a prompt without a newline too; of a full-screen program, a screen row too) matches this regular expression; print it (with --new: every new line up to it). Exit 1 on --timeout, 5 if the process ends first',
      requiresArg: true,
    })
    .option('timeout', {
      type: 'number',
      describe: 'With --wait-for or --follow: give up after this many seconds',
      requiresArg: true,
    })
    .option('screen', {
      type: 'boolean',
      defaultDescription: 'false',
      describe:
        'PTY processes: the terminal screen as it stands (or stood at the end), rows with trailing spaces trimmed. With --wait-for: wait until the screen matches',
    })
    .option('cursor', {
      type: 'boolean',
      defaultDescription: 'false',
      describe:
        'With --screen: start every row with a two-character gutter, "▶│" on the cursor\'s row and " │" on the others',
    })
    .option('attrs', {
      type: 'boolean',
      defaultDescription: 'false',
      describe:
        'With --screen: mark reverse video, bold, underline and cells coloured unlike the rest of their row as ⟦FLAGS:text⟧ (FLAGS: r b u c; the program\'s own ⟦ ⟧ \\ written \\⟦ \\⟧ \\\\); --wait-for then matches the marked rows; with --json: "spans"',
    })
    .option('budget', {
      type: 'number',
      describe:
        'A digest of the lines read in about this many tokens (4 characters each; 250 or more): repeats folded with counts, errors, warnings, stack traces and failed tests kept whole, head and tail kept, then a note of what was left out and a narrower read. With --new, --since, --grep, --stream, -n (default: all lines)',
      requiresArg: true,
    })
    .option('json', {
      type: 'boolean',
      defaultDescription: 'false',
      describe: 'One JSON object per line: {"time","stream","text"}, "partial":true on a line without a newline yet',
    })
    .example('$0 a1b2', `Last ${DEFAULT_LINES} lines`)
    .example('$0 a1b2 -n 0 --raw > out.bin', 'Everything, byte for byte')
    .example('$0 a1b2 --new', 'Only what arrived since the last --new read')
    .example('$0 a1b2 -f --grep ERROR', 'Watch for errors as they happen')
    .example('$0 a1b2 --grep Traceback -A 20 -n 3', 'The last 3 tracebacks, 20 lines after each')
    .example("$0 a1b2 --wait-for 'listening on' --timeout 30", 'Block until the server is ready')
    .example('$0 a1b2 --budget 2000', 'The whole log in about 2,000 tokens, errors kept whole')
    .example('$0 a1b2 --stream all -t', 'Output, input and events, with times')
    .example("$0 a1b2 --screen --wait-for 'Pick one' --timeout 10", 'Wait until a menu is drawn, then print the screen')
    .example('$0 a1b2 --screen --attrs', 'The screen with the highlighted menu item marked, as ⟦r:Beta⟧')
    .demandCommand(1, 1, `give the process ID or name (${listHint()}).`, 'give one process ID.')
    .parseAsync();
}

type Args = Awaited<ReturnType<typeof parse>>;

/** How the script names get_logs' options in its messages (ops/logs.ts LogsWords). */
export const WORDS: LogsWords = {
  lines: '-n',
  since: '--since',
  timeout: '--timeout',
  waitFor: '--wait-for',
  grep: '--grep',
  before: '-B',
  after: '-A',
  context: '-A, -B and -C',
  new: '--new',
  screen: '--screen',
  stream: '--stream',
  cursor: '--cursor',
  attrs: '--attrs',
  follow: '--follow',
  gives: 'prints',
  upTo: 'every new line up to it',
  noPty: '--no-pty',
  budget: '--budget',
};

/** Each yargs key of a line option (an alias too) and the request field it sets. */
const LINE_KEYS: Record<string, LineOption> = {
  n: 'lines',
  lines: 'lines',
  raw: 'raw',
  follow: 'follow',
  f: 'follow',
  new: 'new',
  since: 'since',
  t: 'timestamps',
  timestamps: 'timestamps',
  stream: 'stream',
  grep: 'grep',
  A: 'after',
  'after-context': 'after',
  B: 'before',
  'before-context': 'before',
  C: 'before',
  context: 'before',
  budget: 'budget',
};

/**
 * The line options given, in the order typed, each as typed ("-f" or "--follow"): yargs sets a
 * key when it meets its flag, the spelling typed first, then its alias (and no defaults are set).
 */
function givenLineOptions(args: Args): Map<LineOption, string> {
  const given = new Map<LineOption, string>();
  for (const key of Object.keys(args)) {
    const option = LINE_KEYS[key];
    if (option && !given.has(option)) given.set(option, key.length === 1 ? `-${key}` : `--${key}`);
    if (option === 'before' && (key === 'C' || key === 'context') && !given.has('after')) given.set('after', `-${key}`);
  }
  return given;
}

/** The flags a number may have been typed with, for "(got ...)". */
const SHOWN_FLAGS = {
  lines: ['-n', '--lines'],
  timeout: ['--timeout'],
  before: ['-B', '--before-context', '-C', '--context'],
  after: ['-A', '--after-context', '-C', '--context'],
  budget: ['--budget'],
};

/** The parsed arguments as a get_logs request, checked (exit 2 for what does not apply). */
function checked(argv: string[], args: Args): CheckedLogs {
  const { raw, follow, since, timestamps, stream, grep, waitFor, screen, cursor, attrs, json, reveal } = args;
  // -C N is -A N -B N; an -A or -B given too wins (as grep has it).
  const req = {
    before: args.B ?? args.C,
    after: args.A ?? args.C,
    lines: args.n,
    raw,
    follow,
    new: args.new,
    since,
    timestamps,
    stream,
    grep,
    waitFor,
    screen,
    cursor,
    attrs,
    json,
    budget: args.budget,
    reveal,
  };
  return checkLogs(
    { ...req, timeoutSec: args.timeout },
    {
      ...WORDS,
      // -C N alone sets both: a bad N is named as typed.
      ...(args.C !== undefined && args.B === undefined ? { before: '-C' } : {}),
      ...(args.C !== undefined && args.A === undefined ? { after: '-C' } : {}),
      given: givenLineOptions(args),
      // A value as typed: yargs reads "abc" as NaN and an empty -n as 0.
      shown: (o, v) => typed(argv, v, ...SHOWN_FLAGS[o]),
    },
  );
}

export async function main(argv: string[]): Promise<number> {
  const args = await parse(argv);
  const checkedLogs = checked(argv, args);
  const { options, timeoutSec, cursor, attrs } = checkedLogs;
  const ctx = openContext({ create: false });
  const rec = resolveProcess(ctx.store.read(), String(args._[0]), SHELL_HINTS);
  checkStream(rec, options.stream, WORDS);
  const plan = redactPlan(checkedLogs.plan, rec, args.reveal);
  const out = new SyncOut();
  // --budget: every line read goes to the digest, printed once the read is over.
  const digest = plan.budget === undefined ? undefined : new Digest(digestRules(plan.budget));
  const source = digest && new DigestSource(plan.format.labelStreams, (l) => digest.push(l), plan.format.redact);
  const lines = new LineWriter(plan.format, (b) => out.write(b));
  const context =
    plan.context &&
    grepContextOf(
      { ...plan, context: plan.context },
      (l) => lines.line(l),
      () => out.write(Buffer.from(separatorOf(plan.format))),
      plan.mode === 'follow',
    );
  const write = source
    ? (line: Line) => source.line(line)
    : context
      ? (line: Line) => context.push(line)
      : (line: Line) => lines.line(line);
  const running = () => isLogging(currentRecord(ctx, rec));
  const run: ReadRun = {
    ctx,
    rec,
    activeFile: logFileOf(ctx.dataDir, rec),
    plan,
    out,
    write,
    // With context a line is held (as context) before it is known to be shown: never in pieces.
    piece: source ? (p) => source.piece(p) : context ? undefined : (p) => lines.piece(p),
    context,
    timeoutSec,
    waitForText: options.waitFor,
    said: new Set(),
    runningAtStart: isLogging(rec),
    running,
  };
  try {
    const code = await read(run, { cursor, attrs });
    if (digest) out.write(Buffer.from(digestText(digest.end(), plan.saveCursor)));
    return code;
  } finally {
    out.flush();
    const note = hiddenSecretsNote(plan, '--reveal');
    if (note) process.stderr.write(`get_logs: note: ${note}\n`);
  }
}

// The log of `run` read as its plan says, after the checks every mode needs.
async function read(run: ReadRun, marks: { cursor: boolean; attrs: boolean }): Promise<number> {
  const { ctx, rec, activeFile, plan } = run;
  if (rec.legacy && fs.statSync(activeFile, { throwIfNoEntry: false })?.size === 0) {
    // The Python skill's openssl stream was never flushed when it stopped a process: 0 bytes.
    process.stderr.write(
      `get_logs: note: the Python version of this skill recorded no output for ${rec.id} (its log is empty).\n`,
    );
    return 0;
  }
  if (isLegacyLog(activeFile)) {
    // Such a log has no MAC: only a process imported from the Python skill may have one.
    if (!rec.legacy) {
      throw new BgError(
        'DAMAGED',
        `${activeFile} is in the Python skill's unauthenticated format, but process ${rec.id} was started by this tool, whose logs never are: something put it in place of the real log, so it is not shown. Restore the log from a backup, or remove the process with remove_process.`,
      );
    }
    if (plan.mode === 'screen')
      throw new BgError(
        'USAGE',
        `--screen cannot replay process ${rec.id}'s log: the Python skill kept it as one openssl stream of text. Read it without --screen.`,
      );
    return showLegacy(ctx, activeFile, plan, run.write);
  }
  const keys = logKeys(ctx, rec);
  switch (plan.mode) {
    case 'screen': {
      checkScreenable(rec, WORDS);
      const screenOpts = {
        activeFile,
        keys,
        rec,
        ...marks,
        json: plan.format.json,
        waitFor: plan.waitFor,
        waitForText: run.waitForText,
        timeoutSec: run.timeoutSec,
        redact: plan.format.redact,
      };
      return await showScreen({ ...screenOpts, running: run.running, write: (t) => run.out.write(Buffer.from(t)) });
    }
    case 'wait-for':
      return await waitForMatch(run);
    case 'follow':
      return await followLog(run);
    case 'tail':
    case 'forward':
    case 'since':
      return await readOnce(run);
  }
}

/** The digest's lines and its closing note, as printed. */
function digestText(d: DigestResult, newRead: boolean): string {
  const body = d.lines.map((l) => `${l}\n`).join('');
  return `${body}${digestNote(d.stats, DIGEST_WORDS, { newRead, chars: body.length })}\n`;
}

/** How the script's note names the narrower reads it proposes. */
const DIGEST_WORDS: DigestWords = {
  ...WORDS,
  after: '-A',
  sep: ' ',
  option: (name, value) => `${name} ${typeof value === 'number' ? value : shellQuote(value)}`,
};

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
function showLegacy(ctx: Context, file: string, plan: ReadPlan, write: (l: Line) => void): number {
  const plain = decryptOpenssl(fs.readFileSync(file), ctx.password);
  if (plain && !plain.complete)
    process.stderr.write(
      `get_logs: note: ${file} (Python skill log) ends mid-stream; shown up to its last whole block.\n`,
    );
  const q = { ...plan.query, from: undefined, sinceMs: undefined };
  const lines = linesOf([
    { seq: 0, stream: 'stdout', time: 0, data: plain?.data ?? Buffer.alloc(0), offset: 0, end: 0 },
  ]).filter((l) => matches(q, l));
  for (const l of plan.legacyLines > 0 ? lines.slice(-plan.legacyLines) : lines) write(l);
  return 0;
}
