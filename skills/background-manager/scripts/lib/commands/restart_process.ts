// restart_process: stop a process, then run the same command again under the same ID.
import { durationSec, makeParser, typed, listHint } from '../cli/cli.ts';
import { compileRegex } from '../util/regex.ts';
import { openContext, type Context } from '../store/context.ts';
import { resolveProcess } from '../process/resolve.ts';
import { stopProcess } from '../control/stop.ts';
import { supervisorAlive } from '../process/status.ts';
import { planStart, startProcess, type Started } from '../control/launch.ts';
import { waitFor } from '../util/wait.ts';
import { entryBundlesBuilt } from '../install/bundle.ts';
import { BgError, EXIT } from '../errors.ts';
import { logEnd, reportReady } from '../control/ready.ts';
import type { ProcessRecord, Readiness } from '../store/state.ts';
import { randomBytes } from 'node:crypto';
import { findRecord } from '../store/state.ts';
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
export async function restartRecord(
  ctx: Context,
  rec: ProcessRecord,
  timeoutMs: number,
  wantFrom = false,
  note: (text: string) => void = () => undefined,
  handoff?: string,
): Promise<Restarted> {
  if (rec.legacy)
    throw new BgError(
      'REFUSED',
      `process ${rec.id} comes from the Python skill; start its command anew with start_process.`,
    );
  const dashboard = isDetachedDashboard(rec.argv);
  if (dashboard && !handoff) throw new BgError('USAGE', restartFromShell(rec.name ?? rec.id));
  // A record that cannot run any more (a NUL an older version let in, its folder deleted, its
  // program gone) is refused before the stop.
  try {
    planStart({ command: rec.argv, cwd: rec.cwd, pty: rec.pty, name: rec.name, extraEnv: rec.env });
  } catch (err) {
    // restart_process has no --cwd: the fix is a new start.
    if (err instanceof BgError)
      err.message = `process ${rec.id} was not stopped: ${err.message.replace('pass another --cwd.', 'start the command anew with start_process --cwd.')}`;
    throw err;
  }
  const stopped = await stopProcess(ctx, rec, 'SIGTERM', timeoutMs, 'restart');
  if (!stopped.already && stopped.note) note(stopped.note);
  // The old supervisor closes the log last; the new one must not open it before that.
  if (!(await waitFor(() => !supervisorAlive(rec), 10_000))) {
    throw new BgError(
      'SUPERVISOR',
      `the supervisor of ${rec.id} (PID ${rec.supervisorPid}) did not exit after the stop; not restarting.`,
    );
  }
  // Of calls that stopped this run, one starts the next (see claimRestart); the others join it.
  const claim = await claimRestart(ctx, rec);
  if ('joined' in claim) return { started: { id: rec.id, pid: claim.joined.pid }, how: '', joined: true };
  const from = wantFrom ? logEnd(ctx, rec) : undefined;
  let started: Started;
  try {
    started = await startProcess({
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
      restartClaim: claim.token,
      context: () => ctx,
    });
  } catch (err) {
    // A run that started was recorded, and that cleared the claim; only a failed start leaves
    // one to release. A failure to release (the claim then lapses) must not hide the start's own.
    await releaseClaim(ctx, rec.id, claim.token).catch(() => undefined);
    throw err;
  }
  ownClaims.delete(claim.token);
  const how = stopped.already
    ? 'it was not running'
    : stopped.result.endedBy === 'exited'
      ? 'it had just exited'
      : `stopped by ${stopped.result.endedBy}`;
  return { started, from, how };
}

export interface Restarted {
  started: Started; // the new run (joined: the one another call started)
  from?: ReturnType<typeof logEnd>;
  how: string; // how the old run ended ('' when joined)
  joined?: true; // another call that stopped the same run started the new one; this one started nothing
}

/** What restart_process says of a restart another call made (exit 0). */
export function joinedLine(rec: ProcessRecord, pid: number): string {
  return `Process ${rec.id}${rec.name ? ` (${rec.name})` : ''} was restarted by another call meanwhile (PID ${pid}).`;
}

// A run of a record: its supervisor, and when it started (each restart changes them).
const runOf = (r: ProcessRecord) => `${r.supervisorPid}/${r.supervisorStartTicks}/${r.startedAt}`;
const CLAIM_STALE_MS = 120_000;
const CLAIM_WAIT_MS = CLAIM_STALE_MS + 30_000;
const ownClaims = new Set<string>(); // this process's claims under way (the MCP server, the dashboard: one PID, many calls)

function claimLive(c: NonNullable<ProcessRecord['restartClaim']>): boolean {
  if (Date.now() - Date.parse(c.at) > CLAIM_STALE_MS) return false;
  if (c.pid === process.pid) return ownClaims.has(c.token);
  try {
    process.kill(c.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Compare-and-set under the state lock, before any supervisor is spawned: the call that finds
 * the record still on the run it stopped, and no live claim, claims the next run (its token,
 * which the new supervisor checks again when it records the run). A call that finds a newer run
 * joins it; one that finds another call's claim waits for that call to record its run (then
 * joins it) or to fail (then tries itself).
 */
async function claimRestart(ctx: Context, rec: ProcessRecord): Promise<{ token: string } | { joined: ProcessRecord }> {
  const token = randomBytes(16).toString('hex');
  const deadline = Date.now() + CLAIM_WAIT_MS;
  for (;;) {
    const got = await ctx.store.update((doc): { token: string } | { joined: ProcessRecord } | { busy: number } => {
      const cur = findRecord(doc, rec.id);
      if (!cur) throw new BgError('NOT_FOUND', `process ${rec.id} is no longer recorded; it was removed.`);
      if (runOf(cur) !== runOf(rec)) return { joined: cur };
      if (cur.restartClaim && claimLive(cur.restartClaim)) return { busy: cur.restartClaim.pid };
      cur.restartClaim = { token, pid: process.pid, at: new Date().toISOString() };
      ownClaims.add(token);
      return { token };
    });
    if (!('busy' in got)) return got;
    if (Date.now() > deadline) {
      throw new BgError(
        'REFUSED',
        `another call (PID ${got.busy}) is restarting process ${rec.id} and has not started it in ${CLAIM_WAIT_MS / 1000} s; not restarting. Check it with list_processes.`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

// After the start (recorded, which removed the claim, or failed): the claim goes.
async function releaseClaim(ctx: Context, id: string, token: string): Promise<void> {
  ownClaims.delete(token);
  const cur = findRecord(ctx.store.read(), id);
  if (cur?.restartClaim?.token !== token) return;
  await ctx.store.update((doc) => {
    const r = findRecord(doc, id);
    if (r?.restartClaim?.token === token) delete r.restartClaim;
  });
}

/**
 * Restart a detached dashboard from this shell: hand it the caller's password and a new token
 * over a new handoff socket (web/handoff.ts), print its URL with the token once it serves.
 */
async function restartDashboard(
  ctx: Context,
  rec: ProcessRecord,
  timeoutMs: number,
  wantFrom: boolean,
  note: (text: string) => void,
): Promise<Restarted> {
  const token = randomBytes(32).toString('base64url');
  let done: Awaited<ReturnType<typeof restartRecord>> | undefined;
  const { url } = await handOver(ctx, { password: ctx.password, token }, 'the restarted dashboard', async (socket) => {
    done = await restartRecord(ctx, rec, timeoutMs, wantFrom, note, socket);
    if (done.joined)
      throw new BgError(
        'REFUSED',
        `${joinedLine(rec, done.started.pid).slice(0, -1)}: its URL was printed by that call.`,
      );
    return done.started;
  });
  process.stdout.write(`Dashboard: ${url}#token=${token}\n`);
  return done!;
}

export async function main(argv: string[]): Promise<number> {
  const args = await makeParser(
    argv,
    'Usage: $0 <id|name> [--timeout SECONDS] [--wait-for REGEX | --wait-port PORT] [--wait-timeout SECONDS] [--no-wait]\n\nStops the process (if it runs) as stop_process does, then starts the same command\nwith the same working folder, --env values and options, under the same ID. Its log\ncontinues. The rest of the environment is the one restart_process is called with.\nIf it was started with --wait-for or --wait-port, the restart waits the same way\n(for output of the new run only) unless told otherwise here. A detached dashboard\nis handed BG_PASSWORD from here and a new token: its new URL is printed, and the\nexit is 0 only once it serves (the page and MCP cannot restart it). Of restarts\nmade at once, one starts the new run; the others say so and exit 0 (no wait;\nof a detached dashboard: exit 1: the other call printed the URL).',
  )
    .option('timeout', {
      type: 'number',
      default: 5,
      describe: 'Seconds to wait after SIGTERM before SIGKILL',
      requiresArg: true,
    })
    .option('wait-for', {
      type: 'string',
      describe:
        'Return only once a line of the new run matches this regular expression (instead of what start_process was given)',
      requiresArg: true,
    })
    .option('wait-port', {
      type: 'number',
      describe: 'Return only once the new run listens on this TCP port (instead of what start_process was given)',
      requiresArg: true,
    })
    .option('wait-timeout', {
      type: 'number',
      describe: 'Seconds to wait for readiness (default: as at start, else 60)',
      requiresArg: true,
    })
    .option('wait', {
      type: 'boolean',
      default: true,
      describe: 'Wait for readiness as the process was started with; --no-wait returns once it runs',
    })
    .example('$0 web', 'Restart the process named web (and wait as start_process did)')
    .example("$0 web --wait-for 'Serving HTTP'", 'Restart it; return once the new run prints that')
    .demandCommand(1, 1, `give the process ID or name (${listHint()}).`, 'give one process ID or name.')
    .parseAsync();
  durationSec(argv, '--timeout', args.timeout, true);
  const port = args.waitPort;
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536))
    throw new BgError('USAGE', `--wait-port must be a TCP port, 1 to 65535 (got ${typed(argv, port, '--wait-port')}).`);
  const waitTimeout = args.waitTimeout;
  if (waitTimeout !== undefined) durationSec(argv, '--wait-timeout', waitTimeout, false);
  const given = args.waitFor !== undefined || port !== undefined;
  if (given && !args.wait)
    throw new BgError('USAGE', '--no-wait and --wait-for/--wait-port contradict each other: give one.');
  if (args.waitFor !== undefined) compileRegex('--wait-for', args.waitFor);
  const ctx = openContext({ create: false });
  const rec = resolveProcess(ctx.store.read(), String(args._[0]));
  const ready: Readiness | undefined = !args.wait
    ? undefined
    : given
      ? { pattern: args.waitFor, port, timeoutSec: waitTimeout ?? rec.ready?.timeoutSec ?? 60 }
      : rec.ready && { ...rec.ready, timeoutSec: waitTimeout ?? rec.ready.timeoutSec };
  if (waitTimeout !== undefined && !ready) {
    throw new BgError(
      'USAGE',
      `--wait-timeout needs something to wait for: process ${rec.id} was started without --wait-for or --wait-port, so give one.`,
    );
  }
  const note = (text: string) => process.stderr.write(`restart_process: note: ${rec.id}: ${text}.\n`);
  const timeoutMs = Math.round(args.timeout * 1000);
  const { started, from, how, joined } = isDetachedDashboard(rec.argv)
    ? await restartDashboard(ctx, rec, timeoutMs, !!ready, note)
    : await restartRecord(ctx, rec, timeoutMs, !!ready, note);
  if (joined) {
    // That call waits for readiness and reports it; this one started nothing.
    process.stdout.write(`${joinedLine(rec, started.pid)}\n`);
    return EXIT.OK;
  }
  process.stdout.write(`Restarted process ${started.id} (PID ${started.pid}; ${how}).\n`);
  const code = ready
    ? await reportReady(
        ctx,
        started.id,
        ready,
        ready.pattern === undefined ? undefined : compileRegex('--wait-for', ready.pattern),
        'restart_process',
        from,
      )
    : EXIT.OK;
  await entryBundlesBuilt(); // a rebuild of dist/ that ran beside the start
  return code;
}
