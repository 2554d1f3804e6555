// The changes to a process record that more than one writer makes: looking one up, registering
// a run (the supervisor, for start_process and restart_process), recording how it ended (the
// supervisor, or stop_process when the supervisor is gone). Pure changes to a StateDoc: callers
// make them inside StateStore.update, under the lock.
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { BgError } from '../errors.ts';
import { findRecord, type ProcessRecord, type StateDoc } from './state.ts';

/** What a supervisor records of a run it starts (the rest of ProcessRecord comes later). */
export type RunFields = Pick<
  ProcessRecord,
  | 'command'
  | 'argv'
  | 'cwd'
  | 'pty'
  | 'pid'
  | 'startTicks'
  | 'bootId'
  | 'supervisorPid'
  | 'supervisorStartTicks'
  | 'socket'
  | 'treeMark'
  | 'startedAt'
  | 'maxLogSize'
  | 'restart'
  | 'name'
  | 'env'
  | 'timeoutSec'
  | 'ready'
  | 'provenance'
  | 'waitingForInput'
>;

// How the previous run of a reused record ended, and its restarts: a new run starts without them.
const PREVIOUS_RUN = [
  'ended',
  'exitCode',
  'signal',
  'endedAt',
  'stopRequest',
  'restartingAt',
  'gaveUp',
  'lastExit',
  'restarts',
  'logEnd',
  'restartClaim',
  'waitingSince',
  'waitingDetail',
] as const;

/**
 * Record a new run: under `reuseId` (restart_process: same ID, its log continued, the earlier
 * run's end cleared) or as a new record with a fresh ID. Optional fields left undefined keep
 * what the record had.
 */
export function registerRun(doc: StateDoc, run: RunFields, reuseId?: string): ProcessRecord {
  let rec: ProcessRecord;
  if (reuseId) {
    const old = findRecord(doc, reuseId);
    if (!old) throw new BgError('NOT_FOUND', `process ${reuseId} is no longer recorded; it was removed.`);
    rec = old;
    for (const k of PREVIOUS_RUN) delete rec[k];
  } else {
    let newId: string;
    do newId = randomBytes(4).toString('hex');
    while (findRecord(doc, newId));
    // logVersion 2: every segment of this log is chained (a v1 segment would be a downgrade).
    rec = {
      id: newId,
      command: '',
      argv: [],
      cwd: '',
      pty: true,
      pid: 0,
      startedAt: '',
      logFile: path.join('logs', `${newId}.log.enc`),
      logVersion: 2,
    };
    doc.processes.push(rec);
  }
  const { name, env, timeoutSec, ready, provenance, ...always } = run;
  Object.assign(rec, always);
  if (name) rec.name = name;
  if (env) rec.env = env;
  if (timeoutSec !== undefined) rec.timeoutSec = timeoutSec;
  if (ready) rec.ready = ready;
  if (provenance) rec.provenance = provenance;
  return rec;
}

/** Record how the process ended: it no longer counts as running, and is not about to restart. */
export function recordEnd(
  rec: ProcessRecord,
  exit: { exitCode: number | null; signal: string | null },
  at = new Date(),
): void {
  rec.ended = true;
  rec.exitCode = exit.exitCode;
  rec.signal = exit.signal;
  rec.endedAt = at.toISOString();
  delete rec.restartingAt;
}
