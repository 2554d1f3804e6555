// The state lock on a full disk (issue 23, items 3 and 6): a holder that cannot write its owner
// token must release the lock at once and leave no empty `.lock-owner` behind, so that the data
// dir is usable again as soon as space returns, and a supervisor that met the full disk records
// its end. Real tmpfs mounts (root only; elsewhere a SKIP line), real processes.
// Run: npx uvu -r tsx tests lock-full-disk
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { waitFor } from './helpers.ts';
import { withLock } from '../skills/background-manager/scripts/lib/store/state.ts';
import { BgError } from '../skills/background-manager/scripts/lib/errors.ts';
import { exec, figure, fillDisk, liveAs, rec, rows, rtest, startP } from './reliability-lib.ts';

const STATE = 'processes.json.enc';
const leftovers = (dataDir: string) =>
  [`${STATE}.lock`, `${STATE}.lock-owner`].filter((n) => fs.existsSync(path.join(dataDir, n)));

rtest(
  'full disk: withLock that cannot write its owner token fails with exit 7 naming the full disk, and leaves no lock and no empty lock-owner behind',
  async (sb, ctx) => {
    const mnt = path.join(sb.dir, 'small');
    if (!ctx.mount(mnt, 'size=2m,mode=0700')) return; // ctx.mount said SKIP
    const dataDir = path.join(mnt, 'data');
    fs.mkdirSync(dataDir, { mode: 0o700 });
    const file = path.join(dataDir, STATE);
    const filler = fillDisk(mnt);
    let ran = false;
    const err = await withLock(file, () => void (ran = true)).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof BgError, `withLock on a full disk failed with ${String(err)}`);
    assert.is((err as BgError).exitCode, 7);
    assert.match((err as BgError).message, /ENOSPC.*disk is full/, 'the message names the full disk');
    assert.not.ok(ran, 'nothing ran under a lock whose token could not be written');
    assert.equal(
      leftovers(dataDir),
      [],
      'the lock and its owner file are gone at once (a lock we took is ours, token or not)',
    );
    fs.rmSync(filler);
    const t0 = Date.now();
    assert.is(await withLock(file, () => 'second'), 'second');
    const ms = Date.now() - t0;
    assert.ok(ms < 5000, `the lock was taken again at once once space returned (took ${ms} ms)`);
    assert.equal(leftovers(dataDir), []);
  },
);

rtest(
  'full disk: a supervisor that meets it when its command ends releases the lock; the next start succeeds at once once space returns, and the end is recorded as exited(0)',
  async (sb, ctx) => {
    const mnt = path.join(sb.dir, 'small');
    if (!ctx.mount(mnt, 'size=2m,mode=0700')) return; // ctx.mount said SKIP
    sb.env = { ...sb.env, BG_DATA_DIR: path.join(mnt, 'data') };
    const dataDir = sb.env.BG_DATA_DIR!;
    const go = path.join(sb.dir, 'go'); // on the big disk: the command ends once it exists
    const p = await startP(sb, ['--no-pty', 'sh', '-c', `while [ ! -e '${go}' ]; do sleep 0.05; done; exit 0`]);
    const r = rec(sb, p.id);
    const filler = fillDisk(mnt);
    fs.writeFileSync(go, '');
    await waitFor('the command to end', () => !liveAs(p.pid, r.startTicks), 15_000, 20);

    // A start while the disk is full: refused at once, naming the full disk.
    const full = await exec(sb, 'start_process.ts', ['--no-pty', 'sleep', '300'], {
      watch: ctx.strays,
      timeoutMs: 60_000,
    });
    figure(`a start on the full disk: exit ${full.code} after ${full.ms} ms: ${full.stderr.trim()}`);
    assert.is(full.code, 7, `a start on a full disk exits 7: ${full.stderr}`);
    assert.match(full.stderr, /disk is full/, 'it names the full disk');
    assert.ok(full.ms < 15_000, `it is refused without waiting for the lock (${full.ms} ms)`);
    assert.ok(liveAs(r.supervisorPid!, r.supervisorStartTicks), 'the supervisor lives on, retrying its end');
    // Neither the supervisor's attempts nor the refused start leave the lock or an empty owner file.
    await waitFor(
      'no lock and no lock-owner left in the data dir',
      () => leftovers(dataDir).length === 0,
      5000,
      20,
    ).catch(() => {
      assert.unreachable(
        `left in the data dir while the disk is full: ${leftovers(dataDir).join(', ')} (lock-owner ${fs.existsSync(path.join(dataDir, `${STATE}.lock-owner`)) ? `${fs.statSync(path.join(dataDir, `${STATE}.lock-owner`)).size} bytes` : 'absent'})`,
      );
    });

    fs.rmSync(filler);
    const next = await exec(sb, 'start_process.ts', ['--no-pty', 'sleep', '300'], {
      watch: ctx.strays,
      timeoutMs: 60_000,
    });
    figure(`the first start once space returned: exit ${next.code} after ${next.ms} ms`);
    assert.is(next.code, 0, `the next start once space returned: ${next.stderr}`);
    assert.ok(next.ms < 10_000, `it started at once (${next.ms} ms), not after a lock wait`);
    const ended = await waitFor(
      'the supervisor to record the end',
      async () => {
        const row = (await rows(sb)).find((x) => x.id === p.id)!;
        return row.status === 'exited' || row.status === 'lost' ? row : undefined;
      },
      40_000,
      200,
    );
    assert.is(ended.status, 'exited', `the end is recorded, not lost (status ${ended.status})`);
    assert.is((ended as unknown as { exitCode: number }).exitCode, 0);
    await waitFor('the supervisor to exit', () => !liveAs(r.supervisorPid!, r.supervisorStartTicks), 15_000, 50);
    const id = /^Started process ([0-9a-f]{8})/m.exec(next.out)![1]!;
    assert.is((await exec(sb, 'stop_process.ts', [id])).code, 0);
  },
);

test.run();
