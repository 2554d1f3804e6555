// wait_process: block until a process ends, and exit with its exit status. The wait is
// ops/wait.ts; this script turns argv into its request and prints how it ended.
import { listHint, makeParser, typed } from '../cli/cli.ts';
import { SHELL_HINTS } from '../install/hints.ts';
import { openContext } from '../store/context.ts';
import { checkWait, EXIT_TIMEOUT, EXIT_UNKNOWN, endedText, stillRunningText, waitProcess } from '../ops/wait.ts';

export async function main(argv: string[]): Promise<number> {
  const args = await makeParser(
    argv,
    "Usage: $0 <id|name> [--timeout SECONDS]\n\nWaits until the process ends (a --restart policy's restarts included) and exits\nwith its exit status: its exit code, or 128 + the signal number. 124 if --timeout\npasses first; 125 if it ended with no recorded status (lost).",
  )
    .option('timeout', { type: 'number', describe: 'Give up after this many seconds (exit 124)', requiresArg: true })
    .example('$0 build && echo built', 'Wait for a background build')
    .example('$0 a1b2 --timeout 60', 'Wait at most a minute')
    .demandCommand(1, 1, `give the process ID or name (${listHint()}).`, 'give one process ID or name.')
    .parseAsync();
  const req = checkWait(
    { ref: String(args._[0]), timeoutSec: args.timeout },
    { timeout: '--timeout', shown: (v) => typed(argv, v, '--timeout'), hints: SHELL_HINTS },
  );
  const r = await waitProcess(openContext({ create: false }), req);
  // `done`, not `ended`: a wait that saw the end reports it, even if a restart came before the
  // record was read again (as this script always did).
  if (!r.done) {
    process.stderr.write(`wait_process: ${stillRunningText(r)}\n`);
    return EXIT_TIMEOUT;
  }
  process.stdout.write(`${endedText(r)}\n`);
  return r.status.exitStatus ?? EXIT_UNKNOWN;
}
