// wait_process: block until a process ends, and exit with its exit status. The wait is
// ops/wait.ts; this script turns argv into its request and prints how it ended.
import { listHint, makeParser, typed } from '../cli/cli.ts';
import { SHELL_HINTS } from '../install/hints.ts';
import { openContext } from '../store/context.ts';
import { checkWait, EXIT_TIMEOUT, EXIT_UNKNOWN, endedText, stillRunningText, waitProcess } from '../ops/wait.ts';
import { awaitInput, endedFirstText, notWaitingText, unknownText, waitingText } from '../ops/wait-input.ts';
import { resolveProcess } from '../process/resolve.ts';
import { EXIT } from '../errors.ts';
import type { Context } from '../store/context.ts';
import type { WaitOrder } from '../ops/wait.ts';

export async function main(argv: string[]): Promise<number> {
  const args = await makeParser(
    argv,
    "Usage: $0 <id|name> [--timeout SECONDS] [--until exit|input]\n\nWaits until the process ends (a --restart policy's restarts included) and exits\nwith its exit status: its exit code, or 128 + the signal number. 124 if --timeout\npasses first; 125 if it ended with no recorded status (lost).\n\n--until input: waits until it waits for input (the kernel shows it reading its terminal\nor stdin, quiet 0.3 s) and prints the prompt; exit 0, 5 if it ended first, 124 on\n--timeout, 125 at once if that cannot be told for it.",
  )
    .option('until', {
      type: 'string',
      choices: ['exit', 'input'],
      default: 'exit',
      describe: 'exit: until it ends; input: until it waits for input',
    })
    .option('timeout', { type: 'number', describe: 'Give up after this many seconds (exit 124)', requiresArg: true })
    .example('$0 build && echo built', 'Wait for a background build')
    .example('$0 a1b2 --timeout 60', 'Wait at most a minute')
    .example('$0 a1b2 --until input --timeout 30', 'Wait until it asks for input')
    .demandCommand(1, 1, `give the process ID or name (${listHint()}).`, 'give one process ID or name.')
    .parseAsync();
  const req = checkWait(
    { ref: String(args._[0]), timeoutSec: args.timeout },
    { timeout: '--timeout', shown: (v) => typed(argv, v, '--timeout'), hints: SHELL_HINTS },
  );
  if (args.until === 'input') return untilInput(openContext({ create: false }), req);
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

// --until input: the prompt on stdout (0), or why not on stderr (5 ended, 124 timeout, 125 cannot tell).
async function untilInput(ctx: Context, req: WaitOrder): Promise<number> {
  const id = resolveProcess(ctx.store.read(), req.ref, req.hints).id;
  const timeoutMs = req.timeoutSec === undefined ? Infinity : req.timeoutSec * 1000;
  const r = await awaitInput(ctx, id, { timeoutMs });
  if (r.state === 'waiting') {
    process.stdout.write(`${waitingText(id, r.prompt)}\n`);
    return EXIT.OK;
  }
  const [text, code] =
    r.state === 'ended'
      ? [endedFirstText(id, r.label), EXIT.NOT_RUNNING]
      : r.state === 'unknown'
        ? [unknownText(id, r.why), EXIT_UNKNOWN]
        : [notWaitingText(id, req.timeoutSec!), EXIT_TIMEOUT];
  process.stderr.write(`wait_process: ${text}\n`);
  return code;
}
