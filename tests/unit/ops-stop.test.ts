// stop_process's operation (ops/stop.ts) in process: its checks and their messages in each
// front end's words, its defaults, the signal names it takes, and the stops of records that
// signal nothing (ended, or a Python-era PID it refuses). No process is signalled.
import * as assert from 'uvu/assert';
import { type BgError, EXIT } from '../../skills/background-manager/scripts/lib/errors.ts';
import type { StopOutcome } from '../../skills/background-manager/scripts/lib/control/stop.ts';
import type { StopResult } from '../../skills/background-manager/scripts/lib/control/protocol.ts';
import { STOP_GRACE_SEC } from '../../skills/background-manager/scripts/lib/ops/defaults.ts';
import {
  checkStop,
  describeStop,
  type StopRequest,
  type StopWords,
  signalOf,
  stopFailedLine,
  stopTargets,
} from '../../skills/background-manager/scripts/lib/ops/stop.ts';
import { readStat } from '../../skills/background-manager/scripts/lib/process/proc.ts';
import { howToRun, SHELL_HINTS } from '../../skills/background-manager/scripts/lib/install/hints.ts';
import { TOOL_HINTS } from '../../skills/background-manager/scripts/lib/mcp/hints.ts';
import { addRecords, contextOf, endedRecord, unitSuite, withUnitDir } from './harness.ts';
import { errorOf } from './ops-helpers.ts';

const test = unitSuite('ops/stop');

const CLI: StopWords = {
  sweep: '--all',
  sweepOn: '--all',
  ids: 'IDs',
  give: 'ID or name (list them with: ls)',
  timeout: '--timeout',
  shown: () => 'as-typed',
  hints: SHELL_HINTS,
};
const MCP: StopWords = {
  sweep: 'all',
  sweepOn: 'all: true',
  ids: 'ids',
  give: 'IDs or names in ids (list_processes shows them)',
  timeout: 'timeout',
  hints: TOOL_HINTS,
};
const req = (over: Partial<StopRequest> = {}): StopRequest => ({ refs: ['a'], all: false, force: false, ...over });

test('IDs and all together, or neither, are refused in the words of the front end that asked', async () => {
  assert.is(await errorOf(() => checkStop(req({ all: true }), CLI)), 'USAGE: --all takes no IDs.');
  assert.is(await errorOf(() => checkStop(req({ all: true }), MCP)), 'USAGE: all takes no ids.');
  assert.is(
    await errorOf(() => checkStop(req({ refs: [] }), CLI)),
    'USAGE: give the process ID or name (list them with: ls), or --all.',
  );
  assert.is(
    await errorOf(() => checkStop(req({ refs: [] }), MCP)),
    'USAGE: give the process IDs or names in ids (list_processes shows them), or all: true.',
  );
  assert.is(checkStop(req({ refs: [], all: true }), CLI).all, true);
});

test('no signal and no timeout: SIGTERM, then SIGKILL after STOP_GRACE_SEC', () => {
  const order = checkStop(req(), MCP);
  assert.is(order.signal, 'SIGTERM');
  assert.is(order.timeoutSec, STOP_GRACE_SEC);
  assert.is(STOP_GRACE_SEC, 5);
});

test('a signal is taken in any case, with or without SIG; an unknown one is refused; force is SIGKILL whatever it says', async () => {
  assert.is(signalOf('int'), 'SIGINT');
  assert.is(signalOf('SIGhup'), 'SIGHUP');
  assert.is(signalOf('sigterm'), 'SIGTERM');
  assert.is(checkStop(req({ signal: 'quit' }), CLI).signal, 'SIGQUIT');
  assert.is(
    await errorOf(() => checkStop(req({ signal: 'BOGUS' }), CLI)),
    'USAGE: unknown signal "BOGUS". Use a name like TERM, INT, HUP, QUIT or KILL.',
  );
  assert.is(checkStop(req({ signal: 'BOGUS', force: true }), CLI).signal, 'SIGKILL');
});

test('the grace period is checked before the signal, named and shown as the front end gives it', async () => {
  assert.is(
    await errorOf(() => checkStop(req({ timeoutSec: -1, signal: 'BOGUS' }), CLI)),
    'USAGE: --timeout must be a number of seconds, 0 or more (got as-typed).',
  );
  assert.is(
    await errorOf(() => checkStop(req({ timeoutSec: Number.NaN }), MCP)),
    'USAGE: timeout must be a number of seconds, 0 or more (got NaN).',
  );
  assert.is(checkStop(req({ timeoutSec: 0 }), MCP).timeoutSec, 0);
});

withUnitDir(test, 'an ended process: nothing to stop, exit 0; a name given twice is stopped once', async (u) => {
  await addRecords(u, endedRecord('aaaa0001', { name: 'web', exitCode: 3 }));
  const report = await stopTargets(contextOf(u), checkStop(req({ refs: ['web', 'aaaa0001'] }), CLI));
  assert.is(report.exitCode, EXIT.OK);
  assert.is(report.results.length, 1);
  const [r] = report.results;
  assert.ok(r!.ok);
  assert.is(r!.ok && r!.text, 'Process aaaa0001 is not running (exited(3)); nothing to stop.');
});

withUnitDir(
  test,
  'all with nothing live: no results (said as NOTHING_TO_STOP); an unknown ID among several: nothing stopped',
  async (u) => {
    await addRecords(u, endedRecord('aaaa0001'));
    assert.equal((await stopTargets(contextOf(u), checkStop(req({ refs: [], all: true }), CLI))).results, []);
    try {
      await stopTargets(contextOf(u), checkStop(req({ refs: ['aaaa0001', 'nosuch'] }), CLI));
      assert.unreachable('an unknown ID is refused');
    } catch (err) {
      assert.is((err as BgError).code, 'NOT_FOUND');
      assert.match((err as BgError).message, /^no process with ID or name "nosuch" .*\. Nothing was stopped\.$/);
    }
    // How to list them, in each front end's words: a shell command, or the tool.
    assert.is(
      await errorOf(() => stopTargets(contextOf(u), checkStop(req({ refs: ['nosuch'] }), CLI))),
      `NOT_FOUND: no process with ID or name "nosuch" (list them with: ${howToRun('list_processes')}).`,
    );
    assert.is(
      await errorOf(() => stopTargets(contextOf(u), checkStop(req({ refs: ['nosuch'] }), MCP))),
      'NOT_FOUND: no process with ID or name "nosuch" (list them with: the list_processes tool).',
    );
  },
);

withUnitDir(test, 'a stop that fails is reported with its code and exit code; the others still run', async (u) => {
  // A Python-era record whose PID (this process) exists: refused, never signalled.
  const legacy = endedRecord('bbbb0002', { ended: false, legacy: {}, pid: process.pid });
  await addRecords(u, endedRecord('aaaa0001'), legacy);
  const report = await stopTargets(contextOf(u), checkStop(req({ refs: ['bbbb0002', 'aaaa0001'] }), MCP));
  assert.is(report.exitCode, EXIT.FAILED);
  const [failed, stopped] = report.results;
  assert.ok(stopped!.ok);
  assert.ok(failed && !failed.ok);
  if (failed && !failed.ok) {
    assert.is(failed.error.code, 'REFUSED');
    assert.match(stopFailedLine(failed), /^stop_process: error: bbbb0002: process bbbb0002 was started by the Python/);
  }
  assert.ok(readStat(process.pid), 'this process still runs');
});

test('describeStop says which signal ended it, SIGKILL after the grace period, and the leftovers', () => {
  const rec = endedRecord('aaaa0001', { pid: 42 });
  const out = (result: Partial<StopResult>): StopOutcome => ({
    already: false,
    rec,
    result: { endedBy: 'SIGTERM', exitCode: null, signal: 'SIGTERM', killedLeftovers: 0, ...result },
  });
  assert.is(
    describeStop(rec, out({}), 'SIGTERM', 5),
    'Stopped process aaaa0001 (PID 42): SIGTERM ended it (exit status 143).',
  );
  assert.is(
    describeStop(rec, out({ endedBy: 'SIGKILL', signal: 'SIGKILL', killedLeftovers: 2 }), 'SIGINT', 0.5),
    'Stopped process aaaa0001 (PID 42): it did not exit within 0.5 s of SIGINT; SIGKILL ended it (exit status 137); 2 leftover processes killed with SIGKILL.',
  );
  assert.is(
    describeStop(rec, out({ endedBy: 'SIGKILL', signal: 'SIGKILL' }), 'SIGKILL', 5),
    'Stopped process aaaa0001 (PID 42): SIGKILL ended it (exit status 137).',
  );
  assert.is(
    describeStop(
      rec,
      { already: true, rec, leftovers: { count: 1, names: 'PID 7 (sleep)', endedBy: 'SIGKILL' } },
      'SIGTERM',
      5,
    ),
    'Process aaaa0001 is not running (exited(0)); stopped what it left running: PID 7 (sleep): SIGKILL ended it after 5 s.',
  );
});

test.run();
