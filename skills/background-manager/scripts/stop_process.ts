// stop_process: end a process and everything it started, and say what ended it.
import { makeParser, runMain, isEntry } from './lib/cli.ts';
import { openContext } from './lib/context.ts';
import { resolveProcess } from './lib/resolve.ts';
import { stopProcess } from './lib/stop.ts';
import { exitStatusOf, liveStatus } from './lib/status.ts';
import { BgError } from './lib/errors.ts';

export async function main(argv: string[]): Promise<number> {
  const args = await makeParser(argv, 'Usage: stop_process.ts <id> [--timeout SECONDS]\n\nSends SIGTERM to the process, its whole session and process group and every\ndescendant, waits up to --timeout seconds, then SIGKILLs what is left. Output\nprinted up to the stop stays in the log.')
    .option('timeout', { type: 'number', default: 5, describe: 'Seconds to wait after SIGTERM before SIGKILL', requiresArg: true })
    .example('$0 a1b2', 'Stop process a1b2')
    .example('$0 a1b2 --timeout 30', 'Give it 30 s to shut down cleanly')
    .demandCommand(1, 1, 'Give the process ID (see list_processes).', 'Give one process ID.')
    .parseAsync();
  if (!(args.timeout >= 0) || !Number.isFinite(args.timeout)) throw new BgError('USAGE', `--timeout must be a number of seconds, 0 or more (got ${args.timeout}).`);
  const ctx = openContext({ create: false });
  const rec = resolveProcess(ctx.store.read(), String(args._[0]));
  const out = await stopProcess(ctx, rec, 'SIGTERM', Math.round(args.timeout * 1000));
  if (out.already) {
    process.stdout.write(`Process ${rec.id} is not running (${liveStatus(rec).label}); nothing to stop.\n`);
    return 0;
  }
  const r = out.result;
  const status = exitStatusOf(r.exitCode, r.signal);
  const how =
    r.endedBy === 'SIGKILL'
      ? `it did not exit within ${args.timeout} s of SIGTERM; SIGKILL ended it`
      : `${r.endedBy} ended it`;
  const extra = r.killedLeftovers ? `; ${r.killedLeftovers} leftover process${r.killedLeftovers === 1 ? '' : 'es'} killed with SIGKILL` : '';
  process.stdout.write(`Stopped process ${rec.id} (PID ${rec.pid}): ${how} (exit status ${status ?? 'unknown'})${extra}.\n`);
  return 0;
}

if (isEntry(import.meta.url)) await runMain('stop_process', main);
