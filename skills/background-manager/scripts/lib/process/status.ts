// A process's status is checked, never just remembered: the recorded end if there is one,
// else whether the child with the recorded identity (PID, start time, boot) still lives.
import type { ProcessRecord, StateDoc } from '../store/state.ts';
import { bootId, matchIdentity, readStat, signalNumber, type ProcStat } from './proc.ts';

export type Status =
  | 'running'
  | 'orphaned' // running, but its supervisor is gone: no more logging or input; stop still works
  | 'restarting' // between runs of a --restart policy
  | 'exited'
  | 'stopped'
  | 'timeout' // stopped by its --timeout
  | 'failed' // the --restart policy gave up
  | 'killed'
  | 'zombie'
  | 'lost'
  | 'exiting'
  | 'unverified';

export const STATUSES: Status[] = [
  'running',
  'orphaned',
  'restarting',
  'exited',
  'stopped',
  'timeout',
  'failed',
  'killed',
  'zombie',
  'lost',
  'exiting',
  'unverified',
];

export interface LiveStatus {
  status: Status;
  label: string; // for the STATUS column, e.g. exited(0), stopped(SIGTERM)
  exitStatus?: number; // exit code, or 128 + signal number
}

export function exitStatusOf(
  exitCode: number | null | undefined,
  signal: string | null | undefined,
): number | undefined {
  if (typeof exitCode === 'number') return exitCode;
  if (signal) return 128 + (signalNumber(signal) ?? 0);
  return undefined;
}

export function liveStatus(rec: ProcessRecord, boot = bootId()): LiveStatus {
  if (rec.legacy) {
    // The Python skill recorded only a PID: a live PID cannot be proven to be ours.
    if (rec.pid && readStat(rec.pid)) return { status: 'unverified', label: 'unverified' };
    return rec.legacy.status === 'stopped'
      ? { status: 'stopped', label: 'stopped' }
      : { status: 'lost', label: 'lost' };
  }
  if (rec.ended) {
    const exitStatus = exitStatusOf(rec.exitCode, rec.signal);
    const how = rec.signal ?? rec.exitCode;
    if (rec.stopRequest?.reason === 'timeout') return { status: 'timeout', label: `timeout(${how})`, exitStatus };
    if (rec.stopRequest) return { status: 'stopped', label: `stopped(${how})`, exitStatus };
    if (rec.gaveUp) return { status: 'failed', label: `failed(${how})`, exitStatus };
    if (rec.signal) return { status: 'killed', label: `killed(${rec.signal})`, exitStatus };
    return { status: 'exited', label: `exited(${rec.exitCode})`, exitStatus };
  }
  const child = matchIdentity({ pid: rec.pid, startTicks: rec.startTicks, bootId: rec.bootId, leader: true }, boot);
  if (child) {
    if (child.state === 'Z') return { status: 'zombie', label: 'zombie' };
    return supervisorAlive(rec, boot)
      ? { status: 'running', label: 'running' }
      : { status: 'orphaned', label: 'orphaned' };
  }
  if (supervisorAlive(rec, boot))
    return rec.restartingAt ? { status: 'restarting', label: 'restarting' } : { status: 'exiting', label: 'exiting' };
  return { status: 'lost', label: 'lost' };
}

export function supervisorAlive(rec: ProcessRecord, boot = bootId()): boolean {
  const sup = matchIdentity(
    { pid: rec.supervisorPid ?? 0, startTicks: rec.supervisorStartTicks, bootId: rec.bootId, leader: true },
    boot,
  );
  return !!sup && sup.state !== 'Z'; // a dead supervisor nobody reaped yet is dead
}

// Still running or about to run again.
const LIVE: ReadonlySet<Status> = new Set(['running', 'orphaned', 'restarting', 'zombie', 'exiting']);

/** Still running or about to run again: what holds a name, and what stop acts on. */
export function isLive(rec: ProcessRecord, boot = bootId()): boolean {
  return LIVE.has(liveStatus(rec, boot).status);
}

/**
 * Live, and its log still written: isLive without `orphaned`. An orphaned process (its
 * supervisor gone) runs on, so it holds its name and a stop acts on it, but nobody logs its
 * output any more: a reader must not wait for more (get_logs --follow, --screen), nor take
 * a torn last record for one being written right now.
 */
export function isLogging(rec: ProcessRecord, boot = bootId()): boolean {
  const status = liveStatus(rec, boot).status;
  return LIVE.has(status) && status !== 'orphaned';
}

/** The live process that holds `name` (names are unique among live processes), `exceptId` left out. */
export function liveNameHolder(doc: StateDoc, name: string, exceptId?: string): ProcessRecord | undefined {
  return doc.processes.find((p) => p.name === name && p.id !== exceptId && isLive(p));
}

/** Background jobs the process left running that still are (same PID, start time and boot). */
export function liveLeftovers(rec: ProcessRecord, boot = bootId()): ProcStat[] {
  return (rec.leftovers ?? [])
    .map((l) => matchIdentity({ pid: l.pid, startTicks: l.startTicks, bootId: rec.bootId }, boot))
    .filter((st): st is ProcStat => !!st && st.state !== 'Z');
}
