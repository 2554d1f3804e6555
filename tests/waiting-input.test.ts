// Waiting for input, seen from the kernel (issue 26, part 1): the supervisor's input watch
// (supervisor/waiting.ts, lib/process/waiting.ts) under a PTY and with --no-pty, through
// list_processes, wait_process --until input, start_process/send_input --wait-input, the
// MCP tools; the negatives (servers, sleep, a timer loop, a build, a server that reads its
// terminal but listens on a port) and the refusal path (a non-dumpable reader for a
// supervisor without CAP_SYS_PTRACE, a reader re-parented away from the supervisor).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { allStats } from '../skills/background-manager/scripts/lib/process/proc.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  FIXTURES,
  listJson,
  run,
  SCRIPTS,
  type RunResult,
  type Sandbox,
  skip,
  start,
  startUnder,
  track,
  waitFor,
  withSandbox,
} from './helpers.ts';
import { mcpTest, textOf } from './mcp-helpers.ts';
import { chromium } from 'playwright-core';

/** Long enough for a loaded machine (two CPU hogs beside the suite). */
const WAIT = '90';

const PROGRAMS = {
  input: ['python3', '-c', 'x = input("name? "); print("hello", x)'],
  pyRepl: ['python3', '-q'],
  nodeRepl: ['node'],
  bashRead: ['bash', '-c', 'read -p "go? " x; echo "got $x"'],
  getpass: ['python3', '-c', 'import getpass; print("pw", len(getpass.getpass()))'],
};

async function untilInput(sb: Sandbox, id: string, timeout = WAIT): Promise<RunResult> {
  return run(sb, 'wait_process.ts', [id, '--until', 'input', '--timeout', timeout], { timeoutMs: 150_000 });
}

/** Start each [label, start_process arguments]: the first alone (it makes the key), the rest at once. */
async function startAll(sb: Sandbox, what: [string, string[]][]): Promise<[string, string][]> {
  const [first, ...rest] = what;
  const ids = [
    (await start(sb, first![1])).id,
    ...(await Promise.all(rest.map(([, argv]) => start(sb, argv)))).map((p) => p.id),
  ];
  return what.map(([label], i) => [label, ids[i]!]);
}

async function waitingFlags(sb: Sandbox): Promise<Record<string, unknown>> {
  const rows = (await listJson(sb)) as unknown as { id: string; waitingForInput: unknown }[];
  return Object.fromEntries(rows.map((r) => [r.id, r.waitingForInput]));
}

withSandbox(
  'PTY: python input(), the python REPL, the node REPL, bash read -p, getpass and a curses menu wait for input',
  async (sb) => {
    const started = await startAll(sb, [
      ...Object.entries(PROGRAMS),
      ['curses', ['python3', path.join(FIXTURES, 'menu.py')]],
    ]);
    const prompts: Record<string, RegExp> = {
      input: /"name\?"/,
      pyRepl: /">>>"/,
      nodeRepl: /">"/,
      bashRead: /"go\?"/,
      getpass: /"Password:"/,
      curses: /"keys:"/,
    };
    const results = await Promise.all(started.map(([, id]) => untilInput(sb, id)));
    started.forEach(([what, id], i) => {
      const r = results[i]!;
      assert.is(r.code, 0, `${what}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Process ${id} waits for input: `), what);
      assert.match(r.stdout, prompts[what]!, `${what}: ${r.stdout}`);
    });
    const flags = await waitingFlags(sb);
    for (const [what, id] of started) assert.is(flags[id], true, what);
    const table = await run(sb, 'list_processes.ts', []);
    assert.match(table.stdout, /^ID\s+PID\s+STATUS\s+STARTED\s+NAME\s+RESTARTS\s+PORTS\s+INPUT\s+COMMAND$/m);
    for (const [, id] of started) assert.match(table.stdout, new RegExp(`^${id} .* wait +\\S`, 'm'));
  },
);

withSandbox(
  '--no-pty: python input(), the python REPL, the node REPL, bash read -p and getpass (from stdin) wait for input',
  async (sb) => {
    const argvs = { ...PROGRAMS, pyRepl: ['python3', '-i', '-q'], nodeRepl: ['node', '-i'] };
    const started = await startAll(
      sb,
      Object.entries(argvs).map(([what, argv]) => [what, ['--no-pty', ...argv]]),
    );
    const results = await Promise.all(started.map(([, id]) => untilInput(sb, id)));
    for (const [i, [what]] of started.entries())
      assert.is(results[i]!.code, 0, `${what}: ${results[i]!.stdout}${results[i]!.stderr}`);
    const flags = await waitingFlags(sb);
    for (const [what, id] of started) assert.is(flags[id], true, what);
  },
);

// Servers in epoll/poll that do not watch their terminal, sleep, a timer loop, a build that
// prints, and a server that reads its terminal but listens on a TCP port: never waiting. A
// program seen waiting first shows that the watch runs meanwhile; the same key-reading server
// without its port is seen waiting, so the port rule is what keeps the last one out.
const NEGATIVES: Record<string, string[]> = {
  epollServer: ['node', '-e', 'require("net").createServer().listen(require("path").join(process.cwd(), "s.sock"))'],
  pollOther: [
    'python3',
    '-c',
    'import socket, select\na, b = socket.socketpair()\np = select.poll()\np.register(a, select.POLLIN)\np.poll()',
  ],
  sleep: ['sleep', '600'],
  timerLoop: ['python3', '-c', 'import time\nwhile True: time.sleep(0.2)'],
  build: ['sh', '-c', 'i=0; while :; do i=$((i+1)); echo "compiling unit $i"; sleep 0.05; done'],
  keysAndPort: [
    'node',
    '-e',
    'require("http").createServer().listen(0, "127.0.0.1"); process.stdin.on("data", () => {})',
  ],
};

for (const pty of [true, false]) {
  withSandbox(
    `${pty ? 'PTY' : '--no-pty'}: servers, sleep, a timer loop, a build and a key-reading server with a port do not wait for input`,
    async (sb) => {
      const flag = pty ? [] : ['--no-pty'];
      const cwd = sb.dir;
      const all = await startAll(sb, [
        ...Object.entries(NEGATIVES).map(([what, argv]): [string, string[]] => [
          what,
          ['--cwd', cwd, ...flag, ...argv],
        ]),
        ['keysOnly', [...flag, 'node', '-e', 'process.stdin.on("data", () => {})']],
        ['control', [...flag, ...PROGRAMS.input]],
      ]);
      const neg = all.slice(0, -2);
      const [keysOnly, control] = all.slice(-2).map(([, id]) => ({ id }));
      const [c, k] = await Promise.all([untilInput(sb, control!.id), untilInput(sb, keysOnly!.id)]);
      assert.is(c.code, 0);
      assert.is(k.code, 0, 'the key reader without a port waits');
      // Each negative watched for 6 s more (checks at 0.3, 1.3, 3.3 and 7.3 s of quiet): none waits.
      const waits = await Promise.all(neg.map(([, id]) => untilInput(sb, id, '6')));
      neg.forEach(([what, id], i) => {
        assert.is(waits[i]!.code, 124, `${what} (${id}): ${waits[i]!.stdout}${waits[i]!.stderr}`);
        assert.match(waits[i]!.stderr, /did not wait for input within 6 s/);
      });
      const rows = (await listJson(sb)) as unknown as {
        id: string;
        status: string;
        waitingForInput: unknown;
        ports: number[];
      }[];
      for (const [what, id] of neg) {
        const row = rows.find((r) => r.id === id)!;
        assert.is(row.status, 'running', what);
        assert.is(row.waitingForInput, false, what);
      }
      assert.ok(rows.find((r) => r.id === neg.find(([w]) => w === 'keysAndPort')![1])!.ports.length);
    },
  );
}

/** start_process run as a user without CAP_SYS_PTRACE (root with it dropped from the bounding set). */
const startWithoutPtrace = (sb: Sandbox, argv: string[]) =>
  startUnder(sb, ['setpriv', '--bounding-set', '-sys_ptrace'], argv);

withSandbox(
  'the refusal path: a non-dumpable reader (no CAP_SYS_PTRACE) and a re-parented one are unknown, never waiting',
  async (sb) => {
    const capEff = BigInt(`0x${/^CapEff:\s+([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'latin1'))![1]}`);
    const nonDumpable = 'import ctypes\nctypes.CDLL(None).prctl(4, 0, 0, 0, 0)\ninput("secret? ")';
    // Without CAP_SYS_PTRACE the supervisor reads a dumpable child's syscall (the control) but
    // not a non-dumpable one's; a user without the capability always runs this way.
    const control = await startWithoutPtrace(sb, ['python3', '-c', 'input("plain? ")']);
    const refused = await startWithoutPtrace(sb, ['python3', '-c', nonDumpable]);
    assert.is((await untilInput(sb, control.id)).code, 0, 'a dumpable reader is seen without the capability');
    const r = await untilInput(sb, refused.id);
    assert.is(r.code, 125, `${r.stdout}${r.stderr}`);
    assert.match(
      r.stderr,
      /^wait_process: cannot tell whether process \w+ waits for input: \/proc\/\d+\/syscall cannot be read/,
    );
    // The same program for a supervisor that holds the capability (root, as this test runs) is seen.
    if (capEff & (1n << 19n))
      assert.is((await untilInput(sb, (await start(sb, ['python3', '-c', nonDumpable])).id)).code, 0);
    // A reader that forked away (its parent exited, so it is the init's now) in the foreground group.
    const orphan = await start(sb, [`python3 -c 'import os\nif os.fork(): os._exit(0)\ninput("orphan? ")'; sleep 600`]);
    const o = await untilInput(sb, orphan.id);
    assert.is(o.code, 125, `${o.stdout}${o.stderr}`);
    assert.match(o.stderr, /is not a descendant of the supervisor/);
    const flags = await waitingFlags(sb);
    assert.is(flags[refused.id], null);
    assert.is(flags[orphan.id], null);
    const table = await run(sb, 'list_processes.ts', []);
    assert.match(table.stdout, new RegExp(`^${refused.id} .* \\? +python3`, 'm'));
    // The orphan left the tree but not the session: ended by PID at cleanup.
    track(
      sb,
      ...allStats()
        .filter((st) => st.sid === orphan.pid && st.pid !== orphan.pid)
        .map((st) => st.pid),
    );
  },
);

withSandbox(
  'start_process and send_input --wait-input return a REPL answer once it asks again; exit 5 if it ends first',
  async (sb) => {
    const s = await run(sb, 'start_process.ts', ['--name', 'repl', '--wait-input', 'python3', '-q'], {
      timeoutMs: 150_000,
    });
    assert.is(s.code, 0, s.stderr);
    assert.match(s.stdout, /^Process \w+ waits for input: ">>>"$/m);
    const a = await run(sb, 'send_input.ts', ['repl', '--wait-input', 'print(6*7)']);
    assert.is(a.code, 0, a.stderr);
    assert.match(a.stdout, /^Sent 11 bytes to process \w+\.\n/);
    assert.match(a.stdout, /^42$/m);
    assert.match(a.stdout, /waits for input: ">>>"\n$/);
    // An answer that takes a while: the old prompt does not count, the wait lasts until the next one.
    const slow = await run(sb, 'send_input.ts', [
      'repl',
      '--wait-input',
      'import time; time.sleep(2); print("slow done")',
    ]);
    assert.is(slow.code, 0, slow.stderr);
    assert.match(slow.stdout, /^slow done$/m);
    const end = await run(sb, 'send_input.ts', ['repl', '--wait-input', 'exit()']);
    assert.is(end.code, 5, end.stdout);
    assert.match(end.stderr, /^send_input: error: process \w+ ended \(exited\(0\)\) before it waited for input\.$/m);
    const bad = await run(sb, 'send_input.ts', ['repl', '--wait-timeout', '3', 'x']);
    assert.is(bad.code, 2);
    assert.match(bad.stderr, /--wait-timeout says how long --wait-input waits: add --wait-input/);
    const both = await run(sb, 'start_process.ts', ['--wait-input', '--wait-for', 'x', 'python3']);
    assert.is(both.code, 2);
    // --no-pty: node's REPL.
    const n = await run(sb, 'start_process.ts', ['--no-pty', '--name', 'node', '--wait-input', 'node', '-i'], {
      timeoutMs: 150_000,
    });
    assert.is(n.code, 0, n.stderr);
    const b = await run(sb, 'send_input.ts', ['node', '--wait-input', '6*7']);
    assert.is(b.code, 0, b.stderr);
    assert.match(b.stdout, /42/);
    // wait_process --until input of a process that ended first: 5, its status on stderr.
    const done = await start(sb, ['--no-pty', 'true']);
    const w = await untilInput(sb, done.id);
    assert.is(w.code, 5);
    assert.match(w.stderr, /ended \(exited\(0\)\) before it waited for input/);
  },
);

mcpTest(
  'MCP: start_process and send_input wait_input, wait_process until input, the list row',
  async (_sb, _note, open) => {
    const { call } = await open();
    const s = await call('start_process', {
      command: ['python3', '-q'],
      name: 'repl',
      wait_input: true,
      wait_timeout: 90,
    });
    assert.not.ok(s.isError, textOf(s));
    assert.is((s.structuredContent as { prompt: string }).prompt, '>>>');
    const a = await call('send_input', { id: 'repl', text: 'print(6*7)', wait_input: true, wait_timeout: 90 });
    assert.not.ok(a.isError, textOf(a));
    assert.ok(
      (a.structuredContent as { lines: { text: string }[] }).lines.some((l) => l.text === '42'),
      textOf(a),
    );
    const w = await call('wait_process', { id: 'repl', until: 'input', timeout: 90 });
    assert.not.ok(w.isError, textOf(w));
    assert.match(textOf(w), /waits for input: ">>>"/);
    const l = await call('list_processes', {});
    const row = (l.structuredContent as { processes: { name?: string; waitingForInput: unknown }[] }).processes.find(
      (p) => p.name === 'repl',
    )!;
    assert.is(row.waitingForInput, true);
    const gone = await call('send_input', { id: 'repl', text: 'exit()', wait_input: true, wait_timeout: 90 });
    assert.ok(gone.isError);
    assert.is((gone.structuredContent as { exitCode: number }).exitCode, 5);
  },
);

// The page: a row whose process waits for input is marked (class and a small mark), and the
// mark goes once the input is answered and the program runs on.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
withSandbox(
  'the dashboard marks the row of a process that waits for input, and unmarks it after the answer',
  async (sb) => {
    if (!fs.existsSync(CHROMIUM))
      return skip(`no chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
    const waiting = await start(sb, ['python3', '-c', 'input("name? "); import time; time.sleep(600)']);
    const busy = await start(sb, ['sleep', '600']);
    const dash = spawn(process.execPath, ['--import', 'tsx', path.join(SCRIPTS, 'dashboard.ts')], {
      env: sb.env,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    track(sb, dash.pid!);
    let out = '';
    dash.stdout!.on('data', (d) => (out += d));
    const url = await waitFor('the Dashboard line', () => /^Dashboard: (\S+)$/m.exec(out)?.[1], 60_000);
    const browser = await chromium.launch({ executablePath: CHROMIUM });
    try {
      const page = await browser.newPage();
      await page.goto(url);
      const row = (id: string) => page.locator(`#procs tr[data-id="${id}"]`);
      await row(waiting.id).and(page.locator('.waiting-input')).waitFor({ timeout: 90_000 });
      assert.is(await row(waiting.id).locator('.input-mark').textContent(), 'input');
      assert.is(await row(busy.id).locator('.input-mark').count(), 0);
      assert.is((await run(sb, 'send_input.ts', [waiting.id, 'x'])).code, 0);
      await page.locator(`#procs tr[data-id="${waiting.id}"]:not(.waiting-input)`).waitFor({ timeout: 90_000 });
    } finally {
      await browser.close();
      dash.kill('SIGTERM');
    }
  },
);

test.run();
