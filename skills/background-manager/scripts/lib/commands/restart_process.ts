// restart_process: stop a process, then run the same command again under the same ID.
import { compileRegex, durationSec, makeParser, typed, listHint } from '../cli/cli.ts';
import { openContext, type Context } from '../store/context.ts';
import { resolveProcess } from '../process/resolve.ts';
import { stopProcess } from '../process/stop.ts';
import { supervisorAlive } from '../process/status.ts';
import { refuseNuls, startProcess, type Started } from '../control/launch.ts';
import { waitFor } from '../cli/wait.ts';
import { entryBundlesBuilt } from '../cli/bundle.ts';
import { BgError, EXIT } from '../cli/errors.ts';
import { logEnd, reportReady } from '../control/ready.ts';
import type { ProcessRecord, Readiness } from '../store/state.ts';
import { randomBytes } from 'node:crypto';
import { handOver, isDetachedDashboard, restartFromShell, withHandoff } from '../web/handoff.ts';

/**
 * Stop `rec` (if it runs) as stop_process does, SIGKILL after `timeoutMs`, and start its
 * command again under the same ID: the one restart, used by this script, the MCP server and
 * the dashboard. `from`: where the new run's output begins (when `wantFrom`), so readiness
 * counts only what it prints; `how`: how the old run ended. `note` hears what the stop noticed,
 * as soon as it is known (before a failed start too). A detached dashboard needs someone to hand
 * it the password (`handoff`: the socket name restartDashboard listens on); without one it is
 * refused before anything is stopped (the page, MCP).
 */
export async function restartRecord(ctx: Context, rec: ProcessRecord, timeoutMs: number, wantFrom = false, note: (text: string) => void = () => undefined, handoff?: string): Promise<{ started: Started; from?: ReturnType<typeof logEnd>; how: string }> {
  if (rec.legacy) throw new BgError('REFUSED', `process ${rec.id} comes from the Python skill; start its command anew with start_process.`);
  // A record that cannot start again (a NUL an older version let in) is refused before the stop.
  refuseNuls({ command: rec.argv, cwd: rec.cwd, name: rec.name, extraEnv: rec.env }, `process ${rec.id}'s recorded `);
  const dashboard = isDetachedDashboard(rec.argv);
  if (dashboard && !handoff) throw new BgError('USAGE', restartFromShell(rec.name ?? rec.id));
  const stopped = await stopProcess(ctx, rec, 'SIGTERM', timeoutMs, 'restart');
  if (!stopped.already && stopped.note) note(stopped.note);
  // The old supervisor closes the log last; the new one must not open it before that.
  if (!(await waitFor(() => !supervisorAlive(rec), 10_000))) {
    throw new BgError('SUPERVISOR', `the supervisor of ${rec.id} (PID ${rec.supervisorPid}) did not exit after the stop; not restarting.`);
  }
  const from = wantFrom ? logEnd(ctx, rec) : undefined;
  const started = await startProcess({
    // A dashboard: its new handoff socket, and the data dir it is restarted in.
    command: dashboard ? withHandoff(rec.argv, handoff!) : rec.argv,
    display: dashboard ? undefined : rec.command,
    cwd: rec.cwd,
    pty: rec.pty,
    maxLogSize: rec.maxLogSize,
    name: rec.name,
    extraEnv: dashboard ? { ...rec.env, BG_DATA_DIR: ctx.dataDir } : rec.env,
    restart: rec.restart,
    timeoutSec: rec.timeoutSec,
    ready: rec.ready,
    reuseId: rec.id,
    context: () => ctx,
  });
  const how = stopped.already ? 'it was not running' : stopped.result.endedBy === 'exited' ? 'it had just exited' : `stopped by ${stopped.result.endedBy}`;
  return { started, from, how };
}

/**
 * Restart a detached dashboard from this shell: hand it the caller's password and a new token
 * over a new handoff socket (web/handoff.ts), print its URL with the token once it serves.
 */
async function restartDashboard(ctx: Context, rec: ProcessRecord, timeoutMs: number, wantFrom: boolean, note: (text: string) => void): ReturnType<typeof restartRecord> {
  const token = randomBytes(32).toString('base64url');
  let done: Awaited<ReturnType<typeof restartRecord>> | undefined;
  const { url } = await handOver(ctx, { password: ctx.password, token }, 'the restarted dashboard', async (socket) => {
    done = await restartRecord(ctx, rec, timeoutMs, wantFrom, note, socket);
    return done.started;
  });
  process.stdout.write(`Dashboard: ${url}#token=${token}\n`);
  return done!;
}

export async function main(argv: string[]): Promise<number> {
  const args = await makeParser(
    argv,
    'Usage: $0 <id|name> [--timeout SECONDS] [--wait-for REGEX | --wait-port PORT] [--wait-timeout SECONDS] [--no-wait]\n\nStops the process (if it runs) as stop_process does, then starts the same command\nwith the same working folder, --env values and options, under the same ID. Its log\ncontinues. The rest of the environment is the one restart_process is called with.\nIf it was started with --wait-for or --wait-port, the restart waits the same way\n(for output of the new run only) unless told otherwise here. A detached dashboard\nis handed BG_PASSWORD from here and a new token: its new URL is printed, and the\nexit is 0 only once it serves (the page and MCP cannot restart it).',
  )
    .option('timeout', { type: 'number', default: 5, describe: 'Seconds to wait after SIGTERM before SIGKILL', requiresArg: true })
    .option('wait-for', { type: 'string', describe: 'Return only once a line of the new run matches this regular expression (instead of what start_process was given)', requiresArg: true })
    .option('wait-port', { type: 'number', describe: 'Return only once the new run listens on this TCP port (instead of what start_process was given)', requiresArg: true })
    .option('wait-timeout', { type: 'number', describe: 'Seconds to wait for readiness (default: as at start, else 60)', requiresArg: true })
    .option('wait', { type: 'boolean', default: true, describe: 'Wait for readiness as the process was started with; --no-wait returns once it runs' })
    .example('$0 web', 'Restart the process named web (and wait as start_process did)')
    .example("$0 web --wait-for 'Serving HTTP'", 'Restart it; return once the new run prints that')
    .demandCommand(1, 1, `give the process ID or name (${listHint()}).`, 'give one process ID or name.')
    .parseAsync();
  durationSec(argv, '--timeout', args.timeout, true);
  const port = args.waitPort;
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) throw new BgError('USAGE', `--wait-port must be a TCP port, 1 to 65535 (got ${typed(argv, port, '--wait-port')}).`);
  const waitTimeout = args.waitTimeout;
  if (waitTimeout !== undefined) durationSec(argv, '--wait-timeout', waitTimeout, false);
  const given = args.waitFor !== undefined || port !== undefined;
  if (given && !args.wait) throw new BgError('USAGE', '--no-wait and --wait-for/--wait-port contradict each other: give one.');
  if (args.waitFor !== undefined) compileRegex('--wait-for', args.waitFor);
  const ctx = openContext({ create: false });
  const rec = resolveProcess(ctx.store.read(), String(args._[0]));
  const ready: Readiness | undefined = !args.wait
    ? undefined
    : given
      ? { pattern: args.waitFor, port, timeoutSec: waitTimeout ?? rec.ready?.timeoutSec ?? 60 }
      : rec.ready && { ...rec.ready, timeoutSec: waitTimeout ?? rec.ready.timeoutSec };
  if (waitTimeout !== undefined && !ready) {
    throw new BgError('USAGE', `--wait-timeout needs something to wait for: process ${rec.id} was started without --wait-for or --wait-port, so give one.`);
  }
  const note = (text: string) => process.stderr.write(`restart_process: note: ${rec.id}: ${text}.\n`);
  const timeoutMs = Math.round(args.timeout * 1000);
  const { started, from, how } = isDetachedDashboard(rec.argv) ? await restartDashboard(ctx, rec, timeoutMs, !!ready, note) : await restartRecord(ctx, rec, timeoutMs, !!ready, note);
  process.stdout.write(`Restarted process ${started.id} (PID ${started.pid}; ${how}).\n`);
  const code = ready ? await reportReady(ctx, started.id, ready, ready.pattern === undefined ? undefined : compileRegex('--wait-for', ready.pattern), 'restart_process', from) : EXIT.OK;
  await entryBundlesBuilt(); // a rebuild of dist/ that ran beside the start
  return code;
}
