// A caller's extra file descriptors (a CI runner's pipe, Python's pass_fds) must not outlive
// start_process: the supervisor and the command used to keep them, so the caller never saw EOF.
// Node marks fds 0-15 (and on up to the first gap) close-on-exec at startup, so a low fd never
// got through; a high one (after a gap, as CI runners use) reached the supervisor and the command.
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { alive, records, waitFor, withSandbox } from './helpers.ts';
import { fdsOf, HIGH_FD, startHoldingPipe } from './fd-helpers.ts';

for (const pty of [false, true]) {
  withSandbox(
    `an fd the caller passed to start_process${pty ? '' : ' --no-pty'} reaches EOF once it returns, while the command runs on`,
    async (sb) => {
      const s = await startHoldingPipe(sb, [...(pty ? [] : ['--no-pty']), 'sleep', '300']);
      try {
        const sup = records(sb)[0]!.supervisorPid!;
        const holders = () =>
          [sup, s.pid]
            .filter((p) => [...fdsOf(p).keys()].includes(HIGH_FD))
            .map((p) => (p === sup ? `supervisor ${p}` : `command ${p}`));
        // Every holder closed it before start_process returned; the event may take a moment to arrive here.
        await waitFor('EOF on the passed fd', () => s.eof(), 10_000).catch((err: Error) => {
          throw new Error(`${err.message}; held by ${holders().join(', ')}`);
        });
        assert.ok(alive(s.pid), 'the command runs on');
        assert.equal(
          [...fdsOf(s.pid).keys()].sort((a, b) => a - b),
          [0, 1, 2],
          `the command holds only its stdio: ${[...fdsOf(s.pid)].join('; ')}`,
        );
        assert.not.ok(fdsOf(sup).has(HIGH_FD), 'the supervisor let it go');
      } finally {
        s.close();
      }
    },
  );
}

test.run();
