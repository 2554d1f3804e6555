// Shared by the entry scripts: yargs set up the same way everywhere, and one place that turns
// an error into a line on stderr and an exit code.
import yargs, { type Argv } from 'yargs';
import { BgError, EXIT } from '../errors.ts';
import { fastPathGlobals, KEK_PREFETCH } from '../install/fastpath.ts';
import { howToRun, SHELL_HINTS } from '../install/hints.ts';
import { oneLine, shownMessage } from '../util/format.ts';

export const EXIT_CODES_HELP = `Exit codes: 0 ok, 1 failed, 2 bad arguments, 3 BG_PASSWORD missing, wrong or not UTF-8,
4 no such process (or ambiguous prefix), 5 not running, 6 damaged data, 7 data dir unusable (or disk full).`;

const SCRIPTS = new Set([
  'start_process',
  'list_processes',
  'get_logs',
  'stop_process',
  'send_input',
  'restart_process',
  'remove_process',
  'wait_process',
  'watch_processes',
  'change_password',
  'mcp_server',
  'dashboard',
]);

/** How the running script is called from here ($0 in usage and examples), so help runs as printed. */
function scriptName(): string | undefined {
  const base = (process.argv[1] ?? '').replace(/^.*\//, '').replace(/\.(ts|mjs)$/, '');
  return SCRIPTS.has(base) ? howToRun(base) : undefined;
}

/** `list them with: <command>`: the list_processes hint that ends the "give an ID" errors. */
export const listHint = (): string => `list them with: ${SHELL_HINTS.call('list_processes')}`;

export function makeParser(argv: string[], usage: string): Argv {
  const parser = yargs(argv);
  const name = scriptName();
  if (name) parser.scriptName(name);
  return (
    parser
      .usage(usage)
      // Flags are checked strictly; each script checks its own positional arguments.
      .strictOptions()
      // Positionals are text (IDs, commands, input): "007" or "1e3" must stay as typed.
      .parserConfiguration({ 'parse-positional-numbers': false })
      .version(false)
      .help('help')
      .alias('help', 'h')
      // No wrapping: an example broken across lines could not be copied as it stands.
      .wrap(null)
      .epilogue(`Needs BG_PASSWORD in the environment; BG_DATA_DIR moves the data dir.\n${EXIT_CODES_HELP}`)
      .fail((msg, err, y) => {
        if (err && err.name !== 'YError') throw err;
        // yargs hands fail() its usage object: the described options are the known ones.
        const known = Object.keys(
          (y as unknown as { getDescriptions?: () => Record<string, unknown> }).getDescriptions?.() ?? {},
        ).filter((k) => k.length > 1 && !/[A-Z]/.test(k));
        let hint = '';
        // One line on stderr: yargs spreads some messages ("Invalid values: ...") over several.
        // yargs names unknown flags without their dashes ("Unknown argument: bogus").
        const text = String(msg || err?.message)
          .replace(/\s*\n\s*/g, ' ')
          .trim()
          .replace(/^(Unknown arguments?: )(.*)$/, (_all, _head: string, names: string) => {
            // yargs lists a dashed flag twice, as given and camel-cased: keep the first.
            const given = names
              .split(', ')
              .filter(
                (n, _i, all) =>
                  !(
                    /[A-Z]/.test(n) &&
                    all.some((m) => m.includes('-') && m.replace(/-(.)/g, (_x, c: string) => c.toUpperCase()) === n)
                  ),
              );
            const guesses = given.map((n) => closest(n, known)).filter((g): g is string => !!g);
            if (guesses.length) hint = ` Did you mean ${guesses.map((g) => `--${g}`).join(', ')}?`;
            return `${given.length > 1 ? 'Unknown arguments: ' : 'Unknown argument: '}${given.map((n) => (n.length === 1 ? `-${n}` : `--${n}`)).join(', ')}`;
          });
        throw new BgError('USAGE', `${text}${/[.!?]$/.test(text) ? '' : '.'}${hint} Run with --help for usage.`);
      })
  );
}

/** The known option nearest to a mistyped one (at most 2 edits, or a transposition), if any. */
function closest(typo: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    const d = distance(typo, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return typo.length > 2 && bestD <= Math.min(2, typo.length - 2) ? best : undefined;
}

// Edit distance, a swap of two neighbours counting as one edit (--singal for --signal).
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** A number option as it was typed, for messages (yargs makes "abc" NaN). */
export function typed(argv: string[], value: number, ...flags: string[]): string {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    for (const f of flags) {
      if (a === f) return oneLine(argv[i + 1] ?? String(value));
      if (a.startsWith(`${f}=`)) return oneLine(a.slice(f.length + 1));
    }
  }
  return String(value);
}

/** Run an entry script's main: data to stdout, one error line to stderr, an exit code. */
export async function runMain(name: string, main: (argv: string[]) => Promise<number | void>): Promise<void> {
  // A reader that stops early (`| head -1`) is not an error of ours.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  try {
    // The fast path's launcher may have started the key derivation before this script loaded.
    await fastPathGlobals[KEK_PREFETCH]?.ready;
    const code = await main(process.argv.slice(2));
    process.exitCode = code ?? EXIT.OK;
  } catch (err) {
    if (err instanceof BgError) {
      // Each line of it as oneLine shows it: an ID, a path or a flag's value echoed in it can
      // neither drive the terminal nor reorder the line.
      process.stderr.write(`${name}: error: ${shownMessage(err.message)}\n`);
      process.exitCode = err.exitCode;
    } else {
      // One line, escaped as ours are (a message may echo anything); the stack only with BG_DEBUG.
      const message = err instanceof Error ? err.message : String(err);
      const stack = process.env.BG_DEBUG && err instanceof Error && err.stack ? `\n${shownMessage(err.stack)}` : '';
      process.stderr.write(
        `${name}: internal error: ${oneLine(message)}${stack ? '' : ' (set BG_DEBUG=1 for its stack trace)'}${stack}\n`,
      );
      process.exitCode = EXIT.FAILED;
    }
  }
}
