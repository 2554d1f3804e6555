// restart_process: stop a process, then run the same command again under the same ID.
import { makeParser } from '../cli.ts';
import { openContext } from '../context.ts';
import { resolveProcess } from '../resolve.ts';
import { stopProcess } from '../stop.ts';
import { supervisorAlive } from '../status.ts';
import { startProcess } from '../launch.ts';
import { waitFor } from '../wait.ts';
import { BgError, EXIT } from '../errors.ts';

export async function main(argv: string[]): Promise<number> {
  const args = await makeParser(
    argv,
    'Usage: restart_process.ts <id|name> [--timeout SECONDS]\n\nStops the process (if it runs) as stop_process does, then starts the same command\nwith the same working folder, --env values and options, under the same ID. Its log\ncontinues. The rest of the environment is the one restart_process is called with.',
  )
    .option('timeout', { type: 'number', default: 5, describe: 'Seconds to wait after SIGTERM before SIGKILL', requiresArg: true })
    .example('$0 web', 'Restart the process named web')
    .demandCommand(1, 1, 'Give the process ID or name (see list_processes).', 'Give one process ID or name.')
    .parseAsync();
  if (!(args.timeout >= 0) || !Number.isFinite(args.timeout)) throw new BgError('USAGE', `--timeout must be a number of seconds, 0 or more (got ${args.timeout}).`);
  const ctx = openContext({ create: false });
  const rec = resolveProcess(ctx.store.read(), String(args._[0]));
  if (rec.legacy) throw new BgError('CANNOT_START', `process ${rec.id} comes from the Python skill; start its command anew with start_process.`);
  const stopped = await stopProcess(ctx, rec, 'SIGTERM', Math.round(args.timeout * 1000), 'restart');
  // The old supervisor closes the log last; the new one must not open it before that.
  if (!(await waitFor(() => !supervisorAlive(rec), 10_000))) {
    throw new BgError('SUPERVISOR', `the supervisor of ${rec.id} (PID ${rec.supervisorPid}) did not exit after the stop; not restarting.`);
  }
  const started = await startProcess({
    command: rec.argv,
    display: rec.command,
    cwd: rec.cwd,
    pty: rec.pty,
    maxLogSize: rec.maxLogSize,
    name: rec.name,
    extraEnv: rec.env,
    restart: rec.restart,
    timeoutSec: rec.timeoutSec,
    reuseId: rec.id,
    context: () => ctx,
  });
  const how = stopped.already ? 'it was not running' : `stopped by ${stopped.result.endedBy}`;
  process.stdout.write(`Restarted process ${started.id} (PID ${started.pid}; ${how}).\n`);
  return EXIT.OK;
}
