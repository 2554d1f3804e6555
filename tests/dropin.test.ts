// Drop-in details found by trying the skill where the Python one was: the Python skill's empty
// logs, an empty list that says where it looked, and hints that run as printed.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeSandbox, cleanup, run, PASSWORD, ROOT } from './helpers.ts';

/** A data dir as the Python skill leaves it: its openssl state, and a log per process. */
function pythonDataDir(dataDir: string, logs: Record<string, Buffer>): void {
  fs.mkdirSync(path.join(dataDir, 'logs'), { recursive: true, mode: 0o700 });
  const state: Record<string, unknown> = {};
  for (const id of Object.keys(logs)) {
    state[id] = {
      id,
      pid: 4242,
      command: 'python3 server.py',
      start_time: 1700000100,
      status: 'stopped',
      log_file: `/home/u/skills/background-manager/data/logs/${id}.log.enc`,
      input_file: `/home/u/skills/background-manager/data/${id}.input`,
      cwd: '/srv',
    };
    fs.writeFileSync(path.join(dataDir, 'logs', `${id}.log.enc`), logs[id]!, { mode: 0o600 });
  }
  fs.writeFileSync(path.join(dataDir, 'processes.json.enc'), openssl(Buffer.from(JSON.stringify(state))), {
    mode: 0o600,
  });
}

function openssl(input: Buffer): Buffer {
  const r = spawnSync('openssl', ['enc', '-aes-256-cbc', '-pbkdf2', '-pass', 'env:BG_PASSWORD'], {
    input,
    env: { ...process.env, BG_PASSWORD: PASSWORD },
  });
  assert.is(r.status, 0, String(r.stderr));
  return r.stdout;
}

test('a Python skill log of 0 bytes (it never flushed) reads as an empty log: no output, exit 0, a note', async () => {
  const sb = makeSandbox();
  try {
    pythonDataDir(sb.env.BG_DATA_DIR!, {
      e5f6a7b8: Buffer.alloc(0),
      a1b2c3d4: openssl(Buffer.from('hello from python\n')),
    });
    for (const n of [[], ['-n', '0'], ['--new']]) {
      const empty = await run(sb, 'get_logs.ts', ['e5f6a7b8', ...n]);
      assert.is(empty.code, 0, `get_logs ${n.join(' ')} on an empty Python log: ${empty.stderr}`);
      assert.is(empty.stdout, '');
      assert.match(empty.stderr, /^get_logs: note: the Python version of this skill recorded no output for e5f6a7b8/);
    }
    const full = await run(sb, 'get_logs.ts', ['a1b2c3d4']);
    assert.is(full.code, 0, full.stderr);
    assert.is(full.stdout, 'hello from python\n', 'a Python log with output still reads');
  } finally {
    cleanup(sb);
  }
});

test('list_processes with nothing recorded names the data dir it looked in', async () => {
  const sb = makeSandbox();
  try {
    const r = await run(sb, 'list_processes.ts', []);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, `No managed processes in ${sb.env.BG_DATA_DIR}.\n`);
  } finally {
    cleanup(sb);
  }
});

test('an unknown ID: the hint is a list_processes command that runs as printed, from the root and from elsewhere', async () => {
  const sb = makeSandbox();
  try {
    await run(sb, 'list_processes.ts', []); // creates the key
    const calls: [string, string][] = [
      [ROOT, 'npx tsx skills/background-manager/scripts/get_logs.ts nosuch'],
      [sb.dir, `node ${ROOT}/skills/background-manager/dist/get_logs.mjs nosuch`],
    ];
    for (const [cwd, call] of calls) {
      const r = spawnSync('bash', ['-c', call], { cwd, env: sb.env, encoding: 'utf8' });
      assert.is(r.status, 4, r.stderr);
      const hint = /\(list them with: (.*)\)\.$/m.exec(r.stderr);
      assert.ok(hint, `a runnable hint: ${r.stderr}`);
      const again = spawnSync('bash', ['-c', hint![1]!], { cwd, env: sb.env, encoding: 'utf8' });
      assert.is(again.status, 0, `the hint ran from ${cwd}: ${again.stderr}`);
      assert.match(again.stdout, /^No managed processes in /);
    }
  } finally {
    cleanup(sb);
  }
});

test.run();
