// Each command's main(argv), called in this process as its entry script calls it: what it
// prints on stdout and stderr and the exit code, on records and logs a test wrote itself.
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { main as listMain } from '../../skills/background-manager/scripts/lib/commands/list_processes.ts';
import { main as logsMain } from '../../skills/background-manager/scripts/lib/commands/get_logs.ts';
import { main as removeMain } from '../../skills/background-manager/scripts/lib/commands/remove_process.ts';
import { main as waitMain } from '../../skills/background-manager/scripts/lib/commands/wait_process.ts';
import { CappedLogWriter, logFileOf } from '../../skills/background-manager/scripts/lib/log/format/logset.ts';
import { bootId, readStat } from '../../skills/background-manager/scripts/lib/process/proc.ts';
import { addRecords, callMain, contextOf, endedRecord, type UnitDir, unitSuite, withUnitDir } from './harness.ts';

const test = unitSuite('commands main(argv)');

const withDir = (name: string, fn: (u: UnitDir) => Promise<void> | void) => withUnitDir(test, name, fn);

const list = (u: UnitDir, ...argv: string[]) => callMain('list_processes', listMain, argv, u.env);
const logs = (u: UnitDir, ...argv: string[]) => callMain('get_logs', logsMain, argv, u.env);
const remove = (u: UnitDir, ...argv: string[]) => callMain('remove_process', removeMain, argv, u.env);
const wait = (u: UnitDir, ...argv: string[]) => callMain('wait_process', waitMain, argv, u.env);

/** Append output lines to a process's log, as its supervisor would. */
function writeLog(u: UnitDir, id: string, lines: string[]): void {
  const ctx = contextOf(u);
  const file = logFileOf(u.dataDir, endedRecord(id));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const w = new CappedLogWriter(file, ctx.unlocked!.keys, id, 1 << 20);
  for (const l of lines) w.append(l.startsWith('E:') ? 'stderr' : 'stdout', Buffer.from(`${l}\n`));
  w.close();
}

withDir('list_processes on an empty data dir says there is nothing, exit 0', async (u) => {
  const r = await list(u);
  assert.is(r.code, 0);
  assert.is(r.stdout, `No managed processes in ${u.dataDir}.\n`);
  assert.is(r.stderr, '');
});

withDir('list_processes shows an ended record with its exit code, as a table and as JSON', async (u) => {
  await addRecords(u, endedRecord('aaaa0001', { exitCode: 3, name: 'build' }));
  const r = await list(u);
  assert.is(r.code, 0);
  assert.match(r.stdout, /aaaa0001.*exited\(3\).*echo hello/);
  const j = JSON.parse((await list(u, '--json')).stdout);
  assert.is(j[0].id, 'aaaa0001');
  assert.is(j[0].status, 'exited');
  assert.is(j[0].exitCode, 3);
  assert.is(j[0].name, 'build');
});

withDir('get_logs -n 2 prints the last two lines of a log the test wrote', async (u) => {
  await addRecords(u, endedRecord('aaaa0001'));
  writeLog(u, 'aaaa0001', ['one', 'two', 'three']);
  const r = await logs(u, 'aaaa0001', '-n', '2');
  assert.is(r.stderr, '');
  assert.is(r.code, 0);
  assert.is(r.stdout, 'two\nthree\n');
});

withDir('get_logs --new prints each line once: all at first, then nothing, then only what came after', async (u) => {
  await addRecords(u, endedRecord('aaaa0001'));
  writeLog(u, 'aaaa0001', ['one', 'two']);
  assert.is((await logs(u, 'aaaa0001', '--new')).stdout, 'one\ntwo\n');
  assert.is((await logs(u, 'aaaa0001', '--new')).stdout, '');
  writeLog(u, 'aaaa0001', ['three']);
  const r = await logs(u, 'aaaa0001', '--new');
  assert.is(r.code, 0);
  assert.is(r.stdout, 'three\n');
  // The position is in the state, through the state module.
  assert.ok(contextOf(u).store.read().processes[0]!.newCursor, 'cursor saved');
});

withDir('get_logs --grep matches across both streams; its --new position is its own', async (u) => {
  await addRecords(u, endedRecord('aaaa0001'));
  writeLog(u, 'aaaa0001', ['ok 1', 'E: failed 1', 'ok 2', 'E: failed 2']);
  assert.is((await logs(u, 'aaaa0001', '--grep', 'failed', '-n', '0')).stdout, 'E: failed 1\nE: failed 2\n');
  assert.is((await logs(u, 'aaaa0001', '--new', '--grep', 'failed')).stdout, 'E: failed 1\nE: failed 2\n');
  assert.is((await logs(u, 'aaaa0001', '--new')).stdout, 'ok 1\nE: failed 1\nok 2\nE: failed 2\n'); // not marked read by the grep view
});

withDir('get_logs --wait-for on an ended process prints the matching line, exit 0', async (u) => {
  await addRecords(u, endedRecord('aaaa0001'));
  writeLog(u, 'aaaa0001', ['starting', 'listening on 8080', 'later']);
  const r = await logs(u, 'aaaa0001', '--wait-for', 'listening', '--timeout', '5');
  assert.is(r.code, 0);
  assert.is(r.stdout, 'listening on 8080\n');
});

withDir('get_logs --wait-for on an ended process with no match: exit 5 and its last lines', async (u) => {
  await addRecords(u, endedRecord('aaaa0001'));
  writeLog(u, 'aaaa0001', ['starting', 'crashed']);
  const r = await logs(u, 'aaaa0001', '--wait-for', 'listening', '--timeout', '5');
  assert.is(r.code, 5);
  assert.is(r.stderr, 'get_logs: the process ended before a line matched /listening/; its last lines:\n');
  assert.is(r.stdout, 'starting\ncrashed\n');
});

withDir('wait_process on an ended record exits with its exit code at once', async (u) => {
  await addRecords(u, endedRecord('aaaa0001', { exitCode: 7 }));
  const r = await wait(u, 'aaaa0001');
  assert.is(r.code, 7);
  assert.is(r.stdout, 'Process aaaa0001 ended: exited(7)\n');
});

withDir('remove_process forgets an ended record and deletes its log', async (u) => {
  await addRecords(u, endedRecord('aaaa0001'), endedRecord('aaaa0002'));
  writeLog(u, 'aaaa0001', ['bye']);
  const r = await remove(u, 'aaaa0001');
  assert.is(r.code, 0);
  assert.is(r.stdout, 'Removed process aaaa0001: echo hello\n');
  assert.equal(
    contextOf(u)
      .store.read()
      .processes.map((p) => p.id),
    ['aaaa0002'],
  );
  assert.not.ok(fs.existsSync(logFileOf(u.dataDir, endedRecord('aaaa0001'))));
});

withDir('remove_process refuses a running process without --force (exit 1), and removes nothing', async (u) => {
  // This test process itself, recorded by its identity: live (orphaned: no supervisor). Never --force here.
  const me = readStat(process.pid)!;
  await addRecords(
    u,
    endedRecord('aaaa0001', {
      ended: undefined,
      exitCode: undefined,
      endedAt: undefined,
      pid: process.pid,
      startTicks: me.startTicks,
      bootId: bootId(),
    }),
  );
  const r = await remove(u, 'aaaa0001');
  assert.is(r.code, 1);
  assert.is(
    r.stderr,
    'remove_process: error: aaaa0001 is still running; stop it first, or pass --force. Nothing was removed.\n',
  );
  assert.is(contextOf(u).store.read().processes.length, 1);
});

withDir('bad arguments: exit 2 with one line naming the fix', async (u) => {
  for (const [r, want] of [
    [
      await logs(u, 'aaaa0001', '-n', '-3'),
      /^get_logs: error: -n must be a whole number of lines, 0 or more \(got -3\)\.\n$/,
    ],
    [await logs(u, 'aaaa0001', '--since', 'yesterday'), /^get_logs: error: --since "yesterday" is not a time/],
    [await logs(u, 'aaaa0001', '--grep', '('), /^get_logs: error: --grep "\(" is not a valid regular expression/],
    [
      await logs(u, 'aaaa0001', '--timeout', '5'),
      /^get_logs: error: --timeout applies only to --follow and --wait-for/,
    ],
    [await remove(u), /^remove_process: error: give the process IDs or names to remove/],
  ] as const) {
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, want);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.is(r.stdout, '');
  }
});

withDir('the wrong password: exit 3 and one line, nothing read', async (u) => {
  await addRecords(u, endedRecord('aaaa0001'));
  const r = await callMain('list_processes', listMain, [], { ...u.env, BG_PASSWORD: 'wrong' });
  assert.is(r.code, 3);
  assert.match(r.stderr, /^list_processes: error: wrong BG_PASSWORD/);
  assert.is(r.stderr.trim().split('\n').length, 1);
  assert.is(r.stdout, '');
});

test.run();
