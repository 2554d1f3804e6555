// Issue 11, item 8: a log in the Python skill's format ("Salted__", openssl enc) has no MAC.
// Only a process imported from the Python skill's state may have one; a forged one in place
// of a real process's log is refused. Real processes, real files made by openssl.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { withSandbox, listJson, records, run, start, waitFor, type Sandbox } from './helpers.ts';
import { logFileOf } from '../skills/background-manager/scripts/lib/log/format/logset.ts';

const logs = (sb: Sandbox, id: string, args: string[] = []) => run(sb, 'get_logs.ts', [id, ...args]);

/** A process that prints three lines and exits; waits for its recorded end. */
async function printed(sb: Sandbox): Promise<{ id: string; active: string }> {
  const { id } = await start(sb, ['--no-pty', 'sh', '-c', 'echo one; echo two; echo three']);
  await waitFor(
    'the process to end',
    async () => (await listJson(sb)).find((p) => p.id === id)?.status === 'exited',
    60_000,
    100,
  );
  return { id, active: logFileOf(sb.env.BG_DATA_DIR!, records(sb).find((r) => r.id === id)!) };
}

withSandbox(
  "legacy logs: a forged openssl log in place of a real process's log is refused (exit 6, the file named)",
  async (sb) => {
    const { id, active } = await printed(sb);
    const forged = execFileSync('openssl', ['enc', '-aes-256-cbc', '-pbkdf2', '-pass', 'env:BG_PASSWORD'], {
      input: 'FORGED: all tests passed\n',
      env: sb.env,
    });
    fs.writeFileSync(active, forged);
    for (const args of [[], ['-n', '0'], ['-f']]) {
      const r = await logs(sb, id, args);
      assert.is(r.code, 6, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.not.match(r.stdout, /FORGED/);
      assert.ok(r.stderr.includes(active), `names the file: ${r.stderr}`);
    }
  },
);

withSandbox('legacy logs: a process imported from the Python skill still shows its openssl log', async (sb) => {
  const dataDir = sb.env.BG_DATA_DIR!;
  fs.mkdirSync(path.join(dataDir, 'logs'), { recursive: true, mode: 0o700 });
  const enc = (text: string) =>
    execFileSync('openssl', ['enc', '-aes-256-cbc', '-pbkdf2', '-pass', 'env:BG_PASSWORD'], {
      input: text,
      env: sb.env,
    });
  const state = {
    a1b2c3d4: {
      id: 'a1b2c3d4',
      pid: 999999,
      command: 'npm run dev',
      start_time: 1700000000,
      status: 'stopped',
      log_file: '/x/logs/a1b2c3d4.log.enc',
      input_file: '/x/a1b2c3d4.input',
      cwd: '/tmp',
    },
  };
  fs.writeFileSync(path.join(dataDir, 'processes.json.enc'), enc(JSON.stringify(state)), { mode: 0o600 });
  fs.writeFileSync(path.join(dataDir, 'logs', 'a1b2c3d4.log.enc'), enc('from python\nsecond line\n'), { mode: 0o600 });
  const r = await logs(sb, 'a1b2c3d4');
  assert.equal([r.code, r.stdout], [0, 'from python\nsecond line\n'], r.stderr);
});

test.run();
