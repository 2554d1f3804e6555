// stop_process: end a process and everything it started, and say what ended it. The stop
// itself is ops/stop.ts; this script turns argv into its request and prints its report.
import { listHint, makeParser, typed } from '../cli/cli.ts';
import { SHELL_HINTS } from '../install/hints.ts';
import { openContext } from '../store/context.ts';
import { checkStop, NOTHING_TO_STOP, shortSignal, stopFailedLine, stopTargets } from '../ops/stop.ts';
import { STOP_GRACE_SEC, STOP_SIGNAL } from '../ops/defaults.ts';

export async function main(argv: string[]): Promise<number> {
  const args = await makeParser(
    argv,
    'Usage: $0 <id|name>... [--signal NAME] [--timeout SECONDS] [--force]\n       $0 --all\n\nSends SIGTERM (or --signal) to the process, its whole session and process group\nand every descendant, waits up to --timeout seconds, then SIGKILLs what is left.\nOutput printed up to the stop stays in the log.',
  )
    .option('timeout', {
      type: 'number',
      defaultDescription: String(STOP_GRACE_SEC),
      describe: 'Seconds to wait after the signal before SIGKILL',
      requiresArg: true,
    })
    .option('signal', {
      type: 'string',
      defaultDescription: `"${shortSignal(STOP_SIGNAL)}"`, // quoted, as yargs shows a text default
      describe: 'The first signal, e.g. INT for a graceful Ctrl-C, HUP, QUIT',
      requiresArg: true,
    })
    .option('force', { type: 'boolean', default: false, describe: 'SIGKILL at once' })
    .option('all', {
      type: 'boolean',
      default: false,
      describe: 'Stop every live process, and the background jobs ended ones left running',
    })
    .example('$0 a1b2', 'Stop process a1b2')
    .example('$0 web --signal INT --timeout 30', 'Ctrl-C, and give it 30 s to shut down')
    .example('$0 --all', 'Stop everything that runs')
    .parseAsync();
  const order = checkStop(
    { refs: args._.map(String), all: args.all, signal: args.signal, timeoutSec: args.timeout, force: args.force },
    {
      sweep: '--all',
      sweepOn: '--all',
      ids: 'IDs',
      give: `ID or name (${listHint()})`,
      timeout: '--timeout',
      shown: (v) => typed(argv, v, '--timeout'),
      hints: SHELL_HINTS,
    },
  );
  const report = await stopTargets(openContext({ create: false }), order);
  if (report.results.length === 0) process.stdout.write(`${NOTHING_TO_STOP}\n`);
  for (const r of report.results) {
    if (!r.ok) process.stderr.write(`${stopFailedLine(r)}\n`);
    else {
      if (r.note) process.stderr.write(`stop_process: note: ${r.rec.id}: ${r.note}.\n`);
      process.stdout.write(`${r.text}\n`);
    }
  }
  return report.exitCode;
}
