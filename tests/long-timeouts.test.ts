// Durations beyond Node's timer limit (2^31 - 1 ms, about 24.8 days): a plain setTimeout fires
// them at once with a TimeoutOverflowWarning, so --timeout 3000000 stopped a process straight
// away. Each duration option must wait as long as it says, or be refused with exit 2.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { alive, records, run, start, waitFor, withSandbox, ROOT, SCRIPTS } from './helpers.ts';
import { MAX_DURATION_SEC, MAX_TIMER_MS, setLongTimeout } from '../skills/background-manager/scripts/lib/util/timer.ts';

const logs = async (sb: Parameters<typeof run>[0], ref: string) => (await run(sb, 'get_logs.ts', [ref])).stdout;

/** A fake clock and timer queue: time moves only when the test says. */
function fakeTime() {
  let t = 0;
  const queue: { at: number; fn: () => void; live: boolean }[] = [];
  const steps: number[] = [];
  return {
    steps,
    now: () => t,
    schedule: (fn: () => void, ms: number) => {
      steps.push(ms);
      const e = { at: t + ms, fn, live: true };
      queue.push(e);
      return { clear: () => void (e.live = false) };
    },
    /** Move the clock to `to`, running what falls due on the way, in order. */
    advance(to: number) {
      for (;;) {
        const due = queue.filter((e) => e.live && e.at <= to).sort((x, y) => x.at - y.at)[0];
        if (!due) break;
        due.live = false;
        t = Math.max(t, due.at);
        due.fn();
      }
      t = to;
    },
    /** Move the clock to `to` without running anything: timers that fell due run late. */
    stall(to: number) {
      t = to;
    },
  };
}

test('a long timer runs as a chain of steps of at most the cap, and fires once at its deadline', () => {
  const time = fakeTime();
  let fired = 0;
  setLongTimeout(() => fired++, 100_000, { maxStepMs: 30_000, now: time.now, schedule: time.schedule });
  time.advance(99_999);
  assert.is(fired, 0, 'not before its deadline');
  time.advance(100_000);
  assert.is(fired, 1);
  assert.equal(time.steps, [30_000, 30_000, 30_000, 10_000]);
  time.advance(1_000_000);
  assert.is(fired, 1, 'once');
});

test('3,000,000 s with the real cap: two steps under 2^31 ms, the second aimed at the deadline', () => {
  const time = fakeTime();
  let fired = 0;
  setLongTimeout(() => fired++, 3_000_000_000, { now: time.now, schedule: time.schedule });
  time.advance(2_999_999_999);
  assert.is(fired, 0);
  time.advance(3_000_000_000);
  assert.is(fired, 1);
  assert.equal(time.steps, [MAX_TIMER_MS, 3_000_000_000 - MAX_TIMER_MS]);
});

test('a step that fires late (a busy machine) is followed by one aimed at the deadline, not a full step', () => {
  const time = fakeTime();
  let fired = 0;
  setLongTimeout(() => fired++, 100, { maxStepMs: 30, now: time.now, schedule: time.schedule });
  // The first step (due at 30) runs only at 95: the next is the 5 ms that are left.
  time.stall(95);
  time.advance(95);
  assert.equal(time.steps, [30, 5]);
  assert.is(fired, 0);
  time.advance(100);
  assert.is(fired, 1);
});

test('a long timer cleared between steps never fires', () => {
  const time = fakeTime();
  let fired = false;
  const t = setLongTimeout(() => (fired = true), 150, { maxStepMs: 20, now: time.now, schedule: time.schedule });
  time.advance(45);
  t.clear();
  time.advance(1_000);
  assert.not.ok(fired);
  assert.is(time.steps.length, 3, 'no step armed after clear');
});

test('with real timers, a chained wait fires no sooner than asked', async () => {
  const t0 = Date.now();
  const firedAt = await new Promise<number>((resolve) =>
    setLongTimeout(() => resolve(Date.now()), 120, { maxStepMs: 25 }),
  );
  assert.ok(firedAt - t0 >= 120, `fired after ${firedAt - t0} ms`);
  assert.ok(MAX_DURATION_SEC * 1000 > MAX_TIMER_MS, 'the documented maximum needs the chain');
});

withSandbox('start_process --timeout 3000000 (beyond 2^31 ms) leaves the process running', async (sb) => {
  const { id, pid } = await start(sb, [
    '--timeout',
    '3000000',
    '--no-pty',
    'sh',
    '-c',
    'echo one; sleep 2; echo two; sleep 300',
  ]);
  // "two" comes 2 s after the start: a timer that overflowed fired long before.
  await waitFor('the second line, or the end', async () => /two/.test(await logs(sb, id)) || !alive(pid), 30_000, 100);
  assert.ok(alive(pid), `the process runs on; its log:\n${await logs(sb, id)}`);
  const rec = records(sb).find((r) => r.id === id)!;
  assert.not.ok(rec.ended, 'no end recorded');
  assert.not.ok(rec.stopRequest, 'no stop requested');
  assert.is(rec.timeoutSec, 3000000);
});

withSandbox('start_process --wait-timeout 3000000 waits for the line rather than giving up at once', async (sb) => {
  const r = await run(sb, 'start_process.ts', [
    '--wait-for',
    'ready',
    '--wait-timeout',
    '3000000',
    '--no-pty',
    'sh',
    '-c',
    'sleep 1; echo ready; sleep 300',
  ]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /Ready: ready\n$/);
  assert.not.match(r.stderr, /TimeoutOverflowWarning/);
});

withSandbox(
  'get_logs -f --timeout 3000000 follows until the process ends, with no TimeoutOverflowWarning',
  async (sb) => {
    const { id } = await start(sb, ['--no-pty', 'sh', '-c', 'echo first; read x; echo got $x']);
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(SCRIPTS, 'get_logs.ts'), id, '-f', '--timeout', '3000000'],
      { env: sb.env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const closed = new Promise<number | null>((r) => child.on('close', r));
    let code: number | null | undefined;
    void closed.then((c) => (code = c));
    try {
      await waitFor('get_logs to print the first line', () => /first/.test(stdout) || code !== undefined, 30_000);
      const s = await run(sb, 'send_input.ts', [id, 'hello\n']);
      assert.is(s.code, 0, s.stderr);
      await waitFor('get_logs to end', () => code !== undefined, 30_000);
    } finally {
      child.kill('SIGKILL');
    }
    assert.not.match(stderr, /TimeoutOverflowWarning/);
    assert.match(stdout, /got hello/, `get_logs printed:\n${stdout}\n${stderr}`);
    assert.is(code, 0, stderr);
  },
);

// Ends 2 s after SIGTERM: the stop has to wait for it, with its 3000000 s allowance.
const SLOW_TO_END =
  'import signal, sys, time\ndef bye(*_):\n    time.sleep(2)\n    sys.exit(0)\nsignal.signal(signal.SIGTERM, bye)\nprint("ready", flush=True)\nwhile True:\n    signal.pause()';

withSandbox(
  'stop_process --timeout 3000000 waits for the stop (a process that takes 2 s to end on SIGTERM) instead of reporting no answer at once',
  async (sb) => {
    const { id, pid } = await start(sb, ['--no-pty', 'python3', '-c', SLOW_TO_END]);
    await waitFor('the process to be ready', async () => (await logs(sb, id)).includes('ready'), 30_000);
    const t0 = Date.now();
    const r = await run(sb, 'stop_process.ts', [id, '--timeout', '3000000']);
    const ms = Date.now() - t0;
    assert.is(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(`^Stopped process ${id} \\(PID ${pid}\\): SIGTERM ended it \\(exit status 0\\)\\.$`, 'm'),
      r.stdout,
    );
    assert.is(r.stderr, '', 'no note that the supervisor did not answer, no TimeoutOverflowWarning');
    assert.ok(ms >= 2000, `the stop returned after ${ms} ms, before the process could end`);
    assert.not.ok(alive(pid));
  },
);

withSandbox(
  'durations that are not numbers, negative, infinite or beyond the documented maximum are refused with exit 2',
  async (sb) => {
    const tooLong = String(MAX_DURATION_SEC + 1);
    const cases: [string, string[], RegExp][] = [
      ['start_process.ts', ['--timeout', tooLong, 'true'], /--timeout .*at most 315360000 seconds/],
      [
        'start_process.ts',
        ['--timeout', 'Infinity', 'true'],
        /--timeout must be a number of seconds above 0 \(got Infinity\)/,
      ],
      [
        'start_process.ts',
        ['--wait-for', 'x', '--wait-timeout', '1e12', 'true'],
        /--wait-timeout .*at most 315360000 seconds/,
      ],
      [
        'get_logs.ts',
        ['abc', '-f', '--timeout', 'Infinity'],
        /--timeout must be a number of seconds, 0 or more \(got Infinity\)/,
      ],
      ['get_logs.ts', ['abc', '-f', '--timeout', tooLong], /--timeout .*at most 315360000 seconds/],
      ['wait_process.ts', ['abc', '--timeout', tooLong], /--timeout .*at most 315360000 seconds/],
      ['wait_process.ts', ['abc', '--timeout', '-1'], /--timeout must be a number of seconds, 0 or more \(got -1\)/],
      ['stop_process.ts', ['abc', '--timeout', tooLong], /--timeout .*at most 315360000 seconds/],
      ['restart_process.ts', ['abc', '--timeout', tooLong], /--timeout .*at most 315360000 seconds/],
      [
        'restart_process.ts',
        ['abc', '--wait-timeout', 'NaN'],
        /--wait-timeout must be a number of seconds above 0 \(got NaN\)/,
      ],
    ];
    for (const [script, args, msg] of cases) {
      const r = await run(sb, script, args);
      assert.is(r.code, 2, `${script} ${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, msg, `${script} ${args.join(' ')}`);
      assert.is(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    }
  },
);

test.run();
