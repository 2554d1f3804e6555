// The one "live" predicate and its variant, the record lookup and the live-name check, on
// records whose identities point at this very test process (alive) and at a PID that is not.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ProcessRecord, StateDoc } from '../../skills/background-manager/scripts/lib/store/state.ts';
import { findRecord } from '../../skills/background-manager/scripts/lib/store/state.ts';
import {
  isLive,
  isLogging,
  liveNameHolder,
  liveStatus,
} from '../../skills/background-manager/scripts/lib/process/status.ts';
import { bootId, readStat } from '../../skills/background-manager/scripts/lib/process/proc.ts';

const me = readStat(process.pid)!;
const base = {
  command: 'x',
  argv: ['x'],
  cwd: '/',
  pty: false,
  startedAt: new Date(0).toISOString(),
  logFile: 'logs/x.log.enc',
  bootId: bootId(),
};
// The child is this process; the supervisor too (running) or a PID that is not ours (orphaned).
const running = (id: string, name?: string): ProcessRecord => ({
  ...base,
  id,
  name,
  pid: me.pid,
  startTicks: me.startTicks,
  supervisorPid: me.pid,
  supervisorStartTicks: me.startTicks,
});
const orphaned = (id: string, name?: string): ProcessRecord => ({
  ...running(id, name),
  supervisorStartTicks: me.startTicks + 1,
});
const ended = (id: string, name?: string): ProcessRecord => ({
  ...running(id, name),
  ended: true,
  exitCode: 0,
  signal: null,
});

test('a running process is live and logging', () => {
  assert.is(liveStatus(running('a')).status, 'running');
  assert.ok(isLive(running('a')));
  assert.ok(isLogging(running('a')));
});

test('an orphaned process (supervisor gone) is live, so it holds its name and can be stopped, but is not logging', () => {
  assert.is(liveStatus(orphaned('a')).status, 'orphaned');
  assert.ok(isLive(orphaned('a')));
  assert.not.ok(isLogging(orphaned('a')));
});

test('an ended process is neither live nor logging', () => {
  assert.not.ok(isLive(ended('a')));
  assert.not.ok(isLogging(ended('a')));
});

test('findRecord finds by the exact ID only', () => {
  const doc: StateDoc = { version: 1, processes: [running('abcd1234'), ended('abcd9999')] };
  assert.is(findRecord(doc, 'abcd9999')?.id, 'abcd9999');
  assert.is(findRecord(doc, 'abcd'), undefined);
});

test('liveNameHolder: the live process of that name, never an ended one, and not the one left out', () => {
  const doc: StateDoc = {
    version: 1,
    processes: [ended('old', 'web'), orphaned('cur', 'web'), running('other', 'db')],
  };
  assert.is(liveNameHolder(doc, 'web')?.id, 'cur');
  assert.is(liveNameHolder(doc, 'web', 'cur'), undefined);
  assert.is(liveNameHolder(doc, 'nobody'), undefined);
});

test.run();
