// get_logs --grep with context (-A, -B, -C; issue 25, item 5): each match with the lines around
// it, `--` between groups that are not adjacent, as grep prints them, on every mode that takes
// --grep (the tail, --since, --new, -f), and -n counting matches. Real processes, real logs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { track, waitFor, withSandbox, ROOT, SCRIPTS, type Sandbox, viaFastPath } from './helpers.ts';

// Every script through the fast path (node dist/<x>.mjs, the same sources bundled), as
// logs.test.ts: a third of tsx's CPU per call; none of these assertions is about the form.
const { run, start } = viaFastPath;

const logs = async (sb: Sandbox, id: string, args: string[] = []) => run(sb, 'get_logs.ts', [id, ...args]);
const out = async (sb: Sandbox, id: string, args: string[]) => {
  const r = await logs(sb, id, args);
  assert.is(r.code, 0, r.stderr);
  return r.stdout;
};
const lines = (...l: string[]) => `${l.join('\n')}\n`;

// Thirty lines, ERR at 5, 6, 15 and 28; then each input line echoed (quit ends it).
const PRINTER = [
  '--no-pty',
  'sh',
  '-c',
  'for i in $(seq 1 30); do case $i in 5|6|15|28) echo "ERR $i";; *) echo "ok $i";; esac; done; ' +
    'while read l; do echo "$l"; [ "$l" = quit ] && exit 0; done',
];

async function printer(sb: Sandbox): Promise<string> {
  const { id } = await start(sb, PRINTER);
  await waitFor('the thirty lines', async () => (await logs(sb, id, ['-n', '1'])).stdout === 'ok 30\n');
  return id;
}

withSandbox('the tail: each match with its context, -- between groups, -n counting matches', async (sb) => {
  const id = await printer(sb);
  const all = lines(
    'ok 4',
    'ERR 5',
    'ERR 6',
    'ok 7',
    '--',
    'ok 14',
    'ERR 15',
    'ok 16',
    '--',
    'ok 27',
    'ERR 28',
    'ok 29',
  );
  assert.is(await out(sb, id, ['--grep', '^ERR', '-C', '1']), all);
  assert.is(await out(sb, id, ['--grep', '^ERR', '--context', '1', '-n', '0']), all);
  // -n 2: the last two matches, each with its context (not the last two lines).
  assert.is(
    await out(sb, id, ['--grep', '^ERR', '-C', '1', '-n', '2']),
    lines('ok 14', 'ERR 15', 'ok 16', '--', 'ok 27', 'ERR 28', 'ok 29'),
  );
  // The first group shown has its -B lines whatever they are: "ERR 5" is "ERR 6"'s context here.
  assert.is(
    await out(sb, id, ['--grep', '^ERR', '-B', '1', '-n', '3']),
    lines('ERR 5', 'ERR 6', '--', 'ok 14', 'ERR 15', '--', 'ok 27', 'ERR 28'),
  );
  // -A and -B apart, and over -C; groups that touch are joined.
  assert.is(
    await out(sb, id, ['--grep', '^ERR', '-A', '0', '-n', '0']),
    lines('ERR 5', 'ERR 6', '--', 'ERR 15', '--', 'ERR 28'),
  );
  assert.is(await out(sb, id, ['--grep', '^ERR', '-B', '2', '-n', '1']), lines('ok 26', 'ok 27', 'ERR 28'));
  assert.is(
    await out(sb, id, ['--grep', 'ERR 1|ERR 2', '-C', '5', '-A', '1']),
    lines(
      'ok 10',
      'ok 11',
      'ok 12',
      'ok 13',
      'ok 14',
      'ERR 15',
      'ok 16',
      '--',
      'ok 23',
      'ok 24',
      'ok 25',
      'ok 26',
      'ok 27',
      'ERR 28',
      'ok 29',
    ),
  );
  assert.is(
    await out(sb, id, ['--grep', '^ERR 15', '-C', '9']),
    // Lines 6 to 24; "ERR 6" does not match this pattern: it is context.
    lines(...Array.from({ length: 19 }, (_, i) => `${i === 0 || i === 9 ? 'ERR' : 'ok'} ${i + 6}`)),
  );
  // --json: context lines say so, a separator is an object of its own.
  const json = (await out(sb, id, ['--grep', '^ERR 1|^ERR 2', '-A', '1', '--json']))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(
    json.map((o) => (o.separator ? '--' : `${o.text}${o.context ? ' (context)' : ''}`)),
    ['ERR 15', 'ok 16 (context)', '--', 'ERR 28', 'ok 29 (context)'],
  );
});

withSandbox('--since and --new: context from within what the read covers; --new shows each group once', async (sb) => {
  const id = await printer(sb);
  const first = lines('ok 4', 'ERR 5', 'ERR 6', '--', 'ok 14', 'ERR 15', '--', 'ok 27', 'ERR 28');
  assert.is(await out(sb, id, ['--new', '--grep', '^ERR', '-B', '1']), first);
  assert.is(await out(sb, id, ['--new', '--grep', '^ERR', '-B', '1']), '');
  const since = new Date(Date.now() + 1).toISOString();
  await waitFor('a moment after the time', () => Date.now() > Date.parse(since) + 5);
  for (const l of ['a', 'ERR b', 'c', 'd', 'e', 'ERR f']) await run(sb, 'send_input.ts', [id, l]);
  await waitFor('ERR f', async () => (await logs(sb, id, ['-n', '1'])).stdout === 'ERR f\n');
  // -B 3 does not reach back past --since's time, nor past where the last --new read stopped.
  assert.is(
    await out(sb, id, ['--since', since, '--grep', '^ERR', '-B', '3']),
    lines('a', 'ERR b', 'c', 'd', 'e', 'ERR f'),
  );
  assert.is(await out(sb, id, ['--since', since, '--grep', '^ERR', '-A', '1']), lines('ERR b', 'c', '--', 'ERR f'));
  assert.is(await out(sb, id, ['--new', '--grep', '^ERR', '-B', '1']), lines('a', 'ERR b', '--', 'e', 'ERR f'));
  assert.is(await out(sb, id, ['--new', '--grep', '^ERR', '-B', '1']), '');
  await run(sb, 'send_input.ts', [id, 'quit']);
});

withSandbox('-f: -B from the lines already read, -A for the lines that follow', async (sb) => {
  const id = await printer(sb);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(SCRIPTS, 'get_logs.ts'), id, '-f', '--grep', '^ERR', '-B', '2', '-A', '1', '-n', '1'],
    { env: sb.env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  track(sb, child.pid!);
  let got = '';
  let code: number | null | undefined;
  child.stdout.on('data', (d) => (got += d));
  child.on('close', (c) => (code = c));
  await waitFor('the first read', () => got === lines('ok 26', 'ok 27', 'ERR 28', 'ok 29'));
  // "ok 30" was read, not shown: it is "ERR now"'s context, right after "ok 29" (no --).
  await run(sb, 'send_input.ts', [id, 'ERR now']);
  await waitFor('ERR now', () => got.includes('ERR now'));
  for (const l of ['a', 'b', 'c', 'd', 'ERR live', 'e', 'f', 'quit']) await run(sb, 'send_input.ts', [id, l]);
  await waitFor('the follower to end with the process', () => code !== undefined, 20_000);
  assert.is(got, lines('ok 26', 'ok 27', 'ERR 28', 'ok 29', 'ok 30', 'ERR now', 'a', '--', 'c', 'd', 'ERR live', 'e'));
  assert.is(code, 0);
});

withSandbox('-A, -B, -C: whole numbers, with --grep, not with --wait-for or --screen (exit 2)', async (sb) => {
  const id = await printer(sb);
  const refused = async (args: string[], message: RegExp) => {
    const r = await logs(sb, id, args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.is(r.stdout, '');
    assert.match(r.stderr, message);
  };
  await refused(['-A', '2'], /^get_logs: error: -A, -B and -C show lines around --grep's matches: add --grep PATTERN/);
  await refused(['-C', '1', '--new'], /add --grep PATTERN/);
  await refused(
    ['--grep', 'x', '-A', '-1'],
    /^get_logs: error: -A must be a whole number of lines, 0 or more \(got -1\)\.\n$/,
  );
  await refused(['--grep', 'x', '-C', 'abc'], /-C must be a whole number of lines, 0 or more \(got abc\)/);
  await refused(['--grep', 'x', '-B', '1.5'], /-B must be a whole number of lines, 0 or more \(got 1\.5\)/);
  await refused(['--grep', 'x', '-B', ''], /-B must be a whole number/);
  await refused(['--grep', 'x', '--wait-for', 'y', '-A', '1'], /-A, -B and -C do not apply to --wait-for/);
  await refused(['--screen', '-B', '1'], /--screen prints the whole screen as it stands; -B applies to lines/);
  // Refused before anything is read: the --new position is where it was.
  await refused(['--new', '--grep', 'ERR', '-A', 'x'], /-A must be/);
  assert.is(await out(sb, id, ['--new', '--grep', 'ERR']), lines('ERR 5', 'ERR 6', 'ERR 15', 'ERR 28'));
});

test.run();
