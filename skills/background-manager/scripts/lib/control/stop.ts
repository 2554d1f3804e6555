// stop_process's work: ask the supervisor to end the child's whole tree (SIGTERM, grace
// period, SIGKILL); if the supervisor is gone, or does not answer (hung, stopped, flooded with
// connections), do it here, after checking the child's identity.
import fs from 'node:fs';
import path from 'node:path';
import { requestControl, Unanswered, type Reply, type StopResult } from './protocol.ts';
import type { Context } from '../store/context.ts';
import type { ProcessRecord, StopReason } from '../store/state.ts';
import { recordEnd } from '../store/records.ts';
import { findRecord } from '../store/state.ts';
import { isLive, liveLeftovers, liveStatus, supervisorAlive } from '../process/status.ts';
import { bootId, commOf, matchIdentity, treeMembers, trySignal, type ProcStat } from '../process/proc.ts';
import { terminateTree } from '../process/terminate.ts';
import { BgError } from '../errors.ts';
import { waitFor } from '../util/wait.ts';

/** The signal a stop sends first, and how long it waits for the tree to end before SIGKILL
 * (every front end's default: ops/defaults.ts hands these on). */
export const STOP_SIGNAL = 'SIGTERM';
export const STOP_GRACE_SEC = 5;

/** What a stop of an ended process did to the background jobs it left running. */
export interface LeftoversStopped {
  count: number;
  names: string; // "PID 123 (sleep), PID 124 (python3)"
  endedBy: string; // the signal, or SIGKILL when the grace period ran out
}

export type StopOutcome =
  | { already: true; rec: ProcessRecord; leftovers?: LeftoversStopped }
  | { already: false; result: StopResult; rec: ProcessRecord; note?: string; joined?: StopReason }; // note: how the stop went around the supervisor; joined: why a stop already under way was made

export async function stopProcess(
  ctx: Context,
  rec: ProcessRecord,
  signal: NodeJS.Signals,
  timeoutMs: number,
  reason: StopReason = 'stop',
): Promise<StopOutcome> {
  const st = liveStatus(rec);
  if (st.status === 'unverified') {
    throw new BgError(
      'REFUSED',
      `process ${rec.id} was started by the Python skill; its PID ${rec.pid} exists but cannot be proven to be the same process, so it is not signalled. Stop it by hand if it is yours.`,
    );
  }
  if (!isLive(rec)) {
    const left = liveLeftovers(rec);
    return left.length
      ? { already: true, rec, leftovers: await stopLeftovers(ctx, rec, left, signal, timeoutMs) }
      : { already: true, rec };
  }
  if (!ctx.unlocked) throw new BgError('DAMAGED', 'key.json is missing; cannot talk to the supervisor.');
  if (rec.socket && supervisorAlive(rec)) {
    let reply: Reply;
    try {
      reply = await requestControl(
        rec.socket,
        ctx.unlocked.keys.control,
        { type: 'stop', signal, timeoutMs, reason },
        timeoutMs + 15_000,
      );
    } catch (err) {
      if (!(err instanceof Unanswered)) throw err;
      return { already: false, ...(await stopAroundSupervisor(ctx, rec, signal, timeoutMs, reason, err)) };
    }
    if (!reply.ok) throw new BgError(reply.code, reply.message);
    const after = findRecord(ctx.store.read(), rec.id) ?? rec;
    return { already: false, result: reply.stop!, rec: after, joined: reply.joined };
  }
  return { already: false, ...(await stopWithoutSupervisor(ctx, rec, signal, timeoutMs, reason)) };
}

// An ended process's background jobs (and what they started): signal, grace period, SIGKILL;
// then they are forgotten.
async function stopLeftovers(
  ctx: Context,
  rec: ProcessRecord,
  left: ProcStat[],
  signal: NodeJS.Signals,
  timeoutMs: number,
): Promise<LeftoversStopped> {
  const names = left
    .map((st) => `PID ${st.pid} (${commOf(st.pid) ?? rec.leftovers!.find((l) => l.pid === st.pid)?.name ?? '?'})`)
    .join(', ');
  const { killed } = await terminateTree({
    roots: left,
    signal,
    graceMs: timeoutMs,
    bootId: rec.bootId,
    mark: rec.treeMark,
  });
  const endedBy = killed.length ? 'SIGKILL' : signal;
  await ctx.store.update((doc) => {
    const r = findRecord(doc, rec.id);
    if (r) delete r.leftovers;
  });
  return { count: left.length, names, endedBy };
}

// The supervisor lives but did not answer before the stop was asked of it: end it (verified by
// its start time), so that it cannot restart the command or record something else, then stop
// the process without it. Whatever the command prints from then on is not logged.
async function stopAroundSupervisor(
  ctx: Context,
  rec: ProcessRecord,
  signal: NodeJS.Signals,
  timeoutMs: number,
  reason: StopReason,
  why: Unanswered,
) {
  const sup = matchIdentity({
    pid: rec.supervisorPid ?? 0,
    startTicks: rec.supervisorStartTicks,
    bootId: rec.bootId,
    leader: true,
  });
  if (sup) trySignal(sup.pid, 'SIGKILL');
  if (!(await waitFor(() => !supervisorAlive(rec), 10_000)))
    throw new BgError(
      'SUPERVISOR',
      `${why.message} Its supervisor (PID ${rec.supervisorPid}) did not end on SIGKILL either; nothing was stopped.`,
    );
  const done = await stopWithoutSupervisor(ctx, rec, signal, timeoutMs, reason);
  const note = `its supervisor (PID ${rec.supervisorPid}) did not answer (${why.message.replace(/\.$/, '')}); ended it and stopped the process directly, so its last output may be missing from the log`;
  return { ...done, note };
}

// A control socket file left by a supervisor that could not remove it (it was killed).
function removeSocket(ctx: Context, rec: ProcessRecord): void {
  if (rec.socket && path.dirname(rec.socket) === path.join(path.resolve(ctx.dataDir), 'run'))
    fs.rmSync(rec.socket, { force: true });
}

// The supervisor died (killed, crashed): signal the verified child's tree from here and
// record the end ourselves, since nobody else will.
async function stopWithoutSupervisor(
  ctx: Context,
  rec: ProcessRecord,
  signal: NodeJS.Signals,
  timeoutMs: number,
  reason: StopReason,
): Promise<{ result: StopResult; rec: ProcessRecord }> {
  const boot = bootId();
  const ident = { pid: rec.pid, startTicks: rec.startTicks, bootId: rec.bootId, leader: true };
  const child = () => matchIdentity(ident, boot);
  const { killed } = await terminateTree({
    roots: rec.startTicks === undefined ? [] : [{ pid: rec.pid, startTicks: rec.startTicks, leads: true }],
    signal,
    graceMs: timeoutMs,
    bootId: rec.bootId,
    mark: rec.treeMark,
    // Its tree as it grows, while the child is still the one recorded.
    discover: (stats) => (child() ? treeMembers(rec.pid, stats) : []),
    settled: () => !child() || child()?.state === 'Z',
  });
  const endedBy: string = killed.some((m) => m.pid === rec.pid) ? 'SIGKILL' : signal;
  const killedLeftovers = killed.filter((m) => m.pid !== rec.pid).length;
  removeSocket(ctx, rec);
  // Without its parent (the supervisor) nobody reaps the child's status: record the signal.
  const result: StopResult = { endedBy, exitCode: null, signal: endedBy, killedLeftovers };
  const updated = await ctx.store.update((doc) => {
    const r = findRecord(doc, rec.id);
    if (!r) return rec;
    r.stopRequest = { signal, at: new Date().toISOString(), reason };
    recordEnd(r, { exitCode: null, signal: endedBy });
    return { ...r };
  });
  return { result, rec: updated };
}
