// list_processes's operation (ops/list.ts) in process: the status filter, the empty answers,
// the JSON (no socket, no environment values, nulls for an unknown end) and the table's columns.
import * as assert from 'uvu/assert';
import {
  emptyListText,
  listed,
  listedJson,
  processTable,
} from '../../skills/background-manager/scripts/lib/ops/list.ts';
import { addRecords, contextOf, endedRecord, unitSuite, withUnitDir } from './harness.ts';
import { runningRecord } from './ops-helpers.ts';

const test = unitSuite('ops/list');

test('an empty listing names the status asked for, or the data dir', () => {
  assert.is(emptyListText('running', '/d'), 'No processes with status running.');
  assert.is(emptyListText(undefined, '/d\nx'), 'No managed processes in /d\\nx.');
});

withUnitDir(test, 'each process with its status checked now; a status keeps only those', async (u) => {
  await addRecords(u, endedRecord('aaaa0001', { exitCode: 3 }), runningRecord('bbbb0002', { name: 'web' }));
  const doc = contextOf(u).store.read();
  assert.equal(
    listed(doc).map((r) => `${r.p.id} ${r.s.label}`),
    ['aaaa0001 exited(3)', 'bbbb0002 running'],
  );
  assert.equal(
    listed(doc, 'exited').map((r) => r.p.id),
    ['aaaa0001'],
  );
  assert.equal(listed(doc, 'lost'), []);
  const table = processTable(listed(doc)).split('\n');
  assert.match(table[0]!, /^ID {8}PID +STATUS +STARTED +NAME +RESTARTS +PORTS +INPUT +COMMAND$/);
  assert.match(table[1]!, /^aaaa0001 +999999999 +exited\(3\) +\S+ \S+ +- +0 +- +- +echo hello$/);
  assert.match(table[2]!, /^bbbb0002 .* web +0 +/);
});

test('the JSON of a process: no socket or environment values, and null for what is not known', () => {
  const p = endedRecord('aaaa0001', { socket: '/run/x.sock', env: { SECRET: 'v' }, exitCode: undefined });
  const j = listedJson({ p, s: { status: 'lost', label: 'lost' }, ports: [8080], leftovers: [] });
  assert.is(j.socket, undefined);
  assert.is(j.env, undefined);
  assert.equal(j.envKeys, ['SECRET']);
  assert.is(j.exitCode, null);
  assert.is(j.exitStatus, null);
  assert.equal([j.status, j.ports, j.restarts, j.legacy], ['lost', [8080], 0, false]);
});

test.run();
