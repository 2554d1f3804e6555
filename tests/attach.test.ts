// Issue 28, part 2: attach_process, a person's terminal on a running PTY process. Driven as a
// person would, through a real pseudo-terminal (tests/fixtures/ptydrive.py, Python's pty
// module): the screen first, live output, typing, Ctrl-] to detach, several viewers at once,
// the PTY's size following the smallest viewer and coming back to 200x50 (each change in the
// log, so --screen replays at the size in force), no OSC/C1 reaching the person, and a viewer
// that stops reading never holding up the log.
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES, ROOT, SCRIPTS, track, waitFor, withSandbox, type Sandbox, viaFastPath } from './helpers.ts';

// Every script through the fast path (node dist/<x>.mjs, the same sources bundled), as
// logs.test.ts: a third of tsx's CPU per call; none of these assertions is about the form.
const { listJson, run, start } = viaFastPath;

interface Attached {
  pid: number; // attach_process's own PID
  out: () => string; // everything it drew so far
  since: (mark: number) => string;
  type: (s: string) => void;
  resize: (cols: number, rows: number) => void;
  exit: Promise<number | null>;
}

/** attach_process ID under a new terminal of cols x rows. */
async function attach(sb: Sandbox, id: string, cols: number, rows: number, args: string[] = []): Promise<Attached> {
  const sizeFile = path.join(sb.dir, `size-${Math.random().toString(16).slice(2)}`);
  const driver = spawn(
    'python3',
    [
      path.join(FIXTURES, 'ptydrive.py'),
      String(cols),
      String(rows),
      sizeFile,
      process.execPath,
      '--import',
      'tsx',
      path.join(SCRIPTS, 'attach_process.ts'),
      id,
      ...args,
    ],
    { env: sb.env, cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  track(sb, driver.pid!);
  let out = '';
  let err = '';
  driver.stdout.on('data', (d: Buffer) => (out += d.toString('latin1')));
  driver.stderr.on('data', (d: Buffer) => (err += d));
  const exit = new Promise<number | null>((r) => driver.on('close', (code) => r(code)));
  const pid = await waitFor('the driver to say the PID', () => Number(/PID (\d+)/.exec(err)?.[1]) || undefined, 30_000);
  track(sb, pid);
  return {
    pid,
    out: () => out,
    since: (mark) => out.slice(mark),
    type: (s) => driver.stdin.write(s),
    resize: (c, r) => {
      fs.writeFileSync(sizeFile, `${c} ${r}`);
      driver.kill('SIGUSR1');
    },
    exit,
  };
}

const BANNER = /\[attach_process\] process [0-9a-f]{8}: .*Ctrl-\] detaches/;

/** Attached, the screen drawn: the banner, then the REPL's prompt. */
async function attachedRepl(sb: Sandbox, id: string, cols: number, rows: number, args: string[] = []) {
  const a = await attach(sb, id, cols, rows, args);
  await waitFor(
    'the banner and the prompt',
    () => BANNER.test(a.out()) && />>>/.test(a.out().split(BANNER)[1] ?? ''),
    60_000,
  );
  return a;
}

async function screenJson(sb: Sandbox, id: string) {
  const r = await run(sb, 'get_logs.ts', [id, '--screen', '--json']);
  assert.is(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { rows: string[]; size: { cols: number; rows: number } };
}

/** The REPL's own idea of its terminal's size, asked through send_input and read from the log. */
async function ptySize(sb: Sandbox, id: string, tag: string): Promise<string> {
  assert.is((await run(sb, 'send_input.ts', [id, `import os; print('${tag}', *os.get_terminal_size())`])).code, 0);
  const r = await run(sb, 'get_logs.ts', [id, '--wait-for', `^${tag} \\d+ \\d+`, '--timeout', '60']);
  assert.is(r.code, 0, r.stderr);
  return new RegExp(`^${tag} (\\d+ \\d+)`, 'm').exec(r.stdout)![1]!;
}

async function startRepl(sb: Sandbox): Promise<string> {
  const { id } = await start(sb, ['--wait-for', '>>> ', 'python3']);
  return id;
}

withSandbox(
  'attach to a python REPL: see >>>, type print(6*7), see 42, Ctrl-] exits 0 and the REPL runs on',
  async (sb) => {
    const id = await startRepl(sb);
    const a = await attachedRepl(sb, id, 100, 30);
    const mark = a.out().length;
    a.type('print(6*7)\r');
    await waitFor('42', () => /\n42\r*\n/.test(a.since(mark)), 30_000);
    a.type('\x1d');
    assert.is(await a.exit, 0);
    assert.match(a.out(), /detached from process [0-9a-f]{8}; it keeps running/);
    const [p] = await listJson(sb);
    assert.is(p!.status, 'running');
    assert.is((await run(sb, 'send_input.ts', [id, 'print(7*6+1)'])).code, 0);
    const r = await run(sb, 'get_logs.ts', [id, '--wait-for', '^43$', '--timeout', '60']);
    assert.is(r.code, 0, r.stderr);
  },
);

withSandbox(
  'two viewers: both see the output; the PTY takes the smaller size, and 200x50 again once both leave',
  async (sb) => {
    const id = await startRepl(sb);
    const a = await attachedRepl(sb, id, 120, 40);
    assert.is(await ptySize(sb, id, 'ONE'), '120 40');
    const b = await attachedRepl(sb, id, 90, 30);
    assert.is(await ptySize(sb, id, 'TWO'), '90 30');
    // --screen replays at the size in force, right after the change.
    assert.equal((await screenJson(sb, id)).size, { cols: 90, rows: 30 });
    // list_processes --json says people are attached; send_input says so too.
    const listed = (await listJson(sb))[0] as unknown as { viewers?: number };
    assert.is(listed.viewers, 2);
    const sent = await run(sb, 'send_input.ts', [id, 'print(6*7)']);
    assert.is(sent.code, 0, sent.stderr);
    assert.match(sent.stderr, /2 people are attached/);
    const after = (x: Attached) => x.out().slice(x.out().lastIndexOf('TWO 90 30'));
    await waitFor('42 in both', () => /\n42\r*\n/.test(after(a)) && /\n42\r*\n/.test(after(b)), 30_000);
    // Typed in b: seen in a.
    b.type('print(1000+1)\r');
    await waitFor('1001 in a', () => /1001/.test(a.out()), 30_000);
    // a's window shrinks below b's in one dimension: each dimension takes its smallest.
    a.resize(70, 35);
    await waitFor('the size to follow a', async () => (await screenJson(sb, id)).size.cols === 70, 30_000);
    assert.equal((await screenJson(sb, id)).size, { cols: 70, rows: 30 });
    assert.is(await ptySize(sb, id, 'THREE'), '70 30');
    b.type('\x1d');
    assert.is(await b.exit, 0);
    await waitFor('a alone', async () => (await screenJson(sb, id)).size.rows === 35, 30_000);
    a.type('\x1d');
    assert.is(await a.exit, 0);
    await waitFor('200x50 again', async () => (await screenJson(sb, id)).size.cols === 200, 30_000);
    assert.equal((await screenJson(sb, id)).size, { cols: 200, rows: 50 });
    assert.is(await ptySize(sb, id, 'FOUR'), '200 50');
    assert.is(((await listJson(sb))[0] as unknown as { viewers?: number }).viewers, undefined);
    const ev = await run(sb, 'get_logs.ts', [id, '--stream', 'events']);
    assert.match(ev.stdout, /terminal size: 90x30 \(was 120x40\)/);
    assert.match(ev.stdout, /terminal size: 200x50 \(was 70x35\)/);
  },
);

withSandbox('an OSC 52 clipboard write, a title and C1 controls by the program do not reach the viewer', async (sb) => {
  const id = await startRepl(sb);
  const a = await attachedRepl(sb, id, 100, 30);
  const mark = a.out().length;
  // The agent makes the program print them (sent with send_input, so the echo is the agent's text).
  const line = String.raw`print('A\x1b]52;c;aGFja2Vk\x07B\x1b]0;owned\x1b\\C\u009d52;c;eA==\u009cD\x1b[21tE')`;
  assert.is((await run(sb, 'send_input.ts', [id, line])).code, 0);
  await waitFor('the printed line', () => /ABCDE/.test(a.since(mark)), 30_000);
  const seen = a.since(mark);
  assert.not.match(seen, /\x1b\]/);
  assert.not.match(seen, /\xc2[\x80-\x9f]/); // latin1 view of UTF-8 C1
  assert.not.match(seen, /\x1b\[21t/);
  // The log keeps what the program printed, as it printed it.
  const raw = await run(sb, 'get_logs.ts', [id, '--raw']);
  assert.match(raw.stdout, /\x1b\]52;c;aGFja2Vk/);
  a.type('\x1d');
  assert.is(await a.exit, 0);
});

withSandbox(
  'refusals: stdin from /dev/null exits 2 at once; --no-pty and ended processes are refused clearly',
  async (sb) => {
    const id = await startRepl(sb);
    const t0 = Date.now();
    const r = await run(sb, 'attach_process.ts', [id]); // stdin /dev/null, stdout a pipe
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, /needs a terminal on stdin/);
    assert.ok(Date.now() - t0 < 30_000);
    const { id: np } = await start(sb, ['--no-pty', 'sleep', '600']);
    const a = await attach(sb, np, 80, 24);
    assert.is(await a.exit, 1);
    assert.match(a.out(), /runs without a terminal \(--no-pty\)/);
    const { id: done } = await start(sb, ['true']);
    await waitFor(
      'true to end',
      async () => (await listJson(sb)).find((p) => p.id === done)?.status === 'exited',
      30_000,
    );
    const e = await attach(sb, done, 80, 24);
    assert.is(await e.exit, 5);
    assert.match(e.out(), /is not running \(exited\(0\)\)/);
    const bad = await attach(sb, id, 80, 24, ['--detach-key', 'q']);
    assert.is(await bad.exit, 2);
    assert.match(bad.out(), /--detach-key "q" is not a control key/);
  },
);

withSandbox(
  'a viewer that stops reading does not hold up the log; it gets a redraw once it reads again',
  async (sb) => {
    const id = await startRepl(sb);
    const a = await attachedRepl(sb, id, 100, 30);
    process.kill(a.pid, 'SIGSTOP'); // it reads nothing from here
    try {
      // About 15 MB of output: far past what the connection holds.
      assert.is(
        (
          await run(sb, 'send_input.ts', [
            id,
            "print('\\n'.join('%07d %s' % (i, 'x' * 90) for i in range(150000))); print('DO' + 'NE')",
          ])
        ).code,
        0,
      );
      const r = await run(sb, 'get_logs.ts', [id, '--wait-for', '^DONE$', '--timeout', '120'], { timeoutMs: 150_000 });
      assert.is(r.code, 0, r.stderr);
    } finally {
      process.kill(a.pid, 'SIGCONT');
    }
    await waitFor('the redraw to show DONE', () => /DONE/.test(a.out()), 60_000);
    // A redraw (the screen cleared and drawn again from the log), not the whole 15 MB.
    assert.ok(a.out().includes('\x1b[H\x1b[2J'), 'a redraw');
    assert.ok(a.out().length < 5_000_000, `${a.out().length} bytes reached the viewer`);
    a.type('\x1d');
    assert.is(await a.exit, 0);
  },
);

test.run();
