// What the record says of a process's wait for input (its supervisor's input watch,
// supervisor/waiting.ts), as every front end shows it: true waiting, false not, null cannot
// tell. Only a running process with a live supervisor can wait; one whose supervisor has no
// watch (an earlier version), or is gone (orphaned), cannot be told.
import type { ProcessRecord } from '../store/state.ts';
import type { LiveStatus } from './status.ts';

/** Whether `rec` (with status `s`, checked live) waits for input now: true, false, or null (unknown). */
export function waitingOf(rec: ProcessRecord, s: LiveStatus): boolean | null {
  if (s.status === 'orphaned') return null;
  if (s.status !== 'running') return false;
  return rec.waitingForInput === undefined ? null : rec.waitingForInput;
}

/** The list table's INPUT column: wait, - (not waiting), ? (cannot tell). */
export function waitingCell(w: boolean | null): string {
  return w === null ? '?' : w ? 'wait' : '-';
}
