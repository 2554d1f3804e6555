// What the ops tests share: a record whose process is this test process (so it runs, and is
// never signalled by a test: only refusals are asked of it), and the error a call ends with.
import * as assert from 'uvu/assert';
import { BgError } from '../../skills/background-manager/scripts/lib/errors.ts';
import { bootId, readStat } from '../../skills/background-manager/scripts/lib/process/proc.ts';
import type { ProcessRecord } from '../../skills/background-manager/scripts/lib/store/state.ts';
import { endedRecord } from './harness.ts';

export const me = readStat(process.pid)!;

/** A record that runs: its child and its supervisor are this process. */
export function runningRecord(id: string, over: Partial<ProcessRecord> = {}): ProcessRecord {
  return endedRecord(id, {
    ended: false,
    exitCode: undefined,
    pid: me.pid,
    startTicks: me.startTicks,
    supervisorPid: me.pid,
    supervisorStartTicks: me.startTicks,
    bootId: bootId(),
    ...over,
  });
}

/** `CODE: message` of the BgError that `call` throws or rejects with. */
export async function errorOf(call: () => unknown): Promise<string> {
  try {
    await call();
  } catch (err) {
    assert.instance(err, BgError);
    return `${(err as BgError).code}: ${(err as BgError).message}`;
  }
  throw new Error('expected an error');
}
