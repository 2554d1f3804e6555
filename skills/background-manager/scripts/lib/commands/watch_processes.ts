// watch_processes: print the data dir's events as they happen, for agent hosts that wake a model
// on each line (Claude Code's Monitor tool, plugin monitors) and for people. What a watch shows
// and how is ops/watch.ts; the loop is ops/watch-loop.ts; this script turns argv into the
// request, prints, and ends on SIGTERM/SIGINT (a --new view's place saved first).
import { makeParser } from '../cli/cli.ts';
import { cliFrontEnd } from '../cli/front-end.ts';
import { SHELL_HINTS } from '../install/hints.ts';
import { openContext } from '../store/context.ts';
import { checkWatch, WATCH_KINDS } from '../ops/watch.ts';
import { runWatch } from '../ops/watch-loop.ts';

/** --timeout passed (as wait_process's). */
export const EXIT_WATCH_TIMEOUT = 124;

export async function main(argv: string[]): Promise<number> {
  const args = await makeParser(
    argv,
    `Usage: $0 [ID|NAME ...] [--events LIST] [--match RE] [--json] [--reveal] [--new] [--until-idle] [--timeout S]\n\nPrints one line per event of the managed processes (all, or those named) as it happens:\n${WATCH_KINDS.join(', ')}.\nA flood is folded: at most 4 lines a second, the rest counted on one line. Runs until\nstopped (exit 0); --until-idle ends it once nothing it watches runs (exit 0); --timeout\nends it after S seconds (exit 124).`,
  )
    .option('events', {
      type: 'string',
      describe: `Only these events, comma-separated (${WATCH_KINDS.join(',')})`,
      requiresArg: true,
    })
    .option('match', {
      type: 'string',
      describe:
        'Also a line for output matching this regular expression (output events; at most one a second per process, the rest counted)',
      requiresArg: true,
    })
    .option('json', { type: 'boolean', default: false, describe: 'One JSON object per line' })
    .option('reveal', {
      type: 'boolean',
      default: false,
      describe:
        'Show secrets as written. Without it each secret (as get_logs hides them) is shown as [REDACTED:kind] in every line, and --match matches that text',
    })
    .option('new', {
      type: 'boolean',
      default: false,
      describe:
        'Start after the last event this view (same IDs, --events, --match) printed, after a first line that sums up the state',
    })
    .option('until-idle', { type: 'boolean', default: false, describe: 'End once nothing watched runs' })
    .option('timeout', { type: 'number', describe: 'End after this many seconds (exit 124)', requiresArg: true })
    .example('$0 --new', 'Every event since the last --new watch, then live')
    .example('$0 web --events ready,failed,exited', 'Only when web is ready or ends')
    .example("$0 tests --match 'FAIL|Error' --until-idle", 'Failures of a test run, until it ends')
    .parseAsync();
  const fe = cliFrontEnd(argv);
  const w = checkWatch(
    {
      refs: args._.map(String),
      events: args.events === undefined ? undefined : [String(args.events)],
      match: args.match === undefined ? undefined : String(args.match),
      json: args.json,
      untilIdle: args['until-idle'] as boolean,
      timeoutSec: args.timeout as number | undefined,
      new: args.new,
      reveal: args.reveal,
    },
    fe,
  );
  // Made if missing (key.json): a watch set up before the first start sees it.
  const ctx = openContext({ create: w.refs.length === 0 });
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  // on, not once: proper-lockfile's signal-exit re-raises a signal it finds no other listener
  // for, and a once listener is gone by the time it looks (the watch would die with 143).
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', onSignal);
  try {
    const write = (line: string) => void process.stdout.write(`${line}\n`);
    const end = await runWatch(ctx, w, write, SHELL_HINTS, stop.signal, pollMs(process.env.BG_WATCH_POLL_MS));

    return end === 'timeout' ? EXIT_WATCH_TIMEOUT : 0;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    process.off('SIGHUP', onSignal);
  }
}

// BG_WATCH_POLL_MS: the fallback poll's period (REFERENCE.md); the folder watch does the work.
function pollMs(v: string | undefined): number | undefined {
  const n = Number(v);
  return v && Number.isFinite(n) && n >= 100 ? n : undefined;
}
