// The waiting-input event (issue 26, part 2, on part 1's detector): a program that waits at a
// prompt is one line with its prompt, under a PTY and with --no-pty; answered, it goes on.
import { test } from 'uvu';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { run, start, track, waitFor, withSandbox, ROOT, SCRIPTS } from './helpers.ts';

withSandbox('waiting for input: one line with the prompt, under a PTY and with --no-pty', async (sb) => {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(SCRIPTS, 'watch_processes.ts'), '--new'], {
    env: sb.env,
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(sb, child.pid!);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  await waitFor(`the summary (${out})`, () => / now: /.test(out), 30_000);
  const py = "name = input('Your name? '); print('hello', name); input('Again? ')";
  await start(sb, ['--name', 'asker', 'python3', '-c', py]);
  await start(sb, ['--name', 'piped', '--no-pty', 'python3', '-c', py]);
  await waitFor(
    `asker waiting in:\n${out}`,
    () => /^\d\d:\d\d:\d\d asker waiting-input: Your name\?$/m.test(out),
    30_000,
  );
  await waitFor(
    `piped waiting in:\n${out}`,
    () => /^\d\d:\d\d:\d\d piped waiting-input: Your name\?$/m.test(out),
    30_000,
  );
  await run(sb, 'send_input.ts', ['asker', 'Ada']);
  await waitFor(
    `asker waiting again in:\n${out}`,
    () => /^\d\d:\d\d:\d\d asker waiting-input: Again\?$/m.test(out),
    30_000,
  );
  const closed = new Promise((r) => child.on('close', r));
  child.kill('SIGTERM');
  await closed;
});

test.run();
