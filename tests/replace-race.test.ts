// Concurrent `start_process --replace --name X` (issue 23, item 11): one call's process takes
// the name; each other call says what really happened to it: which stop it made or found under
// way, and which process took the name while it was replacing. Real processes; the calls run
// at once through the fast path.
// Run: npx uvu -r tsx tests replace-race
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { exec, figure, recs, rows, rtest, startP } from './reliability-lib.ts';
import { isLive } from '../skills/background-manager/scripts/lib/process/status.ts';

const N = 4;

rtest(
  'replace race: of several start_process --replace --name X at once, one takes the name; the others name the winner and say who stopped the old process',
  async (sb, ctx) => {
    // The old process takes 3 s to end on SIGTERM, so every call finds it live and the calls
    // overlap (run one after another, each would replace the last and all would succeed). The
    // delay is python's own sleep: a shell trap's `sleep 3` is a child, and the tree stop ends it
    // at once. It says so once its handler is set: a SIGTERM before that would end it at once
    // (seen in CI: the calls then ran one after another and two of them took the name in turn).
    const slow =
      'import signal, sys, time\nsignal.signal(signal.SIGTERM, lambda *a: (time.sleep(3), sys.exit(0)))\nprint("handler set", flush=True)\ntime.sleep(400)';
    const a = await startP(sb, ['--no-pty', '--name', 'svc', '--wait-for', 'handler set', 'python3', '-c', slow]);
    const calls = await Promise.all(
      Array.from({ length: N }, () =>
        exec(sb, 'start_process.ts', ['--no-pty', '--replace', '--name', 'svc', 'sleep', '401'], {
          watch: ctx.strays,
          timeoutMs: 120_000,
        }),
      ),
    );
    const started = calls
      .map((c) => /^Started process ([0-9a-f]{8})/m.exec(c.out)?.[1])
      .filter((id): id is string => !!id);
    for (const [i, c] of calls.entries())
      figure(`call ${i}: exit ${c.code}: ${(c.out + c.stderr).trim().replace(/\n/g, ' | ')}`);

    // Each stop is claimed by the one call that made it; the others say it was made by another.
    const claims = new Map<string, number>();
    for (const c of calls) {
      for (const m of c.out.matchAll(/^Stopped process ([0-9a-f]{8}) \(svc\) to replace it/gm))
        claims.set(m[1]!, (claims.get(m[1]!) ?? 0) + 1);
    }
    for (const [id, n] of claims) assert.is(n, 1, `${n} calls each say they stopped ${id}; one stop was made`);
    assert.is(claims.get(a.id), 1, `one call says it stopped ${a.id}`);
    // A call that read the old process live says what became of it: stopped by it, or by another.
    for (const c of calls.filter((x) => x.out.includes(a.id))) {
      assert.match(
        c.out,
        new RegExp(
          `^(Stopped process ${a.id} \\(svc\\) to replace it \\(SIGTERM\\)|Process ${a.id} \\(svc\\) (was already being stopped by another call; it ended \\(SIGTERM\\)|had already ended; nothing to stop))\\.$`,
          'm',
        ),
      );
    }

    // They overlapped: more than one read the old process live (while its stop took 3 s); then
    // one won and every other lost.
    assert.ok(calls.filter((c) => c.out.includes(a.id)).length >= 2, 'the calls overlapped in the stop');
    assert.is(calls.filter((c) => c.code === 0).length, 1, 'exactly one call took the name');
    assert.is(started.length, 1, `one process started and kept: ${started.join(', ')}`);
    // The losers: refused, naming the process that took the name, without "pass --replace".
    const losers = calls.filter((x) => x.code !== 0);
    assert.is(losers.length, N - 1, 'the others lost');
    for (const c of losers) {
      assert.is(c.code, 1, c.stderr);
      assert.not.match(
        c.stderr,
        /pass --replace/,
        `a caller that passed --replace is told to pass it: ${c.stderr.trim()}`,
      );
      const m =
        /^start_process: error: the name "svc" was taken by process ([0-9a-f]{8}), which another call started (while this one was replacing ([0-9a-f]{8})|meanwhile); this one's command was ended at once and not recorded\. Run it again to replace \1, or pick another name\.$/m.exec(
          c.stderr,
        );
      assert.ok(m, `the loser says what happened: ${c.stderr.trim()}`);
      assert.ok(
        started.includes(m![1]!),
        `it names a process another call started (${m![1]} of ${started.join(', ')})`,
      );
      if (m![3]) assert.is(m![3], a.id, 'the process it was replacing');
    }
    const live = recs(sb).filter((r) => r.name === 'svc' && isLive(r));
    assert.is(live.length, 1, 'one live process holds the name');
    assert.ok(started.includes(live[0]!.id));
    for (const r of await rows(sb))
      if (r.status === 'running') assert.is((await exec(sb, 'stop_process.ts', [r.id])).code, 0);
  },
);

test.run();
