// get_logs beyond the tail: --follow, --new, --since, --timestamps, --stream, --grep,
// --wait-for, --json, odd bytes, and the log size cap. Real processes, real encrypted logs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { figure, withSandbox, fastPath, track, viaFastPath, waitFor, ROOT, type Sandbox } from './helpers.ts';

// Every script through the fast path (node dist/<x>.mjs, the same sources bundled): this file
// makes about 200 calls, and under tsx each cost three times the CPU. The tsx form is run by the
// other files and by hostrepo.test.ts's examples.
const { run, start, listJson } = viaFastPath;
const logs = async (sb: Sandbox, id: string, args: string[] = []) => run(sb, 'get_logs.ts', [id, ...args]);
// A process that echoes each input line back, and exits on "quit".
const ECHOER = [
  '--no-pty',
  'sh',
  '-c',
  'echo early; while read line; do echo "echo:$line"; [ "$line" = quit ] && exit 0; done',
];

/** A long-running get_logs whose stdout is collected as it arrives. */
function spawnGetLogs(sb: Sandbox, args: string[]) {
  const child = spawn(process.execPath, [fastPath('get_logs.ts'), ...args], {
    env: sb.env,
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const state = { out: '', err: '', code: undefined as number | null | undefined, pid: child.pid! };
  child.stdout.on('data', (d) => (state.out += d));
  child.stderr.on('data', (d) => (state.err += d));
  child.on('close', (code) => (state.code = code));
  track(sb, child.pid!);
  return state;
}

/** True once the process has an inotify watch: get_logs made it after its first read, to follow. */
function watching(pid: number): boolean {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === 'anon_inode:inotify';
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

withSandbox('--follow prints a new line within 1 s and exits 0 when the process ends', async (sb) => {
  const { id } = await start(sb, ECHOER);
  await waitFor('early', async () => (await logs(sb, id)).stdout.includes('early'));
  const f = spawnGetLogs(sb, [id, '-f']);
  await waitFor('the tail', () => f.out.includes('early'));
  assert.is((await run(sb, 'send_input.ts', [id, 'ping'])).code, 0);
  const sent = Date.now();
  await waitFor('the followed line', () => f.out.includes('echo:ping'), 5000, 10);
  const shownMs = Date.now() - sent;
  figure(`--follow showed a line ${shownMs} ms after send_input returned`);
  assert.ok(shownMs < 1000, `took ${shownMs} ms`);
  await run(sb, 'send_input.ts', [id, 'quit']);
  await waitFor('follow to exit', () => f.code !== undefined, 5000);
  assert.is(f.code, 0);
  assert.is(f.out, 'early\necho:ping\necho:quit\n');
});

// A prompt has no newline: --follow must still show it (once it goes quiet), and --wait-for
// must match it, or an agent never learns that the process waits for input.
const PROMPTER = [
  '--no-pty',
  'sh',
  '-c',
  'echo start; read go; printf "Continue? [y/N] "; read a; echo "you said $a"; printf "next> "; read b; echo "bye $b"',
];

withSandbox(
  '--follow shows a prompt (a line without a newline) as it waits, --raw -f gives the exact bytes, --wait-for matches a prompt',
  async (sb) => {
    const { id } = await start(sb, PROMPTER);
    await waitFor('start', async () => (await logs(sb, id)).stdout === 'start\n');
    const f = spawnGetLogs(sb, [id, '-f']);
    const raw = spawnGetLogs(sb, [id, '-f', '--raw']);
    const w = spawnGetLogs(sb, [id, '--wait-for', '^Continue\\?', '--timeout', '30']);
    await waitFor('the followers to show the tail', () => f.out === 'start\n' && raw.out === 'start\n');
    assert.is(w.code, undefined, 'no line matched yet');
    await run(sb, 'send_input.ts', [id, 'go']);
    const sent = Date.now();
    await waitFor('the prompt in --follow', () => f.out === 'start\nContinue? [y/N] \n', 5000, 10);
    assert.ok(Date.now() - sent < 1500, `took ${Date.now() - sent} ms`);
    await waitFor('the prompt in --raw -f', () => raw.out === 'start\nContinue? [y/N] ');
    await waitFor('--wait-for to match the prompt', () => w.code !== undefined);
    assert.is(w.code, 0, w.err);
    assert.is(w.out, 'Continue? [y/N] \n');
    await run(sb, 'send_input.ts', [id, 'y']);
    // The answer ends the prompt's line: printed whole again as text, only the rest with --raw.
    await waitFor('the next prompt', () => f.out.endsWith('next> \n') && raw.out.endsWith('next> '));
    assert.is(f.out, 'start\nContinue? [y/N] \nContinue? [y/N] you said y\nnext> \n');
    assert.is(raw.out, 'start\nContinue? [y/N] you said y\nnext> ');
    assert.match(
      (await logs(sb, id, ['-n', '1', '--json'])).stdout,
      /"text":"next> ","partial":true\}\n$/,
      '--json marks a line still open',
    );
    // A follower that starts at the open line: what ends that line prints it whole.
    const late = spawnGetLogs(sb, [id, '-f', '-n', '1']);
    await waitFor('the late follower', () => late.out === 'next> \n');
    await run(sb, 'send_input.ts', [id, 'later']);
    await waitFor(
      'the followers to exit with the process',
      () => f.code !== undefined && raw.code !== undefined && late.code !== undefined,
      10_000,
    );
    assert.is(f.code, 0);
    assert.is(late.out, 'next> \nnext> bye later\n');
    assert.is(f.out, 'start\nContinue? [y/N] \nContinue? [y/N] you said y\nnext> \nnext> bye later\n');
    assert.is(raw.out, 'start\nContinue? [y/N] you said y\nnext> bye later\n', 'nothing printed twice with --raw');
  },
);

withSandbox(
  '--follow and --wait-for with open lines: --wait-for waits for the whole line, --raw --json stays JSON, --grep hides what it hides, input sends stay apart',
  async (sb) => {
    // A line printed in two parts 50 ms apart: --wait-for must not take the first part for the line.
    const port = await start(sb, [
      '--no-pty',
      'sh',
      '-c',
      'read go; printf "listening on port 80"; sleep 0.05; echo 80; printf "ERR"; sleep 0.5; echo "OR: disk full"; read more',
    ]);
    const w = spawnGetLogs(sb, [port.id, '--wait-for', 'port [0-9]+', '--timeout', '30']);
    const j = spawnGetLogs(sb, [port.id, '-f', '--raw', '--json']);
    const g = spawnGetLogs(sb, [port.id, '-f', '--raw', '--grep', 'ERROR']);
    // All three must be following (an inotify watch each) before the halves are written: one that
    // starts later reads the whole line at once and never meets the open first half.
    await waitFor('the three followers to watch the log', () => [w, j, g].every((s) => watching(s.pid)), 30_000);
    assert.ok(
      j.out === '' && g.out === '' && w.code === undefined,
      `nothing printed yet: ${JSON.stringify([j.out, g.out, w.out, w.err])}`,
    );
    await run(sb, 'send_input.ts', [port.id, 'go']);
    await waitFor('--wait-for', () => w.code !== undefined);
    assert.is(w.out, 'listening on port 8080\n');
    await waitFor('ERROR in the --grep follower', () => g.out.includes('disk full'));
    assert.is(g.out, 'ERROR: disk full\n', 'the start of the line, hidden while open, is printed with the rest');
    await run(sb, 'send_input.ts', [port.id, 'bye']);
    await waitFor('the followers to end', () => j.code !== undefined && g.code !== undefined, 10_000);
    const objects = j.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { text: string; partial?: boolean });
    assert.equal(
      objects.filter((o) => !o.partial).map((o) => o.text),
      ['listening on port 8080', 'ERROR: disk full'],
    );
    // Input: each send is a line of its own, as typed, also when followed.
    const typed = await start(sb, ['--no-pty', 'sh', '-c', 'read a; read b']);
    const f = spawnGetLogs(sb, [typed.id, '-f', '--stream', 'input']);
    await waitFor('the follower', async () => (await logs(sb, typed.id, ['--stream', 'events'])).stdout !== '');
    await run(sb, 'send_input.ts', [typed.id, '-n', 'abc']);
    await waitFor('abc', () => f.out === 'abc\n');
    await run(sb, 'send_input.ts', [typed.id, 'hello']);
    await run(sb, 'send_input.ts', [typed.id, 'x']);
    await waitFor('the follower to end', () => f.code !== undefined, 10_000);
    assert.is(f.out, 'abc\nhello\nx\n');
    assert.is((await logs(sb, typed.id, ['--stream', 'input', '-n', '2'])).stdout, 'hello\nx\n');
  },
);

withSandbox(
  '--new shows each line exactly once across reads; -n limits it; --stream all shows input and events',
  async (sb) => {
    const { id } = await start(sb, ECHOER);
    await waitFor('early', async () => (await logs(sb, id)).stdout.includes('early'));
    assert.is((await logs(sb, id, ['--new'])).stdout, 'early\n');
    assert.is((await logs(sb, id, ['--new'])).stdout, '');
    await run(sb, 'send_input.ts', [id, 'a']);
    await run(sb, 'send_input.ts', [id, 'b']);
    await waitFor('b', async () => (await logs(sb, id)).stdout.includes('echo:b'));
    assert.is((await logs(sb, id, ['--new'])).stdout, 'echo:a\necho:b\n');
    await run(sb, 'send_input.ts', [id, 'c']);
    await waitFor('c', async () => (await logs(sb, id)).stdout.includes('echo:c'));
    assert.is((await logs(sb, id, ['--new'])).stdout, 'echo:c\n');
    assert.is((await logs(sb, id, ['--new'])).stdout, '');
    const all = (await logs(sb, id, ['--stream', 'all', '-n', '0'])).stdout.split('\n');
    assert.match(all[0]!, /^\[event\] started: sh -c /);
    assert.ok(
      all.includes('[input] a') && all.includes('[event] input: 2 bytes') && all.includes('echo:a'),
      all.join('\n'),
    );
    assert.is((await logs(sb, id, ['--stream', 'input', '-n', '0'])).stdout, 'a\nb\nc\n');
    await run(sb, 'send_input.ts', [id, 'quit']);
    await waitFor('exit', async () => (await listJson(sb))[0]!.status === 'exited');
    const events = (await logs(sb, id, ['--stream', 'events', '-n', '1'])).stdout;
    assert.is(events, 'exited with code 0\n');
  },
);

withSandbox(
  '--new with --wait-for prints every new line up to the match and no more; --new --grep keeps its own position',
  async (sb) => {
    // Each "go" prints six lines in one write (one log record): a match mid-record must leave
    // the lines after it unread.
    const { id } = await start(sb, [
      '--no-pty',
      'sh',
      '-c',
      'echo start; while read l; do [ "$l" = quit ] && exit 0; printf "1\\n2\\n3\\n4\\n5\\nready\\n"; done',
    ]);
    await waitFor('start', async () => (await logs(sb, id)).stdout === 'start\n');
    const go = async () => assert.is((await run(sb, 'send_input.ts', [id, 'go'])).code, 0);
    assert.is((await logs(sb, id, ['--new'])).stdout, 'start\n');
    await go();
    const upTo2 = await logs(sb, id, ['--new', '--wait-for', '^2$', '--timeout', '10']);
    assert.is(upTo2.code, 0, upTo2.stderr);
    assert.is(upTo2.stdout, '1\n2\n');
    assert.is((await logs(sb, id, ['--new'])).stdout, '3\n4\n5\nready\n');
    assert.is((await logs(sb, id, ['--new'])).stdout, '');
    // A match that comes later, while --wait-for follows.
    const w = spawnGetLogs(sb, [id, '--new', '--wait-for', '^3$', '--timeout', '20']);
    await waitFor('the waiter to follow (its inotify watch)', () => watching(w.pid));
    await go();
    await waitFor('the waiter to return', () => w.code !== undefined, 10_000);
    assert.is(w.code, 0, w.err);
    assert.is(w.out, '1\n2\n3\n');
    assert.is((await logs(sb, id, ['--new'])).stdout, '4\n5\nready\n');
    // A view of its own: --new --grep sees everything it has not shown, whatever plain --new showed.
    assert.is((await logs(sb, id, ['--new', '--grep', '^[0-9]$'])).stdout, '1\n2\n3\n4\n5\n1\n2\n3\n4\n5\n');
    await go();
    await waitFor(
      'the third round',
      async () => (await logs(sb, id, ['-n', '0', '--grep', 'ready'])).stdout === 'ready\nready\nready\n',
    );
    assert.is((await logs(sb, id, ['--new', '--grep', '^[0-9]$'])).stdout, '1\n2\n3\n4\n5\n');
    assert.is((await logs(sb, id, ['--new'])).stdout, '1\n2\n3\n4\n5\nready\n');
    // No match within the timeout: what was new is printed (and counts as read), exit 1.
    const none = await logs(sb, id, ['--new', '--wait-for', 'never', '--timeout', '0.5']);
    assert.is(none.code, 1);
    assert.is(none.stdout, '');
    assert.match(none.stderr, /no line matched \/never\/ within 0\.5 s; nothing new came\./);
    await go();
    await waitFor(
      'the fourth round',
      async () =>
        (await logs(sb, id, ['-n', '1'])).stdout === 'ready\n' &&
        (await logs(sb, id, ['-n', '0', '--grep', 'ready'])).stdout.length === 24,
    );
    const rest = await logs(sb, id, ['--new', '--wait-for', 'never', '--timeout', '0.5']);
    assert.is(rest.code, 1);
    assert.is(rest.stdout, '1\n2\n3\n4\n5\nready\n');
    assert.match(rest.stderr, /what was new is printed above\.\n$/);
    assert.is((await logs(sb, id, ['--new'])).stdout, '');
  },
);

withSandbox(
  '--new --wait-for: a line still open on another stream at the match is shown, not skipped; an unterminated input send too',
  async (sb) => {
    // stdout "abc" stays open while the match comes on stderr; the line goes on after it.
    const script =
      'read go; printf abc; sleep 0.3; printf "READY\\n" >&2; sleep 0.3; printf "def\\nxyz\\n"; read again; printf "ghi"; sleep 0.3; printf "READY\\n" >&2; sleep 0.3; echo jkl; sleep 300';
    const { id } = await start(sb, ['--no-pty', 'sh', '-c', script]);
    // The match while following.
    const w = spawnGetLogs(sb, [id, '--new', '--wait-for', 'READY', '--timeout', '20']);
    await waitFor('the waiter to follow (its inotify watch)', () => watching(w.pid));
    assert.is((await run(sb, 'send_input.ts', [id, 'go'])).code, 0);
    await waitFor('the waiter to return', () => w.code !== undefined, 10_000);
    assert.is(w.code, 0, w.err);
    assert.is(w.out, 'abc\nREADY\n');
    await waitFor('xyz', async () => (await logs(sb, id)).stdout.endsWith('xyz\n'));
    assert.is((await logs(sb, id, ['--new'])).stdout, 'def\nxyz\n');
    // The match already in the log when get_logs starts.
    assert.is((await run(sb, 'send_input.ts', [id, 'again'])).code, 0);
    await waitFor('jkl', async () => (await logs(sb, id)).stdout.endsWith('jkl\n'));
    const now = await logs(sb, id, ['--new', '--wait-for', 'READY']);
    assert.is(now.code, 0, now.stderr);
    assert.is(now.stdout, 'ghi\nREADY\n');
    assert.is((await logs(sb, id, ['--new'])).stdout, 'jkl\n');
    // Input sent without a newline is a whole line of its own: shown on the way to a match.
    assert.is((await run(sb, 'send_input.ts', [id, '-n', 'typed'])).code, 0);
    const typed = await logs(sb, id, ['--new', '--stream', 'input', '--wait-for', 'never', '--timeout', '0.5']);
    assert.is(typed.code, 1);
    assert.is(typed.stdout, 'go\nagain\ntyped\n');
    assert.match(typed.stderr, /what was new is printed above\.\n$/);
  },
);

withSandbox('--since, --timestamps, --grep with -n, and --json', async (sb) => {
  const { id } = await start(sb, ECHOER);
  await waitFor('early', async () => (await logs(sb, id)).stdout.includes('early'));
  const mark = new Date().toISOString();
  for (const w of ['x1', 'y2', 'x3', 'x4']) await run(sb, 'send_input.ts', [id, w]);
  await waitFor('x4', async () => (await logs(sb, id)).stdout.includes('echo:x4'));
  assert.is((await logs(sb, id, ['--since', mark])).stdout, 'echo:x1\necho:y2\necho:x3\necho:x4\n');
  assert.is((await logs(sb, id, ['--since', '1h', '-n', '2'])).stdout, 'echo:x3\necho:x4\n');
  assert.is((await logs(sb, id, ['--grep', '^echo:x', '-n', '2'])).stdout, 'echo:x3\necho:x4\n');
  assert.is((await logs(sb, id, ['--grep', ':y'])).stdout, 'echo:y2\n');
  const stamped = (await logs(sb, id, ['-t', '-n', '1'])).stdout;
  assert.match(stamped, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} echo:x4\n$/);
  const json = (await logs(sb, id, ['--json', '-n', '2'])).stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(
    json.map((j) => [j.stream, j.text]),
    [
      ['stdout', 'echo:x3'],
      ['stdout', 'echo:x4'],
    ],
  );
  assert.ok(Date.parse(json[1].time) >= Date.parse(mark));
  const bad = await logs(sb, id, ['--since', 'yesterday-ish']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /--since "yesterday-ish" is not a time/);
  const badRe = await logs(sb, id, ['--grep', '(']);
  assert.is(badRe.code, 2);
  assert.match(badRe.stderr, /not a valid regular expression/);
});

withSandbox(
  '--wait-for: a line already there, one that comes later, a timeout, and a process that ends first',
  async (sb) => {
    const { id } = await start(sb, ECHOER);
    const now = await logs(sb, id, ['--wait-for', 'ear?ly', '--timeout', '10']);
    assert.is(now.code, 0);
    assert.is(now.stdout, 'early\n');
    const w = spawnGetLogs(sb, [id, '--wait-for', 'echo:go+d', '--timeout', '20']);
    await run(sb, 'send_input.ts', [id, 'bad']);
    await run(sb, 'send_input.ts', [id, 'good']);
    await waitFor('wait-for to return', () => w.code !== undefined, 10_000);
    assert.is(w.code, 0, w.err);
    assert.is(w.out, 'echo:good\n');
    const t0 = Date.now();
    const late = await logs(sb, id, ['--wait-for', 'never-printed', '--timeout', '1']);
    assert.is(late.code, 1);
    assert.ok(Date.now() - t0 >= 1000);
    assert.match(late.stderr, /no line matched \/never-printed\/ within 1 s; its last lines:/);
    assert.match(late.stdout, /echo:good\n$/);
    const ends = spawnGetLogs(sb, [id, '--wait-for', 'never-printed']);
    await waitFor('the follower to start', () => ends.out !== undefined);
    await run(sb, 'send_input.ts', [id, 'quit']);
    await waitFor('wait-for to notice the end', () => ends.code !== undefined, 10_000);
    assert.is(ends.code, 5);
    assert.match(ends.err, /the process ended before a line matched/);
  },
);

withSandbox('binary output and invalid UTF-8: shown safely by default, byte for byte with --raw', async (sb) => {
  const { id } = await start(sb, ['--no-pty', 'printf', 'ok\\377\\376\\000\\001end\\nlast-no-newline']);
  await waitFor('exit', async () => (await listJson(sb))[0]!.status === 'exited');
  const raw = spawn(process.execPath, [fastPath('get_logs.ts'), id, '-n', '0', '--raw'], {
    env: sb.env,
    cwd: ROOT,
  });
  const chunks: Buffer[] = [];
  raw.stdout.on('data', (d: Buffer) => chunks.push(d));
  await new Promise((r) => raw.on('close', r));
  assert.equal([...Buffer.concat(chunks)], [...Buffer.from('ok\xff\xfe\x00\x01end\nlast-no-newline', 'latin1')]);
  const text = (await logs(sb, id, ['-n', '0'])).stdout;
  assert.is(text, 'ok\ufffd\ufffdend\nlast-no-newline\n');
});

withSandbox(
  'the log cap: 1 GiB printed with a 50 MiB cap leaves at most 60 MiB, the tail stays readable, the drop is reported',
  async (sb) => {
    const { id } = await start(sb, [
      '--no-pty',
      '--max-log-size',
      '50M',
      'sh -c "yes 0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghij | head -c 1073741824; echo; echo THE-END"',
    ]);
    let peak = 0;
    const logDir = path.join(sb.env.BG_DATA_DIR!, 'logs');
    // The writer archives and deletes pieces while this looks: a piece gone between the listing
    // and its stat counts as 0 bytes (it is no longer on disk).
    const size = () =>
      fs
        .readdirSync(logDir)
        .filter((n) => n.startsWith(id))
        .reduce((s, n) => s + (fs.statSync(path.join(logDir, n), { throwIfNoEntry: false })?.size ?? 0), 0);
    await waitFor(
      'the process to finish',
      async () => {
        peak = Math.max(peak, size());
        return (await listJson(sb))[0]!.status === 'exited';
      },
      120_000,
      200,
    );
    const final = size();
    peak = Math.max(peak, final);
    assert.ok(peak <= 60 * 1024 * 1024, `peak ${peak} bytes`);
    assert.ok(final <= 60 * 1024 * 1024 && final > 30 * 1024 * 1024, `final ${final} bytes`);
    const tail = await logs(sb, id, ['-n', '2']);
    // 1 GiB is not a whole number of 61-byte lines: the last line is cut short by head.
    const line = '0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghij';
    assert.is(tail.stdout, `${line.slice(0, 1073741824 % (line.length + 1))}\nTHE-END\n`);
    const all = await logs(sb, id, ['-n', '0', '--grep', 'THE-END']);
    assert.is(all.stdout, 'THE-END\n');
    assert.match(
      all.stderr,
      /MiB of the oldest output \(\d+ records\) was dropped to keep the log under its 50\.0 MiB cap/,
    );
    const mib = (n: number) => (n / 1048576).toFixed(1);
    figure(
      `log cap: 1 GiB printed with a 50 MiB cap: ${mib(peak)} MiB on disk at most (sampled every 200 ms), ${mib(final)} MiB at the end; get_logs said: ${all.stderr.trim()}`,
    );
  },
);

withSandbox(
  '--new --wait-for in a Python REPL: the lines in the order printed, each once, the prompt after them once (issue 25, defect 2)',
  async (sb) => {
    // The REPL prints "row 2\r\n>>> " in one write: the prompt, still open when the match
    // stops the read, came out before "row 2", and again on the next --new.
    const { id } = await start(sb, ['--wait-for', '^>>> ', 'python3', '-q']);
    assert.is((await logs(sb, id, ['--new'])).stdout, '>>> \n');
    await run(sb, 'send_input.ts', [id, 'for i in range(3): print("row", i)']);
    await run(sb, 'send_input.ts', [id, '']); // a blank line ends the block
    const upTo = await logs(sb, id, ['--new', '--wait-for', '^row 2', '--timeout', '20']);
    assert.is(upTo.code, 0, upTo.stderr);
    assert.is(upTo.stdout.replace(/^.*\n/, ''), '... \nrow 0\nrow 1\nrow 2\n', upTo.stdout);
    await waitFor('the prompt after the rows', async () => (await logs(sb, id, ['-n', '1'])).stdout === '>>> \n');
    assert.is((await logs(sb, id, ['--new'])).stdout, '>>> \n', 'the prompt, once, after the rows');
    assert.is((await logs(sb, id, ['--new'])).stdout, '', 'and not again');
    // The same when the match is already in the log when --wait-for reads it, and when the
    // wait follows the log (the rows and the prompt come while it waits).
    await run(sb, 'send_input.ts', [id, 'import time; time.sleep(0.5); print("late 1"); print("late 2")']);
    const followed = await logs(sb, id, ['--new', '--wait-for', '^late 2', '--timeout', '20']);
    assert.is(followed.code, 0, followed.stderr);
    assert.match(followed.stdout, /\nlate 1\nlate 2\n$/, followed.stdout);
    await waitFor('the prompt after late 2', async () => (await logs(sb, id, ['-n', '1'])).stdout === '>>> \n');
    assert.is((await logs(sb, id, ['--new'])).stdout, '>>> \n');
    await run(sb, 'send_input.ts', [id, '--key', 'ctrl-d']);
  },
);

withSandbox(
  '--new --wait-for that follows: a prompt written with the matched line in one write comes after it, on the next --new, once (issue 25, defect 2)',
  async (sb) => {
    // One write, "row 0\nrow 1\nrow 2\n>>> ", read while the wait follows the log.
    const { id } = await start(sb, [
      '--no-pty',
      'sh',
      '-c',
      'echo ready; read x; printf "row 0\\nrow 1\\nrow 2\\n>>> "; read y',
    ]);
    await waitFor('ready', async () => (await logs(sb, id, ['--new'])).stdout === 'ready\n');
    const w = spawnGetLogs(sb, [id, '--new', '--wait-for', '^row 2', '--timeout', '20']);
    await waitFor('the wait to follow the log', () => watching(w.pid));
    await run(sb, 'send_input.ts', [id, 'go']);
    await waitFor('the wait to end', () => w.code !== undefined, 20_000);
    assert.is(w.code, 0, w.err);
    assert.is(w.out, 'row 0\nrow 1\nrow 2\n');
    assert.is((await logs(sb, id, ['--new'])).stdout, '>>> \n');
    assert.is((await logs(sb, id, ['--new'])).stdout, '');
    await run(sb, 'send_input.ts', [id, 'bye']);
  },
);

test.run();
