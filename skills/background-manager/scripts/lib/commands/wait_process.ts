// wait_process: block until a process ends, and exit with its exit status.
import { durationSec, makeParser, listHint } from '../cli/cli.ts';
import { openContext } from '../store/context.ts';
import { resolveProcess } from '../process/resolve.ts';
import { isLive, liveStatus } from '../process/status.ts';
import { findRecord } from '../store/state.ts';
import { waitFor } from '../util/wait.ts';
import { BgError } from '../errors.ts';

export const EXIT_TIMEOUT = 124;
export const EXIT_UNKNOWN = 125;

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
  if (args.timeout !== undefined) durationSec(argv, '--timeout', args.timeout, true);
  const ctx = openContext({ create: false });
  const id = resolveProcess(ctx.store.read(), String(args._[0])).id;
  const current = () => findRecord(ctx.store.read(), id);
  const done = await waitFor(
    () => {
      const rec = current();
      return !rec || !isLive(rec);
    },
    args.timeout === undefined ? Infinity : args.timeout * 1000,
    100,
  );
  const rec = current();
  if (!rec) throw new BgError('NOT_FOUND', `process ${id} was removed while waiting.`);
  const st = liveStatus(rec);
  if (!done) {
    process.stderr.write(`wait_process: ${id} is still ${st.label} after ${args.timeout} s.\n`);
    return EXIT_TIMEOUT;
  }
  process.stdout.write(`Process ${id} ended: ${st.label}\n`);
  return st.exitStatus ?? EXIT_UNKNOWN;
}
