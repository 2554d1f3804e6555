// get_logs --budget (script) and budget (MCP): the rules of the digest, once. What counts as an
// error or a warning (never folded), what goes on a kept block (stack frames of JS, Python, Go,
// Java and Rust; failed test reports of node --test, pytest, jest/vitest and go test), what
// varies between near-repeats, how big each part is, which options it works with, and the
// closing note. log/read/digest.ts applies them.
import { BgError } from '../errors.ts';
import type { DigestRules, DigestStats, KeepKind } from '../log/read/digest.ts';
import { count } from '../log/read/digest.ts';

/** A token is counted as this many characters (documented: the digest's size is budget × 4 characters). */
export const CHARS_PER_TOKEN = 4;
/** The smallest budget: room for a few lines and the closing note. */
export const MIN_BUDGET = 250;
export const MAX_BUDGET = 1_000_000;
/** Characters kept for the closing note. */
const NOTE_CHARS = 500;

// Errors: log levels, exceptions, panics, crashes, failed tests. A count of none ("0 errors",
// "fail 0") is not one.
const ERROR =
  /\bERR!|\b(?:ERROR|FATAL|CRITICAL|SEVERE|PANIC|EMERG|ALERT)\b|\b(?:[Ee]rror|[Ff]atal|[Pp]anic|[Ff]ailed|[Ff]ailure)\b\s*[:!\]]|\[(?:error|fatal|err|crit)\]|\b(?:[A-Z]\w*)?(?:Error|Exception|Failure)\b(?:[:;]|\s*$|\s\(|\s\[)|^\s*Traceback \(most recent call last\)|^panic: |^fatal error: |thread '[^']*' panicked at|^\s*not ok \d+|^\s*--- FAIL\b|^\s*FAIL\b|^FAILED |^=+ (?:FAILURES|ERRORS) =+$|^E {2,}|^\s*●\s|^\s*[✖✕×]\s|^\s*(?:#|ℹ) fail [1-9]|\bUncaught\b|\bUnhandled\b|Segmentation fault|core dumped|\bout of memory\b|\bfailed\b|\bcrash(?:ed)?\b/;
const NONE =
  /\b(?:0|no|zero) (?:errors?|failures?|failed|warnings?)\b|\b(?:errors?|fail(?:ed|ures?)?|warnings?)[:= ]+0\b/i;
const WARNING = /\b(?:WARN|WARNING)\b|\b[Ww]arn(?:ing)?\b\s*[:!\]]|\[warn(?:ing)?\]|\b\w*Warning\b|\bdeprecated\b/i;

// Lines that go on the kept block above them: stack frames and report details.
const CONTINUES =
  /^\s+at\s|^\s+File "|^Caused by:|^\s*\.\.\. \d+ (?:more|common frames)|^goroutine \d+ \[|^[\w./*()-]+\(.*\)$|^\s*stack backtrace:|^\s*\d+: \S|^During handling of the above exception|^The above exception was the direct cause|^\s*-->\s|^note: |^[>E] |^[\w/.-]+\.py:\d+: |^\s+\S+_test\.go:\d+: |^\s*(?:Expected|Received|expected|actual|operator|code):/;

// Sections whose lines are all kept: pytest's failures, node --test's list of failing tests, jest's summary.
const SECTION_OPEN = /^=+ (?:FAILURES|ERRORS) =+$|^\s*✖ failing tests:|^Summary of all failing tests/;
const SECTION_CLOSE = /^=+ short test summary info =+$|^=+ .*\b(?:passed|failed|error|errors)\b.* =+$|^\s*ℹ tests \d+/;

// What varies between near-repeats. A run of word characters (with . : + -) holding a digit,
// or 8 or more hex letters, is found first (fast); a run that is a UUID, an ID (8 or more
// letters, digits and dashes), a date, a time or 0x hex is one value, and in any other run each
// number is ("test_ok_{0 … 299}", "took {12 … 40}ms").
const RUNS = /(?<![\w.:+-])[\w.:+-]*\d[\w.:+-]*|(?<![\w-])[a-fA-F]{8,}(?![\w-])/g;
const WHOLE =
  /^(?:[A-Za-z0-9-]{8,}|\d{4}-\d\d-\d\d[T ]?[\d:.,+-]*Z?|\d{1,2}:\d\d(?::\d\d)?(?:[.,]\d+)?|0x[0-9a-fA-F]+)$/;
const NUMBER = /\d+(?:\.\d+)?/g;

/** The template of a line (its varying values replaced by U+0000), the values pushed on `values`. */
export function template(text: string, values: string[]): string {
  return text.replace(RUNS, (run) => {
    if (WHOLE.test(run) || !/\d/.test(run)) {
      values.push(run);
      return '\u0000';
    }
    return run.replace(NUMBER, (n) => {
      values.push(n);
      return '\u0000';
    });
  });
}

// The words every error or warning pattern needs one of: most lines are ruled out by this alone (fast).
const QUICK =
  /[Ee]rr|ERR|[Ff]atal|FATAL|[Pp]anic|PANIC|[Ff]ail|FAIL|Exception|Traceback|[Cc]rash|Uncaught|Unhandled|Segmentation|core dumped|out of memory|not ok|[Ww]arn|WARN|[Dd]eprecat|Warning|CRITICAL|SEVERE|EMERG|ALERT|^E {2}|[●✖✕×]/;

/** An error, a warning, or an ordinary line. */
export function classify(text: string): KeepKind | undefined {
  if (!QUICK.test(text)) return undefined;
  const error = ERROR.test(text);
  const warning = !error && WARNING.test(text);
  if (!error && !warning) return undefined;
  if (NONE.test(text)) return undefined;
  return error ? 'error' : 'warning';
}

/**
 * The MCP get_logs tool's digest when no lines are asked for and the answer would pass its bound
 * (mcp/result.ts: MCP_DEFAULT_LINES lines, MAX_TEXT_BYTES): this many tokens, of at most the
 * last MCP_DIGEST_LINES lines (a call must not read a whole big log unasked; new reads all
 * that is new). An explicit budget reads everything selected, as the script does.
 */
export const MCP_DEFAULT_BUDGET = 2000;
export const MCP_DIGEST_LINES = 10_000;
/** The MCP tool's largest budget: its answer stays within MAX_TEXT_BYTES (24 KiB). */
export const MCP_MAX_BUDGET = 6000;

/** The digest's rules for a budget of `budget` tokens (`reserve`: characters the caller adds besides the note). */
export function digestRules(budget: number, reserve = 0): DigestRules {
  const chars = budget * CHARS_PER_TOKEN - NOTE_CHARS - reserve;
  return {
    chars,
    classify,
    continues: (t) => CONTINUES.test(t),
    section: (t) => (SECTION_OPEN.test(t) ? 'open' : SECTION_CLOSE.test(t) ? 'close' : undefined),
    template,
    head: 5,
    tail: 10,
    before: 3,
    after: 3,
    lineChars: Math.max(200, Math.min(1000, Math.floor(chars / 6))),
    blockHead: 60,
    blockTail: 20,
    keptChars: Math.min(4 << 20, Math.max(64 << 10, chars * 4)),
    templates: 5000,
    distinct: 6,
  };
}

/** How a front end names the options the note proposes. */
export interface DigestWords {
  budget: string;
  since: string;
  grep: string;
  after: string;
  new: string;
  /** A flag and its value as typed: `--since 5m` or `since: "5m"`. */
  option: (name: string, value: string | number) => string;
  /** Between two options of one read: ' ' (the script) or ', ' (MCP). */
  sep: string;
}

/** A budget that can be met, or a usage error naming the range. */
export function checkBudget(budget: number | undefined, w: Pick<DigestWords, 'budget'>, shown = String(budget)): void {
  if (budget === undefined) return;
  if (!Number.isInteger(budget) || budget < MIN_BUDGET || budget > MAX_BUDGET)
    throw new BgError(
      'USAGE',
      `${w.budget} is a number of tokens (4 characters each) from ${MIN_BUDGET} to ${count(MAX_BUDGET)} (got ${shown}).`,
    );
}

function regexQuote(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The closing note: what was shown, folded and left out, and a narrower next read (--grep with
 * what it found, --since the first error), never a read of everything. At most NOTE_CHARS.
 */
export function digestNote(s: DigestStats, w: DigestWords, o: { newRead: boolean; chars: number }): string {
  const parts = [
    `digest of ${count(s.lines)} lines in ${count(o.chars)} characters: ${count(s.shown)} shown`,
    ...(s.folded ? [`${count(s.folded)} folded into ${count(s.groups)} line${s.groups === 1 ? '' : 's'}`] : []),
    `${count(s.omitted)} left out`,
  ];
  const kept = s.errors || s.warnings ? `; ${count(s.errors)} error and ${count(s.warnings)} warning lines` : '';
  const blocks = s.blocks
    ? ` in ${count(s.blocks)} block${s.blocks === 1 ? '' : 's'}, ${count(s.blocksShown)} shown`
    : '';
  const next: string[] = [];
  const words = s.found.slice(0, 4).map(regexQuote);
  if (words.length) next.push(`${w.option(w.grep, words.join('|'))}${w.sep}${w.option(w.after, 20)}`);
  const since = s.firstErrorTime ?? undefined;
  if (since !== undefined)
    next.push(`${w.option(w.since, new Date(since - 1000).toISOString())} (from the first error)`);
  if (!next.length) next.push(`${w.option(w.grep, 'PATTERN')} for the lines you need`, `a bigger ${w.budget}`);
  const moved = o.newRead ? `; the ${w.new} position moved to the end of this output` : '';
  if (s.lines === 0) return `[digest of 0 lines: nothing was selected${moved}]`;
  const note = `[${parts.join(', ')}${kept}${blocks}${moved}. Narrower: ${next.join(', or ')}]`;
  return note.length <= NOTE_CHARS ? note : `${note.slice(0, NOTE_CHARS - 2)}…]`;
}
