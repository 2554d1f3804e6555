// Issue 13, item 5: get_logs says what it cannot answer instead of printing nothing with exit
// 0 (an agent reads an empty answer as "there were no errors").
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { waitFor, withSandbox, viaFastPath } from './helpers.ts';

// Every script through the fast path (node dist/<x>.mjs, the same sources bundled), as
// logs.test.ts: a third of tsx's CPU per call; none of these assertions is about the form.
const { listJson, run, start } = viaFastPath;

const REFUSAL =
  'get_logs: error: stderr is merged into the terminal for PTY processes; start with --no-pty to keep it apart (--stream output shows it with the rest).\n';

withSandbox('get_logs --stream stderr under a PTY exits 2 and says stderr is merged into the terminal', async (sb) => {
  const { id } = await start(sb, ['--wait-for', 'oops', 'sh', '-c', 'echo oops >&2; sleep 300']);
  for (const extra of [[], ['--grep', 'oops'], ['-n', '0'], ['--new'], ['--wait-for', 'oops', '--timeout', '1']]) {
    const r = await run(sb, 'get_logs.ts', [id, '--stream', 'stderr', ...extra]);
    assert.is(r.code, 2, `${extra.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.is(r.stdout, '');
    assert.is(r.stderr, REFUSAL);
  }
  // What it said is there, in the terminal's output.
  assert.is((await run(sb, 'get_logs.ts', [id, '--grep', 'oops'])).stdout, 'oops\n');
});

withSandbox('get_logs --stream stderr with --no-pty shows stderr alone', async (sb) => {
  const { id } = await start(sb, ['--no-pty', 'sh', '-c', 'echo fine; echo oops >&2']);
  await waitFor('the exit', async () => (await listJson(sb))[0]!.status === 'exited', 20_000);
  const r = await run(sb, 'get_logs.ts', [id, '--stream', 'stderr']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, 'oops\n');
});

withSandbox('get_logs --new on a removed process fails with exit 4, not an empty answer', async (sb) => {
  const { id } = await start(sb, ['--no-pty', 'echo', 'gone']);
  await waitFor('the exit', async () => (await listJson(sb))[0]!.status === 'exited', 20_000);
  assert.is((await run(sb, 'remove_process.ts', [id])).code, 0);
  const r = await run(sb, 'get_logs.ts', [id, '--new']);
  assert.is(r.code, 4, r.stdout + r.stderr);
  assert.is(r.stdout, '');
  assert.match(r.stderr, new RegExp(`^get_logs: .*${id}`));
});

withSandbox('get_logs --since from before the cap dropped the oldest output says so', async (sb) => {
  const { id } = await start(sb, [
    '--no-pty',
    '--max-log-size',
    '1M',
    'sh',
    '-c',
    'echo FIRST-LINE; head -c 3000000 /dev/zero | tr "\\0" x; echo; echo LAST-LINE',
  ]);
  await waitFor('the exit', async () => (await listJson(sb))[0]!.status === 'exited', 60_000);
  const r = await run(sb, 'get_logs.ts', [id, '--since', '1h', '--grep', 'FIRST-LINE|LAST-LINE']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, 'LAST-LINE\n');
  assert.match(
    r.stderr,
    /^get_logs: note: \d+\.\d MiB of the oldest output \(\d+ records\) was dropped to keep the log under its 1\.0 MiB cap\.$/m,
  );
});

test.run();
