// A stop may take as long as its --timeout says, however long that is: the control
// connection must stay open for the whole grace period (it used to be cut at 30 s).
// This test takes a little over 30 s of real time, on purpose.
// Run: npx uvu -r tsx tests 'stop-long-timeout\.test\.ts$'
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { alive, FIXTURES, run, start, withSandbox } from './helpers.ts';

// One process, no children: ignores SIGINT and SIGTERM (then says ready) and waits for ever.
const IGNORES_INT_AND_TERM = path.join(FIXTURES, 'ignores-int-and-term.py');

withSandbox(
  'stop_process --signal INT --timeout 30 kills with SIGKILL after 30 s a process that ignores INT and TERM, and exits 0',
  async (sb) => {
    const p = await start(sb, ['--name', 'web', '--wait-for', '^ready', '--', 'python3', IGNORES_INT_AND_TERM]);
    const t0 = Date.now();
    const r = await run(sb, 'stop_process.ts', ['web', '--signal', 'INT', '--timeout', '30'], { timeoutMs: 90_000 });
    const took = Date.now() - t0;
    assert.is(r.stderr.trim(), '', r.stderr);
    assert.is(r.code, 0);
    assert.is(
      r.stdout,
      `Stopped process ${p.id} (PID ${p.pid}): it did not exit within 30 s of SIGINT; SIGKILL ended it (exit status 137).\n`,
    );
    assert.ok(took >= 30_000, `took ${took} ms`);
    assert.not.ok(alive(p.pid));
  },
);

test.run();
