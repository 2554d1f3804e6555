// restart_process's use case, for the script, MCP and the page: the request's checks and
// defaults, the wait it asks for (ops/ready.ts), and the one restart: stop the run, claim the
// next (of calls made at once, one starts it, the others join it), start the same command under
// the same ID. A detached dashboard is restarted only from a shell, which hands it the password.
import { randomBytes } from 'node:crypto';
import { BgError } from '../errors.ts';
import { handOver, isDetachedDashboard, restartFromShell, withHandoff } from '../control/handoff.ts';
import { planStart, startProcess, type Started } from '../control/launch.ts';
import { logEnd } from '../control/ready.ts';
import { stopProcess } from '../control/stop.ts';
import type { Hints } from '../install/hints.ts';
import { supervisorAlive } from '../process/status.ts';
import type { Context } from '../store/context.ts';
import { findRecord, type ProcessRecord } from '../store/state.ts';
import { waitFor } from '../util/wait.ts';
import { type FrontEnd, seconds } from './checks.ts';
import { STOP_GRACE_SEC, STOP_SIGNAL } from './defaults.ts';
import { checkRestartWait, type RestartWaitRequest, restartWait, type Wait, type WaitDefaults } from './ready.ts';

/** How restartRecord restarts (every field but `hints` optional). */
export interface RestartOptions {
  hints: Hints; // how a refusal points to other calls, in the caller's words
  graceSec?: number; // SIGKILL this long after SIGTERM (default STOP_GRACE_SEC)
  wantFrom?: boolean; // say where the new run's output begins (`from`), for a readiness wait
  note?: (text: string) => void; // hears what the stop noticed, as soon as it is known
  handoff?: string; // a detached dashboard's new handoff socket (restartDashboard's)
}

/**
 * Stop `rec` (if it runs) as stop_process does, SIGKILL after `graceSec`, and start its
 * command again under the same ID: the one restart, used by the script, the MCP server and
 * the dashboard. `from`: where the new run's output begins (when `wantFrom`), so readiness
 * counts only what it prints; `how`: how the old run ended. `note` hears what the stop noticed,
 * as soon as it is known (before a failed start too). A detached dashboard needs someone to hand
 * it the password (`handoff`: the socket name restartDashboard listens on); without one it is
 * refused before anything is stopped (the page, MCP).
 */
export async function restartRecord(ctx: Context, rec: ProcessRecord, opts: RestartOptions): Promise<Restarted> {
  const { wantFrom = false, note = () => undefined, handoff, hints } = opts;
  const timeoutMs = Math.round((opts.graceSec ?? STOP_GRACE_SEC) * 1000);
  if (rec.legacy)
    throw new BgError(
      'REFUSED',
      `process ${rec.id} comes from the Python skill; start its command anew with ${hints.call('start_process')}.`,
    );
  const dashboard = isDetachedDashboard(rec.argv);
  if (dashboard && !handoff) {
    const ref = rec.name ?? rec.id;
    throw new BgError(
      'USAGE',
      hints.shell
        ? restartFromShell(ref)
        : `process ${rec.id} is a detached dashboard, which only the restart_process script restarts, from a shell that hands it the password; ${hints.call('stop_process', { ref })} stops it.`,
    );
  }
  // A record that cannot run any more (a NUL an older version let in, its folder deleted, its
  // program gone) is refused before the stop.
  // restart_process has no cwd: the fix planStart names is a new start.
  try {
    planStart({ command: rec.argv, cwd: rec.cwd, pty: rec.pty, name: rec.name, extraEnv: rec.env, hints }, true);
  } catch (err) {
    if (err instanceof BgError) err.message = `process ${rec.id} was not stopped: ${err.message}`;
    throw err;
  }
  const stopped = await stopProcess(ctx, rec, STOP_SIGNAL, timeoutMs, 'restart');
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
      // The same caller's folder; its checkout read again: the new run runs the code there now.
      from: rec.provenance?.folder,
      context: () => ctx,
      hints,
    });
  } catch (err) {
    // A run that started was recorded, and that cleared the claim; only a failed start leaves
    // one to release. A failure to release (the claim then lapses) must not hide the start's own.
    await releaseClaim(ctx, rec.id, claim.token).catch(() => undefined);
    throw err;
  }
  ownClaims.delete(claim.token);
  let how: string;
  if (stopped.already) how = 'it was not running';
  else if (stopped.result.endedBy === 'exited') how = 'it had just exited';
  else how = `stopped by ${stopped.result.endedBy}`;
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
 * over a new handoff socket (control/handoff.ts); once it serves, its URL with the token.
 */
async function restartDashboard(
  ctx: Context,
  rec: ProcessRecord,
  opts: RestartOptions,
): Promise<Restarted & { dashboardUrl: string }> {
  const token = randomBytes(32).toString('base64url');
  let done: Restarted | undefined;
  const { url } = await handOver(ctx, { password: ctx.password, token }, 'the restarted dashboard', async (socket) => {
    done = await restartRecord(ctx, rec, { ...opts, handoff: socket });
    if (done.joined)
      throw new BgError(
        'REFUSED',
        `${joinedLine(rec, done.started.pid).slice(0, -1)}: its URL was printed by that call.`,
      );
    return done.started;
  });
  return { ...done!, dashboardUrl: `${url}#token=${token}` };
}

/** What the sentence "Restarted process ..." says of a restart (or of one another call made). */
export function restartedLine(rec: ProcessRecord, r: Restarted): string {
  if (r.joined) return joinedLine(rec, r.started.pid);
  return `Restarted process ${r.started.id} (PID ${r.started.pid}; ${r.how}).`;
}

/** What restart_process is asked, besides the process (undefined: not given; defaults apply). */
export interface RestartRequest extends RestartWaitRequest {
  graceSec?: number; // seconds after SIGTERM before SIGKILL (default STOP_GRACE_SEC)
}

/** The request's own checks, before the process is looked up (a USAGE error on a bad field). */
export function checkRestart(req: RestartRequest, fe: FrontEnd): void {
  seconds(fe, 'timeout', req.graceSec, true);
  checkRestartWait(req, fe);
}

/**
 * Restart `rec` as `req` says (checked by checkRestart), waiting for nothing: the wait it asks
 * for is decided first (a recorded pattern MCP cannot run is refused before the stop) and
 * returned with the result, for the caller to wait and say. A detached dashboard is handed the
 * password only when the caller `handsOver` (a shell); the result then holds its URL.
 */
export async function restart(
  ctx: Context,
  rec: ProcessRecord,
  req: RestartRequest,
  fe: FrontEnd,
  opts: { waits: WaitDefaults; note?: (text: string) => void; handsOver?: boolean },
): Promise<Restarted & { wait: Wait; dashboardUrl?: string }> {
  const wait = restartWait(rec, req, fe, opts.waits);
  const how: RestartOptions = { graceSec: req.graceSec, wantFrom: !!wait.ready, note: opts.note, hints: fe.hints };
  const done =
    opts.handsOver && isDetachedDashboard(rec.argv)
      ? await restartDashboard(ctx, rec, how)
      : await restartRecord(ctx, rec, how);
  return { ...done, wait };
}
