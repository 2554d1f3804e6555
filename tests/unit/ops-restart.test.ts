// restart_process's use case (lib/ops/restart.ts) and its wait (lib/ops/ready.ts), in process:
// which wait a restart asks for from each front end, the checks and their messages, the
// refusals made before anything is stopped, a restart another call made (joined), and a failed
// wait's words with the run's last lines. Records point at no live process; nothing is spawned.
import fs from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { BgError } from '../../skills/background-manager/scripts/lib/errors.ts';
import { CappedLogWriter, logFileOf } from '../../skills/background-manager/scripts/lib/log/format/logset.ts';
import { awaitReady, restartWait } from '../../skills/background-manager/scripts/lib/ops/ready.ts';
import {
  checkRestart,
  type RestartRequest,
  restartedLine,
  restartRecord,
} from '../../skills/background-manager/scripts/lib/ops/restart.ts';
import type { ProcessRecord } from '../../skills/background-manager/scripts/lib/store/state.ts';
import { howToRun } from '../../skills/background-manager/scripts/lib/install/hints.ts';
import { addRecords, contextOf, endedRecord, type UnitDir, unitSuite, withUnitDir } from './harness.ts';
import { CLI, CLI_WAITS, MCP, MCP_WAITS } from './ops-fronts.ts';
import { runningRecord } from './ops-helpers.ts';

const test = unitSuite('ops/restart');

const started = endedRecord('aaaa0001', { ready: { pattern: 'ready', timeoutSec: 7 } });
const plain = endedRecord('aaaa0002');

/** The USAGE message of checkRestart then restartWait for `req` on `rec`, or '' if both pass. */
function refusal(req: RestartRequest, rec: ProcessRecord, fe = CLI): string {
  try {
    checkRestart(req, fe);
    restartWait(rec, req, fe, fe === CLI ? CLI_WAITS : MCP_WAITS);
    return '';
  } catch (err) {
    if (!(err instanceof BgError)) throw err;
    assert.is(err.code, 'USAGE');
    return err.message;
  }
}

test('a restart waits as the process was started, with its timeout, unless told otherwise', () => {
  const same = restartWait(started, {}, CLI, CLI_WAITS);
  assert.equal(same.ready, { pattern: 'ready', timeoutSec: 7 });
  assert.ok(same.pattern?.test('ready now'));
  assert.equal(restartWait(started, { waitTimeout: 2 }, MCP, MCP_WAITS).ready, { pattern: 'ready', timeoutSec: 2 });
  assert.equal(restartWait(started, { wait: false }, CLI, CLI_WAITS), {});
  assert.equal(restartWait(plain, {}, CLI, CLI_WAITS), {});
});

test('told what to wait for: the script keeps the timeout from the start (else 60), MCP uses its 30', () => {
  assert.equal(restartWait(started, { waitPort: 80 }, CLI, CLI_WAITS).ready, {
    pattern: undefined,
    port: 80,
    timeoutSec: 7,
  });
  assert.is(restartWait(plain, { waitPort: 80 }, CLI, CLI_WAITS).ready?.timeoutSec, 60);
  assert.is(restartWait(started, { waitPort: 80 }, MCP, MCP_WAITS).ready?.timeoutSec, 30);
});

test('the wait checks and their messages, named as each front end names its options', () => {
  assert.is(
    refusal({ waitTimeout: 5 }, plain),
    '--wait-timeout needs something to wait for: process aaaa0002 was started without --wait-for or --wait-port, so give one.',
  );
  assert.is(
    refusal({ waitTimeout: 5, wait: false }, started, MCP),
    'wait_timeout needs something to wait for: process aaaa0001 was started without wait_for or wait_port, so give one.',
  );
  assert.is(
    refusal({ waitFor: 'x', wait: false }, started),
    '--no-wait and --wait-for/--wait-port contradict each other: give one.',
  );
  assert.is(
    refusal({ waitPort: 1, wait: false }, started, MCP),
    'wait: false and wait_for/wait_port contradict each other: give one.',
  );
  assert.is(refusal({ waitPort: 0 }, started), '--wait-port must be a TCP port, 1 to 65535 (got typed).');
  assert.is(refusal({ graceSec: -1 }, started), '--timeout must be a number of seconds, 0 or more (got typed).');
  assert.is(refusal({ graceSec: 0 }, started), '');
  // As the script always checked them: the values before the contradiction.
  assert.match(refusal({ waitTimeout: 0, waitFor: '(', wait: false }, started), /^--wait-timeout must be/);
});

test('what a restart says: the new run, or the run another call started', () => {
  const rec = endedRecord('aaaa0003', { name: 'web' });
  const run = { started: { id: 'aaaa0003', pid: 42 } };
  assert.is(
    restartedLine(rec, { ...run, how: 'stopped by SIGTERM' }),
    'Restarted process aaaa0003 (PID 42; stopped by SIGTERM).',
  );
  assert.is(
    restartedLine(rec, { ...run, how: '', joined: true }),
    'Process aaaa0003 (web) was restarted by another call meanwhile (PID 42).',
  );
});

async function refusedRestart(u: UnitDir, rec: ProcessRecord, fe = CLI): Promise<BgError> {
  await addRecords(u, rec);
  try {
    await restartRecord(contextOf(u), rec, { hints: fe.hints });
  } catch (err) {
    assert.instance(err, BgError);
    return err as BgError;
  }
  throw new Error('restarted');
}

withUnitDir(test, "a Python skill's record is refused: start its command anew", async (u) => {
  const err = await refusedRestart(u, endedRecord('aaaa0004', { legacy: {} }));
  assert.is(err.code, 'REFUSED');
  assert.is(
    err.message,
    `process aaaa0004 comes from the Python skill; start its command anew with ${howToRun('start_process')}.`,
  );
  const mcp = await refusedRestart(u, endedRecord('aaaa0014', { legacy: {} }), MCP);
  assert.is(
    mcp.message,
    'process aaaa0014 comes from the Python skill; start its command anew with the start_process tool.',
  );
});

withUnitDir(test, 'a record whose folder is gone is refused before the stop, with the fix for a restart', async (u) => {
  const gone = path.join(u.dir, 'gone');
  const err = await refusedRestart(u, endedRecord('aaaa0005', { cwd: gone }));
  assert.is(err.code, 'CANNOT_START');
  assert.is(
    err.message,
    `process aaaa0005 was not stopped: working folder ${gone} does not exist. Create it or start the command anew with ${howToRun('start_process')} and another --cwd.`,
  );
  const mcp = await refusedRestart(u, endedRecord('aaaa0015', { cwd: gone }), MCP);
  assert.is(
    mcp.message,
    `process aaaa0015 was not stopped: working folder ${gone} does not exist. Create it or start the command anew with the start_process tool and another cwd.`,
  );
  fs.writeFileSync(gone, '');
  const file = await refusedRestart(u, endedRecord('aaaa0016', { cwd: gone }), MCP);
  assert.is(
    file.message,
    `process aaaa0016 was not stopped: working folder ${gone} is not a folder. Start the command anew with the start_process tool and another cwd.`,
  );
});

withUnitDir(test, 'a run another call has restarted already is joined: nothing is started', async (u) => {
  const now = endedRecord('aaaa0006', { startedAt: new Date().toISOString(), pid: 999_999_998 });
  await addRecords(u, now);
  // This call saw the run before: the record now holds a newer one, which it joins.
  const before = { ...now, startedAt: new Date(0).toISOString() };
  const r = await restartRecord(contextOf(u), before, { hints: CLI.hints });
  assert.equal(r, { started: { id: 'aaaa0006', pid: 999_999_998 }, how: '', joined: true });
});

withUnitDir(test, 'a wait on a run that has ended says so, with the last 20 lines of this run', async (u) => {
  const rec = endedRecord('aaaa0007');
  await addRecords(u, rec);
  const ctx = contextOf(u);
  const file = logFileOf(u.dataDir, rec);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const w = new CappedLogWriter(file, ctx.unlocked!.keys, rec.id, 1 << 20);
  for (let i = 1; i <= 25; i++) w.append('stdout', Buffer.from(`line ${i}\n`));
  w.close();
  const wait = restartWait({ ...rec, ready: { pattern: 'never', timeoutSec: 5 } }, {}, CLI, CLI_WAITS);
  const out = await awaitReady(ctx, rec.id, wait, CLI.hints);
  if (out.ready) throw new Error('ready');
  assert.is(out.why, 'ended');
  assert.is(out.message, 'process aaaa0007 ended (exited(0)) before a line matched /never/. Its last lines:');
  assert.equal(
    out.tail.map((l) => l.bytes.toString()),
    Array.from({ length: 20 }, (_, i) => `line ${i + 6}`),
  );
});

test.run();

withUnitDir(test, "a wait that times out says how to stop what runs on, in each front end's words", async (u) => {
  // A live record (this test process), named: the hint stops it by name.
  const rec = runningRecord('aaaa0008', { name: 'web' });
  await addRecords(u, rec);
  const ctx = contextOf(u);
  const file = logFileOf(u.dataDir, rec);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  new CappedLogWriter(file, ctx.unlocked!.keys, rec.id, 1 << 20).close();
  for (const [fe, stop] of [
    [CLI, `${howToRun('stop_process')} web`],
    [MCP, 'the stop_process tool (ids: ["web"])'],
  ] as const) {
    const wait = restartWait({ ...rec, ready: { pattern: 'never', timeoutSec: 0.2 } }, {}, fe, MCP_WAITS);
    const out = await awaitReady(ctx, rec.id, wait, fe.hints);
    if (out.ready) throw new Error('ready');
    assert.is(out.why, 'timeout');
    assert.is(
      out.message,
      `no line matched /never/ within 0.2 s; process aaaa0008 is still running (stop it with ${stop}). It printed nothing.`,
    );
  }
});
