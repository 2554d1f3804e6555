// Issue 13, item 3: input of any size, never in argv: send_input --file PATH and send_input -
// (standard input) deliver the exact bytes, checked by checksum at the far end, through pipes
// (16 MiB) and through a terminal in raw mode (1 MiB).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  figure,
  listJson,
  run,
  start,
  waitFor,
  withSandbox,
  FIXTURES,
  ROOT,
  SCRIPTS,
  type RunResult,
  type Sandbox,
} from './helpers.ts';

const logs = async (sb: Sandbox, id: string, args: string[] = []) =>
  (await run(sb, 'get_logs.ts', [id, ...args])).stdout;

/** send_input with `file` as its standard input. */
function sendFromStdin(sb: Sandbox, args: string[], file: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const fd = fs.openSync(file, 'r');
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(SCRIPTS, 'send_input.ts'), ...args], {
      env: sb.env,
      cwd: ROOT,
      stdio: [fd, 'pipe', 'pipe'],
    });
    fs.closeSync(fd);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function randomFile(sb: Sandbox, name: string, bytes: number): { file: string; sha: string } {
  const data = randomBytes(bytes);
  const file = path.join(sb.dir, name);
  fs.writeFileSync(file, data);
  return { file, sha: createHash('sha256').update(data).digest('hex') };
}

const SIZES = { pipe: 16 << 20, pty: 1 << 20 };

for (const via of ['--file', 'stdin'] as const) {
  withSandbox(
    `16 MiB of random bytes by ${via} reach a --no-pty child whole (sha256sum of what it read)`,
    async (sb) => {
      const { file, sha } = randomFile(sb, 'big.bin', SIZES.pipe);
      const { id } = await start(sb, ['--no-pty', 'sha256sum']);
      const t0 = Date.now();
      const r =
        via === '--file'
          ? await run(sb, 'send_input.ts', [id, '-n', '--file', file, '--eof'], { timeoutMs: 300_000 })
          : await sendFromStdin(sb, [id, '-n', '-', '--eof'], file);
      assert.is(r.code, 0, r.stderr);
      assert.is(r.stdout, `Sent ${SIZES.pipe} bytes to process ${id} and closed its input.\n`);
      figure(`send_input ${via}: 16 MiB to a --no-pty child in ${Date.now() - t0} ms`);
      await waitFor('the checksum', async () => (await listJson(sb))[0]!.status === 'exited', 120_000, 200);
      assert.is(await logs(sb, id), `${sha}  -\n`);
    },
  );

  withSandbox(
    `1 MiB of random bytes by ${via} reach a raw-mode PTY child whole (sha256sum of what it read)`,
    async (sb) => {
      const { file, sha } = randomFile(sb, 'mid.bin', SIZES.pty);
      // Raw mode: no line editing, no signals from ^C, no flow control, no echo.
      const { id } = await start(sb, [
        '--wait-for',
        '^READY$',
        'sh',
        '-c',
        `stty raw -echo; echo READY; head -c ${SIZES.pty} | sha256sum`,
      ]);
      const r =
        via === '--file'
          ? await run(sb, 'send_input.ts', [id, '-n', '--file', file], { timeoutMs: 300_000 })
          : await sendFromStdin(sb, [id, '-n', '-'], file);
      assert.is(r.code, 0, r.stderr);
      assert.is(r.stdout, `Sent ${SIZES.pty} bytes to process ${id}.\n`);
      await waitFor('the checksum', async () => (await listJson(sb))[0]!.status === 'exited', 120_000, 200);
      assert.is((await logs(sb, id)).trim().split('\n').pop(), `${sha}  -`);
    },
  );
}

withSandbox(
  'input from stdin gets Enter after it as text does, unless -n; --file and text together are refused',
  async (sb) => {
    const { id } = await start(sb, ['--no-pty', 'cat']);
    const f = path.join(sb.dir, 'answer.txt');
    fs.writeFileSync(f, 'yes');
    assert.is((await sendFromStdin(sb, [id, '-'], f)).stdout, `Sent 4 bytes to process ${id}.\n`);
    assert.is((await sendFromStdin(sb, [id, '-n', '-'], f)).code, 0);
    assert.is((await run(sb, 'send_input.ts', [id, '--file', f, '--key', 'tab'])).code, 0);
    await waitFor(
      'the input in the log',
      async () => (await logs(sb, id, ['--stream', 'input', '-n', '0', '--raw'])).length === 12,
    );
    assert.is(await logs(sb, id, ['--stream', 'input', '-n', '0', '--raw']), 'yes\nyesyes\n\t');
    const both = await run(sb, 'send_input.ts', [id, '--file', f, 'text']);
    assert.is(both.code, 2);
    assert.match(both.stderr, /give the input once: --file .* or the text, not both/);
    const missing = await run(sb, 'send_input.ts', [id, '--file', path.join(sb.dir, 'nope.txt')]);
    assert.is(missing.code, 2);
    assert.match(missing.stderr, /--file .*nope\.txt cannot be read \(no such file\)/);
    assert.is(
      await logs(sb, id, ['--stream', 'input', '-n', '0', '--raw']),
      'yes\nyesyes\n\t',
      'nothing more was sent',
    );
  },
);

withSandbox(
  'input that ends with a line end gets no second Enter: the next prompt stays unanswered (stdin, --file, -n)',
  async (sb) => {
    // A terminal (the default) and two [Y/n] prompts: `send_input ID - <<< 'y'` once sent
    // "y\n\n", and the second Enter took the second prompt's default.
    const prompts = path.join(FIXTURES, 'two-prompts.py');
    // (A terminal reads \r as Enter too: a file's \r\n is sent to a --no-pty child.)
    for (const [via, bytes, sent, pty] of [
      ['stdin', 'y\n', 2, []],
      ['--file', 'y\r\n', 3, ['--no-pty']],
      ['stdin', 'y', 2, []], // no line end: Enter is pressed after it, as before
    ] as const) {
      const { id } = await start(sb, [...pty, 'python3', prompts]);
      const first = await run(sb, 'get_logs.ts', [id, '--wait-for', 'draft 1\\?', '--timeout', '20']);
      assert.is(first.code, 0, `${via}: ${first.stderr}`);
      const f = path.join(sb.dir, `answer-${via}-${sent}.txt`);
      fs.writeFileSync(f, bytes);
      const out =
        via === 'stdin' ? await sendFromStdin(sb, [id, '-'], f) : await run(sb, 'send_input.ts', [id, '--file', f]);
      assert.is(out.stdout, `Sent ${sent} bytes to process ${id}.\n`, `${via} ${JSON.stringify(bytes)}`);
      const second = await run(sb, 'get_logs.ts', [id, '--wait-for', 'ALL drafts\\? \\[Y/n\\] $', '--timeout', '20']);
      assert.is(second.code, 0, `${via} ${JSON.stringify(bytes)}: ${second.stderr}${second.stdout}`);
      // Only "n" answers the second prompt now; had an Enter been left over, it would have said yes.
      await run(sb, 'send_input.ts', [id, 'n']);
      const end = await run(sb, 'get_logs.ts', [id, '--wait-for', 'DELETED ALL|kept the other', '--timeout', '20']);
      assert.match(end.stdout, /kept the other drafts\n$/, `${via} ${JSON.stringify(bytes)}: ${end.stdout}`);
    }
    // -n keeps its meaning: the bytes exactly, no Enter, whatever they end with.
    const { id } = await start(sb, ['--no-pty', 'cat']);
    const f = path.join(sb.dir, 'bare.txt');
    fs.writeFileSync(f, 'y');
    assert.is((await sendFromStdin(sb, [id, '-n', '-'], f)).stdout, `Sent 1 byte to process ${id}.\n`);
    fs.writeFileSync(f, 'y\n');
    assert.is((await sendFromStdin(sb, [id, '-n', '-'], f)).stdout, `Sent 2 bytes to process ${id}.\n`);
    await waitFor(
      'the input in the log',
      async () => (await logs(sb, id, ['--stream', 'input', '-n', '0', '--raw'])).length === 3,
    );
    assert.is(await logs(sb, id, ['--stream', 'input', '-n', '0', '--raw']), 'yy\n');
  },
);

test.run();
