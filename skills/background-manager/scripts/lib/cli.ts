// Shared by the entry scripts: yargs set up the same way everywhere, and one place that turns
// an error into a line on stderr and an exit code.
import yargs, { type Argv } from 'yargs';
import { BgError, EXIT } from './errors.ts';
import { KEK_PREFETCH, type KekPrefetch } from './crypto.ts';

export const EXIT_CODES_HELP = `Exit codes: 0 ok, 1 failed, 2 bad arguments, 3 BG_PASSWORD missing or wrong,
4 no such process (or ambiguous prefix), 5 not running, 6 damaged data, 7 data dir unusable.`;

export function makeParser(argv: string[], usage: string): Argv {
  return yargs(argv)
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
    .fail((msg, err) => {
      if (err && err.name !== 'YError') throw err;
      // One line on stderr: yargs spreads some messages ("Invalid values: ...") over several.
      // yargs names unknown flags without their dashes ("Unknown argument: bogus").
      const text = String(msg || err?.message)
        .replace(/\s*\n\s*/g, ' ')
        .trim()
        .replace(/^(Unknown arguments?: )(.*)$/, (_, head: string, names: string) => {
          // yargs lists a dashed flag twice, as given and camel-cased: keep the first.
          const given = names.split(', ').filter((n, _i, all) => !(/[A-Z]/.test(n) && all.some((m) => m.includes('-') && m.replace(/-(.)/g, (_x, c: string) => c.toUpperCase()) === n)));
          return `${given.length > 1 ? 'Unknown arguments: ' : 'Unknown argument: '}${given.map((n) => (n.length === 1 ? `-${n}` : `--${n}`)).join(', ')}`;
        });
      throw new BgError('USAGE', `${text}${/[.!?]$/.test(text) ? '' : '.'} Run with --help for usage.`);
    });
}

/** A user's regular expression; a bad one is a usage error naming the flag. */
export function compileRegex(flag: string, src: string): RegExp {
  try {
    return new RegExp(src);
  } catch (err) {
    throw new BgError('USAGE', `${flag} "${src}" is not a valid regular expression (${(err as Error).message}).`);
  }
}

/** Run an entry script's main: data to stdout, one error line to stderr, an exit code. */
export async function runMain(name: string, main: (argv: string[]) => Promise<number | void>): Promise<void> {
  // A reader that stops early (`| head -1`) is not an error of ours.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  try {
    // The fast path's launcher may have started the key derivation before this script loaded.
    await (globalThis as { [KEK_PREFETCH]?: KekPrefetch })[KEK_PREFETCH]?.ready;
    const code = await main(process.argv.slice(2));
    process.exitCode = code ?? EXIT.OK;
  } catch (err) {
    if (err instanceof BgError) {
      process.stderr.write(`${name}: error: ${err.message}\n`);
      process.exitCode = err.exitCode;
    } else {
      process.stderr.write(`${name}: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = EXIT.FAILED;
    }
  }
}
