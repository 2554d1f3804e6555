// remove_process's operation (ops/remove.ts) in process: its checks in each front end's words,
// what it removes (records and log files), and what it refuses or keeps: a record that runs,
// or an ended one whose background jobs still run (here: this very process). Nothing is stopped.
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { CappedLogWriter, logFileOf } from '../../skills/background-manager/scripts/lib/log/format/logset.ts';
import { bootId } from '../../skills/background-manager/scripts/lib/process/proc.ts';
import {
  checkRemove,
  type RemoveRequest,
  removeProcesses,
} from '../../skills/background-manager/scripts/lib/ops/remove.ts';
import type { TargetWords } from '../../skills/background-manager/scripts/lib/ops/targets.ts';
import { SHELL_HINTS } from '../../skills/background-manager/scripts/lib/install/hints.ts';
import { TOOL_HINTS } from '../../skills/background-manager/scripts/lib/mcp/hints.ts';
import { addRecords, contextOf, endedRecord, type UnitDir, unitSuite, withUnitDir } from './harness.ts';
import { errorOf, me, runningRecord as running } from './ops-helpers.ts';

const test = unitSuite('ops/remove');

const CLI: TargetWords = {
  sweep: '--exited',
  sweepOn: '--exited',
  ids: 'IDs',
  give: 'IDs or names to remove (ls)',
  hints: SHELL_HINTS,
};
const MCP: TargetWords = {
  sweep: 'exited',
  sweepOn: 'exited: true',
  ids: 'ids',
  give: 'IDs or names to remove in ids',
  hints: TOOL_HINTS,
};
const req = (over: Partial<RemoveRequest> = {}): RemoveRequest => ({ refs: [], exited: false, force: false, ...over });

function writeLog(u: UnitDir, id: string): string {
  const file = logFileOf(u.dataDir, endedRecord(id));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const w = new CappedLogWriter(file, contextOf(u).unlocked!.keys, id, 1 << 20);
  w.append('stdout', Buffer.from('hello\n'));
  w.close();
  return file;
}

test('IDs and exited together, or neither, are refused in the words of the front end that asked', async () => {
  assert.is(await errorOf(() => checkRemove(req({ exited: true, refs: ['a'] }), CLI)), 'USAGE: --exited takes no IDs.');
  assert.is(await errorOf(() => checkRemove(req({ exited: true, refs: ['a'] }), MCP)), 'USAGE: exited takes no ids.');
  assert.is(
    await errorOf(() => checkRemove(req(), CLI)),
    'USAGE: give the process IDs or names to remove (ls), or --exited.',
  );
  assert.is(
    await errorOf(() => checkRemove(req(), MCP)),
    'USAGE: give the process IDs or names to remove in ids, or exited: true.',
  );
});

withUnitDir(test, 'an ended process is forgotten and its log deleted; one line says so', async (u) => {
  await addRecords(u, endedRecord('aaaa0001', { name: 'build' }), endedRecord('bbbb0002'));
  const log = writeLog(u, 'aaaa0001');
  const notes: string[] = [];
  const lines = await removeProcesses(contextOf(u), checkRemove(req({ refs: ['build'] }), CLI), (n) => notes.push(n));
  assert.equal(lines, ['Removed process aaaa0001 (build): echo hello']);
  assert.equal(notes, []);
  assert.not.ok(fs.existsSync(log), 'log deleted');
  assert.equal(
    contextOf(u)
      .store.read()
      .processes.map((p) => p.id),
    ['bbbb0002'],
  );
});

withUnitDir(test, 'a running process is refused without force, and nothing is removed', async (u) => {
  await addRecords(u, endedRecord('aaaa0001'), running('bbbb0002'));
  const msg = await errorOf(() =>
    removeProcesses(contextOf(u), checkRemove(req({ refs: ['aaaa0001', 'bbbb0002'] }), CLI), () => undefined),
  );
  assert.is(msg, 'REFUSED: bbbb0002 is still running; stop it first, or pass --force. Nothing was removed.');
  assert.is(contextOf(u).store.read().processes.length, 2);
});

withUnitDir(
  test,
  'the exited sweep keeps, with a note, an ended process whose background jobs still run',
  async (u) => {
    await addRecords(
      u,
      endedRecord('aaaa0001'),
      endedRecord('bbbb0002', {
        bootId: bootId(),
        leftovers: [{ pid: me.pid, startTicks: me.startTicks, name: 'node' }],
      }),
      running('cccc0003'),
    );
    const notes: string[] = [];
    const lines = await removeProcesses(contextOf(u), checkRemove(req({ exited: true }), MCP), (n) => notes.push(n));
    assert.equal(lines, ['Removed process aaaa0001: echo hello']);
    assert.equal(notes, [
      `kept bbbb0002: it left PID ${me.pid} running; the stop_process tool (ids: ["bbbb0002"]) ends it (or the remove_process tool (exited: true, force: true)).`,
    ]);
    // Named, it is refused as one that runs.
    const msg = await errorOf(() =>
      removeProcesses(contextOf(u), checkRemove(req({ refs: ['bbbb0002'] }), MCP), () => undefined),
    );
    assert.is(
      msg,
      `REFUSED: bbbb0002 left PID ${me.pid} running; stop it first, or pass force: true. Nothing was removed.`,
    );
  },
);

withUnitDir(test, 'nothing ended: nothing removed, no error', async (u) => {
  await addRecords(u, running('aaaa0001'));
  assert.equal(await removeProcesses(contextOf(u), checkRemove(req({ exited: true }), CLI), () => undefined), []);
});

test.run();
