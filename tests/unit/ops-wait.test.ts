// wait_process's operation (ops/wait.ts) in process: its timeout check, and how a wait ends:
// the exit status of an ended process, 125 when none was recorded, 124 when the timeout passes
// (the process here is this one), a cancelled wait, and a record removed while waiting.
import * as assert from 'uvu/assert';
import {
  checkWait,
  EXIT_TIMEOUT,
  EXIT_UNKNOWN,
  endedText,
  stillRunningText,
  waitProcess,
} from '../../skills/background-manager/scripts/lib/ops/wait.ts';
import { SHELL_HINTS } from '../../skills/background-manager/scripts/lib/install/hints.ts';
import { addRecords, contextOf, endedRecord, unitSuite, withUnitDir } from './harness.ts';
import { errorOf, runningRecord as running } from './ops-helpers.ts';

const test = unitSuite('ops/wait');

test('the timeout is checked when given, in the words of the front end; none is no limit', async () => {
  assert.equal(checkWait({ ref: 'a' }, { timeout: '--timeout', hints: SHELL_HINTS }), { ref: 'a', hints: SHELL_HINTS });
  assert.is(
    await errorOf(() =>
      checkWait({ ref: 'a', timeoutSec: -3 }, { timeout: '--timeout', shown: () => '-3.0', hints: SHELL_HINTS }),
    ),
    'USAGE: --timeout must be a number of seconds, 0 or more (got -3.0).',
  );
  assert.equal(EXIT_TIMEOUT, 124);
  assert.equal(EXIT_UNKNOWN, 125);
});

withUnitDir(test, 'an ended process: its exit status, or 125 when it ended with none recorded', async (u) => {
  await addRecords(
    u,
    endedRecord('aaaa0001', { exitCode: 3, name: 'build' }),
    endedRecord('bbbb0002', { ended: false, exitCode: undefined }),
  );
  const r = await waitProcess(contextOf(u), { ref: 'build', hints: SHELL_HINTS });
  assert.equal([r.done, r.ended, r.exitCode, endedText(r)], [true, true, 3, 'Process aaaa0001 ended: exited(3)']);
  const lost = await waitProcess(contextOf(u), { ref: 'bbbb0002', timeoutSec: 1, hints: SHELL_HINTS });
  assert.equal([lost.ended, lost.status.label, lost.exitCode], [true, 'lost', EXIT_UNKNOWN]);
});

withUnitDir(test, 'a process that runs past the timeout: 124, and the sentence that says so', async (u) => {
  await addRecords(u, running('aaaa0001'));
  const r = await waitProcess(contextOf(u), { ref: 'aaaa0001', timeoutSec: 0.2, hints: SHELL_HINTS });
  assert.equal([r.done, r.ended, r.exitCode], [false, false, EXIT_TIMEOUT]);
  assert.is(stillRunningText(r), 'aaaa0001 is still running after 0.2 s.');
});

withUnitDir(test, 'a cancelled wait ends at once, not ended (124)', async (u) => {
  await addRecords(u, running('aaaa0001'));
  const r = await waitProcess(
    contextOf(u),
    { ref: 'aaaa0001', timeoutSec: 60, hints: SHELL_HINTS },
    AbortSignal.abort(),
  );
  assert.equal([r.done, r.ended, r.exitCode], [true, false, EXIT_TIMEOUT]);
});

withUnitDir(test, 'a record removed while waiting is an error (NOT_FOUND)', async (u) => {
  await addRecords(u, running('aaaa0001'));
  const ctx = contextOf(u);
  const waiting = errorOf(() => waitProcess(ctx, { ref: 'aaaa0001', timeoutSec: 10, hints: SHELL_HINTS }));
  await ctx.store.update((d) => {
    d.processes = [];
  });
  assert.is(await waiting, 'NOT_FOUND: process aaaa0001 was removed while waiting.');
});

test.run();
