// Storage integrity under stalls, tampering and hostile neighbours (issue 11, items 1, 3, 9,
// 10, 13): a writer that lost its lock never writes, a missing key.json is never replaced,
// a rolled-back state is reported, key.json's parameters are bounded and bound to the key,
// and a data dir that others can write or own is refused. Real processes, real files.
// Run: npx uvu -r tsx tests 'integrity-store\.test\.ts$'
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  listJson,
  records,
  run,
  ROOT,
  snapshot,
  start,
  track,
  waitFor,
  withSandbox,
  PASSWORD,
  figure,
  alive,
  skip,
  type Sandbox,
} from './helpers.ts';
import { unlock, KEY_FILE } from '../skills/background-manager/scripts/lib/store/keys.ts';
import { StateStore, STATE_FILE } from '../skills/background-manager/scripts/lib/store/state.ts';
import { readStat } from '../skills/background-manager/scripts/lib/process/proc.ts';
import { hkdf, seal, derivePasswordKey } from '../skills/background-manager/scripts/lib/store/crypto.ts';

const dataOf = (sb: Sandbox) => sb.env.BG_DATA_DIR!;

// ---------------------------------------------------------------------------------------
// item 1: a stalled writer

withSandbox(
  'a writer stalled inside the lock past its stale time never erases a process started meanwhile',
  async (sb) => {
    const dataDir = dataOf(sb);
    unlock(dataDir, PASSWORD, { create: true });
    await new StateStore({ dataDir, keys: unlock(dataDir, PASSWORD, { create: false })!.keys }).update(() => undefined);
    const writer = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'tests/fixtures/stalling-writer.ts'), dataDir, 'abcdef01'],
      {
        cwd: ROOT,
        env: { ...sb.env, BG_TEST_PASSWORD: PASSWORD },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    writer.stdout.on('data', (d) => (out += d));
    writer.stderr.on('data', (d) => (err += d));
    let ended: { code: number | null } | undefined;
    writer.on('close', (code) => (ended = { code }));
    await waitFor(
      'the writer to stop itself inside the lock',
      () => out.includes('in-lock') && readStat(writer.pid!)?.state === 'T',
      30_000,
    );
    track(sb, writer.pid!);
    const stoppedAt = Date.now();
    // The start waits for the lock until it is stale (15 s), takes it over and records "web".
    const web = await start(sb, ['--name', 'web', '--', 'sleep', '1000']);
    assert.ok(
      (await listJson(sb)).some((p) => p.id === web.id && p.status === 'running'),
      'web is listed while the writer is stalled',
    );
    const stall = Date.now() - stoppedAt;
    figure(`stall before resuming the writer: ${(stall / 1000).toFixed(1)} s (lock stale time 15 s)`);
    assert.ok(stall > 15_000, `the stall (${stall} ms) outlasted the stale time`);
    process.kill(writer.pid!, 'SIGCONT');
    // A deadline, not a raced 60 s timer: a timer left pending kept the file running 47 s past its last test.
    const { code } = await waitFor('the resumed writer to end', () => ended, 60_000);
    // It may finish on fresh state (its record added) or refuse with exit 7; never clobber.
    assert.ok(code === 0 || code === 7, `the resumed writer ended with ${code}: ${out}${err}`);
    const listed = await listJson(sb);
    assert.ok(
      listed.some((p) => p.id === web.id && p.status === 'running'),
      `web is still listed after the stalled writer resumed: ${JSON.stringify(listed)}`,
    );
    if (code === 0)
      assert.ok(
        listed.some((p) => p.id === 'abcdef01'),
        'the resumed writer wrote its record on fresh state',
      );
    else assert.match(err, /lock/);
    const stop = await run(sb, 'stop_process.ts', ['--all']);
    assert.is(stop.code, 0, stop.stderr);
    assert.match(stop.stdout, new RegExp(`Stopped process ${web.id}`), 'stop_process --all sees web');
    await waitFor('web to end', () => !alive(web.pid), 10_000);
  },
);

// ---------------------------------------------------------------------------------------
// item 3: a missing key.json

withSandbox(
  'a missing key.json beside an existing state file is reported (exit 6) and no new key is made',
  async (sb) => {
    const dataDir = dataOf(sb);
    const u = unlock(dataDir, PASSWORD, { create: true })!;
    await new StateStore({ dataDir, keys: u.keys }).update(() => undefined);
    fs.rmSync(path.join(dataDir, KEY_FILE));
    const before = await snapshot(dataDir);
    for (const [script, args] of [
      ['start_process.ts', ['true']],
      ['list_processes.ts', []],
    ] as const) {
      const r = await run(sb, script, [...args]);
      assert.is(r.code, 6, `${script}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /key\.json is missing/, `${script}: ${r.stderr}`);
      assert.match(r.stderr, /restore/i, script);
      assert.equal(await snapshot(dataDir), before, `${script} left the data dir unchanged (no new key)`);
    }
  },
);

withSandbox(
  'a missing key.json beside existing logs (no state file) is reported (exit 6) and no new key is made',
  async (sb) => {
    const dataDir = dataOf(sb);
    const s = await start(sb, ['--no-pty', '--', 'echo', 'hello']);
    await waitFor('the echo to end', async () => (await listJson(sb)).find((p) => p.id === s.id)?.status === 'exited');
    fs.rmSync(path.join(dataDir, KEY_FILE));
    fs.rmSync(path.join(dataDir, STATE_FILE));
    const before = await snapshot(dataDir);
    const r = await run(sb, 'start_process.ts', ['true']);
    assert.is(r.code, 6, r.stdout + r.stderr);
    assert.match(r.stderr, /key\.json is missing/);
    assert.match(r.stderr, /logs/);
    assert.equal(await snapshot(dataDir), before, 'no new key');
  },
);

// ---------------------------------------------------------------------------------------
// item 9: rollback

withSandbox(
  'a state file rolled back to an older copy is reported (exit 6), not trusted, and left as it is',
  async (sb) => {
    const dataDir = dataOf(sb);
    const stateFile = path.join(dataDir, STATE_FILE);
    const a = await start(sb, ['--name', 'svc-a', '--', 'sleep', '300']);
    const older = fs.readFileSync(stateFile);
    const b = await start(sb, ['--name', 'svc-b', '--', 'sleep', '301']);
    for (const r of records(sb)) track(sb, r.pid, r.supervisorPid!); // cleanup cannot read a rolled-back state
    const newest = fs.readFileSync(stateFile);
    fs.writeFileSync(stateFile, older);
    for (const [script, args] of [
      ['list_processes.ts', []],
      ['start_process.ts', ['sleep', '302']],
      ['stop_process.ts', ['--all']],
    ] as const) {
      const r = await run(sb, script, [...args]);
      assert.is(r.code, 6, `${script}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /rolled back/, script);
      assert.ok(fs.readFileSync(stateFile).equals(older), `${script} left the state file as it is`);
    }
    assert.ok(alive(a.pid) && alive(b.pid), 'nothing was stopped');
    fs.writeFileSync(stateFile, newest);
    assert.equal((await listJson(sb)).map((p) => p.name).sort(), ['svc-a', 'svc-b'], 'the newest state reads again');
  },
);

// ---------------------------------------------------------------------------------------
// item 10: key.json parameters

/** What a hostile edit of key.json does: change a field and recompute the (unkeyed) checksum. */
interface KeyJson {
  format: string;
  version: number;
  kdf: { algorithm: string; iterations: number; salt: string };
  wrappedKey: string;
  checksum: string;
}
function editKeyFile(file: string, edit: (k: KeyJson) => void): void {
  const k = JSON.parse(fs.readFileSync(file, 'utf8')) as KeyJson;
  edit(k);
  k.checksum = createHash('sha256')
    .update(`${k.format}|${k.version}|${k.kdf.algorithm}|${k.kdf.iterations}|${k.kdf.salt}|${k.wrappedKey}`)
    .digest('base64');
  fs.writeFileSync(file, `${JSON.stringify(k, null, 2)}\n`);
}

for (const [what, edit, pattern] of [
  ['iterations lowered to 1', (k: KeyJson) => (k.kdf.iterations = 1), /iterations/],
  ['iterations raised to 2^31', (k: KeyJson) => (k.kdf.iterations = 2 ** 31), /iterations/],
  ['iterations raised to 2^40', (k: KeyJson) => (k.kdf.iterations = 2 ** 40), /iterations/],
  ['a salt of another length', (k: KeyJson) => (k.kdf.salt = Buffer.alloc(8, 7).toString('base64')), /salt/],
] as const) {
  withSandbox(`key.json with ${what} (checksum recomputed) is refused as altered (exit 6), at once`, async (sb) => {
    const dataDir = dataOf(sb);
    unlock(dataDir, PASSWORD, { create: true });
    const file = path.join(dataDir, KEY_FILE);
    editKeyFile(file, edit);
    const before = await snapshot(dataDir);
    const t0 = Date.now();
    // run() hands over to the fast path (dist/<name>.mjs), whose launcher reads key.json too.
    for (const [cmd, args] of [
      [process.execPath, [path.join(ROOT, 'skills/background-manager/dist/list_processes.mjs')]],
      [process.execPath, [path.join(ROOT, 'skills/background-manager/dist/start_process.mjs'), 'true']],
    ] as const) {
      const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const c = spawn(cmd, [...args], { env: sb.env, stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        c.stderr.on('data', (d) => (stderr += d));
        const timer = setTimeout(() => c.kill('SIGKILL'), 30_000);
        c.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code, stderr });
        });
      });
      assert.is(r.code, 6, `${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, /key\.json was altered/);
      assert.match(r.stderr, pattern);
      assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
    }
    figure(`${what}: refused in ${Date.now() - t0} ms for two calls`);
    assert.ok(Date.now() - t0 < 20_000, 'no long derivation');
    assert.equal(await snapshot(dataDir), before, 'files unchanged');
  });
}

test('a key.json written by the earlier version (v1, parameters not bound) still opens and is bound on change_password', async () => {
  const { makeSandbox, cleanup } = await import('./helpers.ts');
  const sb = makeSandbox();
  try {
    const dataDir = dataOf(sb);
    fs.mkdirSync(dataDir, { mode: 0o700 });
    // key.json exactly as the earlier keys.ts wrote it (docs/FORMAT.md, version 1).
    const dataKey = Buffer.alloc(32, 9);
    const salt = Buffer.alloc(16, 3);
    const kek = derivePasswordKey(PASSWORD, salt, 600_000);
    const wrap = {
      enc: hkdf(kek, 'background-manager key wrap encryption'),
      mac: hkdf(kek, 'background-manager key wrap authentication'),
      control: Buffer.alloc(0),
    };
    const body = {
      format: 'background-manager-key',
      version: 1,
      kdf: { algorithm: 'pbkdf2-sha256', iterations: 600_000, salt: salt.toString('base64') },
      wrappedKey: seal(wrap, Buffer.from('background-manager key v1'), dataKey).toString('base64'),
    };
    const checksum = createHash('sha256')
      .update(
        `${body.format}|${body.version}|${body.kdf.algorithm}|${body.kdf.iterations}|${body.kdf.salt}|${body.wrappedKey}`,
      )
      .digest('base64');
    fs.writeFileSync(path.join(dataDir, KEY_FILE), `${JSON.stringify({ ...body, checksum }, null, 2)}\n`, {
      mode: 0o600,
    });
    assert.ok(unlock(dataDir, PASSWORD, { create: false })!.dataKey.equals(dataKey), 'v1 opens');
    const l = await run(sb, 'list_processes.ts', []);
    assert.is(l.code, 0, l.stderr);
    const c = await run(sb, 'change_password.ts', [], { env: { ...sb.env, BG_NEW_PASSWORD: 'next one' } });
    assert.is(c.code, 0, c.stderr);
    const k = JSON.parse(fs.readFileSync(path.join(dataDir, KEY_FILE), 'utf8'));
    assert.is(k.version, 2, 'rewritten as version 2');
    assert.ok(
      unlock(dataDir, 'next one', { create: false })!.dataKey.equals(dataKey),
      'same data key under the new password',
    );
  } finally {
    cleanup(sb);
  }
});

// ---------------------------------------------------------------------------------------
// item 13: data dir owner and mode

withSandbox(
  'a data dir that group or others can write (0777) is refused (exit 7) with the chmod fix, and nothing is made',
  async (sb) => {
    const dataDir = dataOf(sb);
    fs.mkdirSync(dataDir);
    fs.chmodSync(dataDir, 0o777);
    for (const [script, args] of [
      ['start_process.ts', ['true']],
      ['list_processes.ts', []],
      ['change_password.ts', []],
    ] as const) {
      const r = await run(sb, script, [...args], { env: { ...sb.env, BG_NEW_PASSWORD: 'x y z' } });
      assert.is(r.code, 7, `${script}: ${r.stdout}${r.stderr}`);
      assert.ok(r.stderr.includes(`chmod 700 ${dataDir}`), `${script}: ${r.stderr}`);
    }
    assert.equal(fs.readdirSync(dataDir), [], 'nothing was created');
    assert.is(fs.statSync(dataDir).mode & 0o777, 0o777, 'the mode is left for the user to fix');
  },
);

withSandbox('a logs/ folder that others can write is refused (exit 7) with the chmod fix', async (sb) => {
  const dataDir = dataOf(sb);
  await start(sb, ['--no-pty', '--', 'true']);
  const logs = path.join(dataDir, 'logs');
  fs.chmodSync(logs, 0o777);
  const r = await run(sb, 'list_processes.ts', []);
  assert.is(r.code, 7, r.stdout + r.stderr);
  assert.ok(r.stderr.includes(`chmod 700 ${logs}`), r.stderr);
});

withSandbox('a data dir owned by another user (nobody) is refused (exit 7), naming the owner', async (sb) => {
  const dataDir = dataOf(sb);
  fs.mkdirSync(dataDir, { mode: 0o700 });
  if (process.getuid!() !== 0) return skip('a data dir owned by nobody: giving a folder to another user takes root');
  fs.chownSync(dataDir, 65534, 65534);
  for (const [script, args] of [
    ['start_process.ts', ['true']],
    ['list_processes.ts', []],
  ] as const) {
    const r = await run(sb, script, [...args]);
    assert.is(r.code, 7, `${script}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /owned by (user )?nobody|uid 65534/, script);
  }
  assert.equal(fs.readdirSync(dataDir), [], 'nothing was created');
});

withSandbox('a data dir of ours that others can read (0755, holding key.json) is tightened to 0700', async (sb) => {
  const dataDir = dataOf(sb);
  await start(sb, ['--no-pty', '--', 'true']);
  fs.chmodSync(dataDir, 0o755);
  fs.chmodSync(path.join(dataDir, 'logs'), 0o755);
  const r = await run(sb, 'list_processes.ts', []);
  assert.is(r.code, 0, r.stderr);
  assert.is(fs.statSync(dataDir).mode & 0o777, 0o700, 'data dir');
  assert.is(fs.statSync(path.join(dataDir, 'logs')).mode & 0o777, 0o700, 'logs/');
});

test.run();
