// A BG_PASSWORD that is not valid UTF-8 (issue 23, item 9). Node decodes the environment as
// UTF-8 with each bad byte read as U+FFFD, so $'\xff\xfe...' would open what $'\x80\x81...'
// made. A new data dir and a new password refuse such a value (exit 3); a data dir made with
// one before still opens, with a note to change it. The bytes reach the scripts as they would
// from a shell: set by sh from printf's octal escapes, not through Node's string environment.
// Run: npx uvu -r tsx tests password-utf8
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { ROOT, SCRIPTS, snapshot, withSandbox, type RunResult, type Sandbox } from './helpers.ts';
import { makeKeyFile } from '../skills/background-manager/scripts/lib/store/keys.ts';

const MADE_WITH = '\\200\\201 made with bad bytes'; // printf escapes: 0x80 0x81
const OTHER_BAD = '\\377\\376 made with bad bytes'; // 0xff 0xfe: the same once decoded
const VALID = 'a valid new passphrase';

/** Run a script with BG_PASSWORD (and BG_NEW_PASSWORD) set to the bytes printf makes of each. */
function runBytes(sb: Sandbox, script: string, args: string[], pw: string, newPw?: string): Promise<RunResult> {
  const env = { ...sb.env };
  delete env.BG_PASSWORD;
  delete env.BG_NEW_PASSWORD;
  const set = `BG_PASSWORD="$(printf "$1")"; export BG_PASSWORD; ${newPw === undefined ? '' : 'BG_NEW_PASSWORD="$(printf "$2")"; export BG_NEW_PASSWORD; '}shift 2; exec "$@"`;
  const argv = [
    '-c',
    set,
    'sh',
    pw,
    newPw ?? '',
    process.execPath,
    '--import',
    'tsx',
    path.join(SCRIPTS, script),
    ...args,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('sh', argv, { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A data dir made before the fix with a password of bad bytes: its key wrapped under the U+FFFD reading. */
function legacyDataDir(sb: Sandbox): string {
  const dataDir = sb.env.BG_DATA_DIR!;
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const decoded = '\uFFFD\uFFFD made with bad bytes'; // what Node makes of MADE_WITH's bytes
  fs.writeFileSync(
    path.join(dataDir, 'key.json'),
    `${JSON.stringify(makeKeyFile(decoded, randomBytes(32)), null, 2)}\n`,
    { mode: 0o600 },
  );
  return dataDir;
}

withSandbox(
  'password: a new data dir refuses a BG_PASSWORD that is not valid UTF-8 (exit 3, one line, nothing made)',
  async (sb) => {
    const r = await runBytes(sb, 'start_process.ts', ['--no-pty', 'sleep', '300'], MADE_WITH);
    const list = r.code === 0 ? await runBytes(sb, 'list_processes.ts', ['--json'], MADE_WITH) : undefined;
    if (list) for (const p of JSON.parse(list.stdout) as { pid: number }[]) process.kill(p.pid, 'SIGKILL');
    assert.is(r.code, 3, `start_process with a password of bad bytes: exit ${r.code}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /^start_process: error: BG_PASSWORD must be valid UTF-8/);
    assert.is(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    assert.not.ok(fs.existsSync(path.join(sb.env.BG_DATA_DIR!, 'key.json')), 'no key.json was made');
  },
);

withSandbox(
  'password: a data dir made with a BG_PASSWORD of bad bytes still opens, with a one-line note to run change_password; change_password refuses bad bytes as the new one and takes a valid one',
  async (sb) => {
    const dataDir = legacyDataDir(sb);
    const list = await runBytes(sb, 'list_processes.ts', [], OTHER_BAD);
    assert.is(list.code, 0, `it still opens: ${list.stderr}`);
    const notes = list.stderr.trim().split('\n');
    assert.is(notes.length, 1, `one note line: ${list.stderr}`);
    assert.match(notes[0]!, /^note: BG_PASSWORD is not valid UTF-8.*change_password/);

    const before = await snapshot(dataDir);
    const bad = await runBytes(sb, 'change_password.ts', [], MADE_WITH, '\\377 another bad one');
    assert.is(bad.code, 3, `change_password to bad bytes: exit ${bad.code}: ${bad.stdout}${bad.stderr}`);
    assert.match(bad.stderr, /^change_password: error: BG_NEW_PASSWORD must be valid UTF-8/m);
    assert.equal(await snapshot(dataDir), before, 'nothing changed');

    const good = await runBytes(sb, 'change_password.ts', [], MADE_WITH, VALID);
    assert.is(good.code, 0, `change_password to a valid one: ${good.stderr}`);
    const after = await runBytes(sb, 'list_processes.ts', [], VALID);
    assert.is(after.code, 0, after.stderr);
    assert.is(after.stderr, '', 'no note once the password is valid');
    const old = await runBytes(sb, 'list_processes.ts', [], OTHER_BAD);
    assert.is(old.code, 3, 'the old bad bytes no longer open it');
  },
);

test.run();
