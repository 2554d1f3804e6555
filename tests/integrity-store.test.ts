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
import { listJson, run, ROOT, snapshot, start, track, waitFor, withSandbox, PASSWORD, figure, alive, type Sandbox } from './helpers.ts';
import { unlock, KEY_FILE } from '../skills/background-manager/scripts/lib/keys.ts';
import { StateStore, STATE_FILE } from '../skills/background-manager/scripts/lib/state.ts';
import { readStat } from '../skills/background-manager/scripts/lib/proc.ts';

const dataOf = (sb: Sandbox) => sb.env.BG_DATA_DIR!;

// ---------------------------------------------------------------------------------------
// item 1: a stalled writer

withSandbox('a writer stalled inside the lock past its stale time never erases a process started meanwhile', async (sb) => {
  const dataDir = dataOf(sb);
  unlock(dataDir, PASSWORD, { create: true });
  await new StateStore({ dataDir, keys: unlock(dataDir, PASSWORD, { create: false })!.keys }).update(() => undefined);
  const writer = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'tests/fixtures/stalling-writer.ts'), dataDir, 'abcdef01'], {
    cwd: ROOT,
    env: { ...sb.env, BG_TEST_PASSWORD: PASSWORD },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  writer.stdout.on('data', (d) => (out += d));
  writer.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => writer.on('close', (code) => r(code)));
  await waitFor('the writer to stop itself inside the lock', () => out.includes('in-lock') && readStat(writer.pid!)?.state === 'T', 30_000);
  track(sb, writer.pid!);
  const stoppedAt = Date.now();
  // The start waits for the lock until it is stale (15 s), takes it over and records "web".
  const web = await start(sb, ['--name', 'web', '--', 'sleep', '1000']);
  assert.ok((await listJson(sb)).some((p) => p.id === web.id && p.status === 'running'), 'web is listed while the writer is stalled');
  const stall = Date.now() - stoppedAt;
  figure(`stall before resuming the writer: ${(stall / 1000).toFixed(1)} s (lock stale time 15 s)`);
  assert.ok(stall > 15_000, `the stall (${stall} ms) outlasted the stale time`);
  process.kill(writer.pid!, 'SIGCONT');
  const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 60_000))]);
  // It may finish on fresh state (its record added) or refuse with exit 7; never clobber.
  assert.ok(code === 0 || code === 7, `the resumed writer ended with ${code}: ${out}${err}`);
  const listed = await listJson(sb);
  assert.ok(listed.some((p) => p.id === web.id && p.status === 'running'), `web is still listed after the stalled writer resumed: ${JSON.stringify(listed)}`);
  if (code === 0) assert.ok(listed.some((p) => p.id === 'abcdef01'), 'the resumed writer wrote its record on fresh state');
  else assert.match(err, /lock/);
  const stop = await run(sb, 'stop_process.ts', ['--all']);
  assert.is(stop.code, 0, stop.stderr);
  assert.match(stop.stdout, new RegExp(`Stopped process ${web.id}`), 'stop_process --all sees web');
  await waitFor('web to end', () => !alive(web.pid), 10_000);
});

// ---------------------------------------------------------------------------------------
// item 3: a missing key.json

withSandbox('a missing key.json beside an existing state file is reported (exit 6) and no new key is made', async (sb) => {
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
});

withSandbox('a missing key.json beside existing logs (no state file) is reported (exit 6) and no new key is made', async (sb) => {
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
});

// ---------------------------------------------------------------------------------------
// item 13: data dir owner and mode

withSandbox('a data dir that group or others can write (0777) is refused (exit 7) with the chmod fix, and nothing is made', async (sb) => {
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
});

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
