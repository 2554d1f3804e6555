// The restart policy (supervisor/policy.ts nextStep) as a pure decision, with the clock as a
// number: each branch in microseconds instead of a 90-second end-to-end run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  nextStep,
  restartDelayMs,
  stoppedInBackoff,
  type RestartPolicy,
} from '../../skills/background-manager/scripts/supervisor/policy.ts';

const T0 = 1_700_000_000_000;
const failed = (ranMs: number) => ({ exitCode: 1, signal: null, startedAt: T0 - ranMs });
const ok = (ranMs: number) => ({ exitCode: 0, signal: null, startedAt: T0 - ranMs });
const onFailure: RestartPolicy = { mode: 'on-failure', max: 3 };

test('on-failure restarts a failed run after 0.5 s, and records when the next run starts', () => {
  const step = nextStep(failed(100), onFailure, 0, 0, undefined, T0);
  assert.equal(step, {
    action: 'restart',
    restarts: 1,
    streak: 1,
    delayMs: 500,
    restartAt: T0 + 500,
    note: 'exited with code 1; restarting in 0.5 s (restart 1 of 3)',
  });
});

test('on-failure counts a signal death as a failure', () => {
  const step = nextStep({ exitCode: null, signal: 'SIGSEGV', startedAt: T0 - 100 }, onFailure, 0, 0, undefined, T0);
  assert.is(step.action, 'restart');
  assert.ok(step.note.startsWith('killed by SIGSEGV; restarting'));
});

test('on-failure does not restart a run that exited with code 0', () => {
  assert.equal(nextStep(ok(100), onFailure, 0, 0, undefined, T0), {
    action: 'finish',
    note: 'exited with code 0',
    gaveUp: false,
  });
});

test('always restarts a run that exited with code 0', () => {
  assert.is(nextStep(ok(100), { mode: 'always', max: 3 }, 0, 0, undefined, T0).action, 'restart');
});

test('no (never) restarts nothing, and does not count as giving up', () => {
  assert.equal(nextStep(failed(100), { mode: 'no', max: 3 }, 0, 0, undefined, T0), {
    action: 'finish',
    note: 'exited with code 1',
    gaveUp: false,
  });
});

test('once every restart of the budget is used, the end is final and marked as given up', () => {
  assert.equal(nextStep(failed(100), onFailure, 3, 3, undefined, T0), {
    action: 'finish',
    note: 'exited with code 1; not restarted: all 3 restarts used',
    gaveUp: true,
  });
});

test('the back-off doubles with each quick failure in a row, up to 30 s', () => {
  let restarts = 0;
  let streak = 0;
  const delays: number[] = [];
  for (let i = 0; i < 9; i++) {
    const step = nextStep(failed(1000), { mode: 'always', max: 100 }, restarts, streak, undefined, T0);
    if (step.action !== 'restart') throw new Error('expected a restart');
    ({ restarts, streak } = step);
    delays.push(step.delayMs);
  }
  assert.equal(delays, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  assert.is(restartDelayMs(100), 30_000);
});

test('a run of 30 s or more resets the streak: the back-off starts again at 0.5 s', () => {
  const quick = nextStep(failed(29_999), onFailure, 1, 4, undefined, T0);
  assert.equal(
    [quick.action, quick.action === 'restart' && quick.streak, quick.action === 'restart' && quick.delayMs],
    ['restart', 5, 8000],
  );
  const long = nextStep(failed(30_000), onFailure, 1, 4, undefined, T0);
  assert.equal(
    [long.action, long.action === 'restart' && long.streak, long.action === 'restart' && long.delayMs],
    ['restart', 1, 500],
  );
});

test('a stop under way wins over the policy: no restart, not given up, and the note says who stopped it', () => {
  assert.equal(nextStep(failed(100), { mode: 'always', max: 3 }, 0, 0, 'stop', T0), {
    action: 'finish',
    note: 'exited with code 1 (stopped by stop_process)',
    gaveUp: false,
  });
  assert.equal(nextStep(failed(100), onFailure, 3, 0, 'restart', T0), {
    action: 'finish',
    note: 'exited with code 1 (stopped by restart_process)',
    gaveUp: false,
  });
});

test('the --timeout ends the runs as a stop: the note names it', () => {
  assert.equal(nextStep({ exitCode: null, signal: 'SIGTERM', startedAt: T0 - 5000 }, onFailure, 0, 0, 'timeout', T0), {
    action: 'finish',
    note: 'killed by SIGTERM (stopped: --timeout reached)',
    gaveUp: false,
  });
});

test('a stop during the back-off: the run that ended is the last, and the note says so', () => {
  assert.is(
    stoppedInBackoff({ exitCode: 1, signal: null }, 'remove'),
    'exited with code 1; not restarted (stopped by remove_process)',
  );
});

test.run();
