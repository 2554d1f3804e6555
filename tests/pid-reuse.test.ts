// The real thing behind tests/tree-adoption.test.ts: in a PID namespace of its own with a
// pid_max of 400 (PIDs come round again within about 100 forks), a member of a tree being
// stopped ends, a stranger takes its PID and forks a child; the stop (still waiting for
// another member that ignores SIGTERM) must leave both alone. Needs root (unshare); the
// namespace's processes all end when it does. Takes about 35 s (the stop's --timeout 30).
// Run: npx uvu -r tsx tests 'pid-reuse\.test\.ts$'
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { figure, makeSandbox, removeSandbox, ROOT, skip } from './helpers.ts';

test("a stop never takes on the child of a stranger that reused a former member's PID (PID namespace, pid_max 400)", () => {
  if (process.getuid?.() !== 0) return skip('the PID reuse test in a PID namespace: unshare --pid needs root');
  const sb = makeSandbox();
  try {
    const driver = path.join(ROOT, 'tests/fixtures/pid-reuse-driver.ts');
    const r = spawnSync(
      'unshare',
      [
        '--pid',
        '--fork',
        '--mount-proc',
        'sh',
        '-c',
        `echo 400 > /proc/sys/kernel/pid_max && ${JSON.stringify(process.execPath)} --import tsx ${JSON.stringify(driver)}; echo "driver exit $?"`,
      ],
      {
        env: sb.env,
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 150_000,
      },
    );
    const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
    assert.ok(line, `no result from the driver: ${r.stdout}\n${r.stderr}`);
    const res = JSON.parse(line!) as {
      reused: boolean;
      sAlive: boolean;
      xAlive: boolean;
      stop: string;
      times: Record<string, number>;
    };
    figure(`pid-reuse: ${line}`);
    assert.ok(
      res.reused && res.times.reused! < res.times.stopped!,
      `the stranger did not get the PID while the stop ran: ${line}`,
    );
    assert.ok(res.sAlive, 'the stranger on the reused PID lives');
    assert.ok(res.xAlive, `the stranger's child lives: ${res.stop}`);
    assert.match(res.stop, /; 1 leftover process killed with SIGKILL\.$/);
  } finally {
    // Its folder and its key cache folder on /dev/shm. Nothing to end: the namespace's processes
    // ended with it (and their PIDs, the namespace's own, mean nothing out here).
    removeSandbox(sb);
  }
});

test.run();
