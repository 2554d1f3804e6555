// The portable process layer (ps, lsof, sysctl, stty; no /proc), as macOS and the BSDs have it,
// run on Linux with BG_PLATFORM=portable (issue 29): the end-to-end core through the documented
// scripts, as an agent calls them. Each test has its own data dir and ends every process it
// started by PID: the test process itself reads /proc (it runs on Linux) to note each PID's
// start time and its supervisor, so cleanup never depends on the layer under test.
// Run: npx uvu -r tsx tests 'portable\.test\.ts$'
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import {
  freePort,
  portOpen,
  listJson,
  makeSandbox,
  cleanup,
  run,
  track,
  waitFor,
  withSandbox,
  type RunResult,
  type Sandbox,
} from './helpers.ts';
import { readStat } from '../skills/background-manager/scripts/lib/process/proc.ts';
import { keyCacheEntry } from '../skills/background-manager/keycache-locate.mjs';

/** A test on the portable layer: its sandbox's scripts run with BG_PLATFORM=portable. */
function withPortable(name: string, fn: (sb: Sandbox) => Promise<void>): void {
  withSandbox(`portable: ${name}`, (sb) => {
    sb.env.BG_PLATFORM = 'portable';
    return fn(sb);
  });
}

const STARTED = /^Started process ([0-9a-f]{8}) \(PID (\d+)\)$/m;

/** Note `pid` and its supervisor (its parent, when that is our supervisor) for cleanup, by their start times. */
function trackWithSupervisor(sb: Sandbox, pid: number): void {
  track(sb, pid);
  const ppid = readStat(pid)?.ppid;
  if (!ppid) return;
  let cmdline = '';
  try {
    cmdline = fs.readFileSync(`/proc/${ppid}/cmdline`, 'latin1');
  } catch {
    return;
  }
  if (cmdline.includes('supervisor')) track(sb, ppid);
}

/** start_process on this sandbox's layer; the process and its supervisor are tracked. */
async function startP(sb: Sandbox, args: string[]): Promise<{ id: string; pid: number; out: RunResult }> {
  const out = await run(sb, 'start_process.ts', args);
  const m = STARTED.exec(out.stdout);
  if (out.code !== 0 || !m) throw new Error(`start failed (${out.code}): ${out.stdout}${out.stderr}`);
  const pid = Number(m[2]);
  trackWithSupervisor(sb, pid);
  return { id: m[1]!, pid, out };
}

const logs = async (sb: Sandbox, id: string, args: string[] = []) => {
  const r = await run(sb, 'get_logs.ts', [id, ...args]);
  assert.is(r.code, 0, `get_logs ${id} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

/** The layer a listed record names (list_processes --json prints every recorded field). */
const platformOf = (row: object | undefined) => (row as { platform?: string } | undefined)?.platform;

/** Whether `pid` is gone: no such process, a zombie, or another process by now (its start time differs). */
function gone(pid: number, startTicks: number | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  const st = readStat(pid);
  return !st || st.state === 'Z' || st.startTicks !== startTicks;
}

/** Every file and folder under `dir`: its bytes' hash (files), its mtime and its mode. */
function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const st = fs.lstatSync(p);
      const what = e.isFile()
        ? createHash('sha256').update(fs.readFileSync(p)).digest('hex')
        : e.isDirectory()
          ? 'dir'
          : 'other';
      out[path.relative(dir, p)] = `${what} ${st.mtimeMs} ${st.mode.toString(8)}`;
      if (e.isDirectory()) walk(p);
    }
  };
  out['.'] = `dir ${fs.statSync(dir).mtimeMs}`;
  walk(dir);
  return out;
}

withPortable(
  'a --no-pty http.server: --wait-port, listed running with its port (lsof), wait_process, stopped, removed',
  async (sb) => {
    const port = await freePort();
    const { id, pid, out } = await startP(sb, [
      '--no-pty',
      '--name',
      'web',
      '--wait-port',
      String(port),
      '--',
      'python3',
      '-m',
      'http.server',
      String(port),
      '--bind',
      '127.0.0.1',
    ]);
    assert.match(out.stdout, /^Ready: /m, out.stdout);
    assert.ok(await portOpen(port), 'the server listens');
    const table = await run(sb, 'list_processes.ts', []);
    assert.is(table.code, 0, table.stderr);
    // INPUT may say `?` on this layer (whether a process waits cannot be told on Linux here).
    assert.match(
      table.stdout,
      new RegExp(
        `^${id}\\s+${pid}\\s+running\\s+\\S+ \\S+\\s+web\\s+0\\s+${port}\\s+\\S+\\s+python3 -m http\\.server`,
        'm',
      ),
      table.stdout,
    );
    const [row] = await listJson(sb);
    assert.is(platformOf(row), 'portable', 'the record names the layer that made it');
    assert.equal(row!.ports, [port]);
    assert.is(row!.status, 'running');
    // wait_process: still running when its timeout passes (124); the status after the stop.
    const waited = await run(sb, 'wait_process.ts', ['web', '--timeout', '1']);
    assert.is(waited.code, 124, waited.stdout + waited.stderr);
    const before = readStat(pid)?.startTicks;
    const stop = await run(sb, 'stop_process.ts', ['web']);
    assert.is(stop.code, 0, stop.stderr);
    assert.match(stop.stdout, new RegExp(`^Stopped process ${id} \\(PID ${pid}\\): SIGTERM ended it`, 'm'));
    assert.ok(gone(pid, before), `PID ${pid} is gone`);
    assert.not.ok(await portOpen(port), 'the port is free after the stop');
    const ended = await run(sb, 'wait_process.ts', [id]);
    assert.match(
      ended.stdout,
      new RegExp(`^Process ${id} ended: stopped\\(SIGTERM\\)`, 'm'),
      ended.stdout + ended.stderr,
    );
    const removed = await run(sb, 'remove_process.ts', [id]);
    assert.is(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, new RegExp(`^Removed process ${id} \\(web\\): `, 'm'));
  },
);

withPortable(
  'a PTY python3 REPL: send_input gets 42 back, get_logs --screen shows it, restart_process runs it anew, stop',
  async (sb) => {
    const { id, pid } = await startP(sb, ['--name', 'repl', '--', 'python3', '-q']);
    const sent = await run(sb, 'send_input.ts', ['repl', 'print(6*7)']);
    assert.is(sent.code, 0, sent.stderr);
    assert.match(sent.stdout, new RegExp(`^Sent 11 bytes to process ${id}\\.$`, 'm'));
    // The screen once python answered (get_logs waits for it, with a deadline).
    const screen = await logs(sb, 'repl', ['--screen', '--wait-for', '^42$', '--timeout', '30']);
    assert.match(screen, /^(?:>>> )?print\(6\*7\)\n42$/m, screen);
    const before = readStat(pid)?.startTicks;
    const restarted = await run(sb, 'restart_process.ts', ['repl']);
    assert.is(restarted.code, 0, restarted.stderr);
    const m = new RegExp(`^Restarted process ${id} \\(PID (\\d+); stopped by SIGTERM\\)\\.$`, 'm').exec(
      restarted.stdout,
    );
    assert.ok(m, restarted.stdout);
    const pid2 = Number(m![1]);
    trackWithSupervisor(sb, pid2);
    assert.is.not(pid2, pid);
    assert.ok(gone(pid, before), `the first run (PID ${pid}) is gone`);
    const [row] = await listJson(sb);
    assert.is(platformOf(row), 'portable', 'the record names the layer that made it');
    assert.is(row!.pid, pid2);
    assert.is(row!.status, 'running');
    assert.is((await run(sb, 'send_input.ts', ['repl', 'print(7*6+1)'])).code, 0);
    assert.match(await logs(sb, 'repl', ['--screen', '--wait-for', '^43$', '--timeout', '30']), /^43$/m);
    const st2 = readStat(pid2)?.startTicks;
    const stop = await run(sb, 'stop_process.ts', ['repl']);
    assert.is(stop.code, 0, stop.stderr);
    assert.ok(gone(pid2, st2), `PID ${pid2} is gone after the stop`);
  },
);

withPortable('--no-pty: send_input writes to the stdin pipe; --eof closes it', async (sb) => {
  const { id } = await startP(sb, [
    '--no-pty',
    '--',
    'python3',
    '-u',
    '-c',
    'import sys\nfor line in sys.stdin: print("got:" + line.strip(), flush=True)\nprint("stdin closed")',
  ]);
  const sent = await run(sb, 'send_input.ts', [id, 'hello portable']);
  assert.is(sent.code, 0, sent.stderr);
  assert.is(await logs(sb, id, ['--wait-for', '^got:', '--timeout', '30']), 'got:hello portable\n');
  assert.is((await run(sb, 'send_input.ts', [id, '--eof'])).code, 0);
  // wait_process: the exit at the end of its input (its exit code is the process's).
  const waited = await run(sb, 'wait_process.ts', [id, '--timeout', '30']);
  assert.is(waited.code, 0, waited.stdout + waited.stderr);
  assert.match(waited.stdout, new RegExp(`^Process ${id} ended: exited\\(0\\)`, 'm'));
  assert.match(await logs(sb, id), /got:hello portable\nstdin closed\n$/);
});

withPortable(
  'stop_process ends a tree: a child, a setsid child (ppid), a setsid child whose parent ended (the env marker)',
  async (sb) => {
    const pids = path.join(sb.dir, 'pids');
    // Under a PTY: the command's own child; a child that left the group and session (setsid) but
    // whose parent is still the command; and one that left them from a subshell that ended, so
    // that only the BACKGROUND_MANAGER_TREE marker links it to the tree.
    const script = [
      `sleep 600 & echo $! >> '${pids}'`,
      `setsid sleep 601 & echo $! >> '${pids}'`,
      `(setsid sleep 602 & echo $! >> '${pids}')`,
      'echo tree-ready',
      'wait',
    ].join('\n');
    const { id, pid } = await startP(sb, ['--', 'sh', '-c', script]);
    const jobs = await waitFor(
      'the three jobs',
      () => {
        const text = fs.existsSync(pids) ? fs.readFileSync(pids, 'utf8') : '';
        const found = text.split('\n').filter(Boolean).map(Number);
        return found.length === 3 ? found : undefined;
      },
      20_000,
    );
    track(sb, ...jobs);
    const starts = new Map([pid, ...jobs].map((p) => [p, readStat(p)?.startTicks]));
    const [, own, orphan] = jobs.map((p) => readStat(p));
    assert.is(own?.ppid, pid, "the setsid child's parent is the command");
    assert.is.not(own?.sid, readStat(pid)?.sid, 'the setsid child left the session');
    assert.is.not(orphan?.ppid, pid, "the orphan's parent ended");
    assert.is.not(orphan?.sid, readStat(pid)?.sid, 'the orphan left the session');
    const stop = await run(sb, 'stop_process.ts', [id, '--timeout', '10']);
    assert.is(stop.code, 0, stop.stdout + stop.stderr);
    assert.match(stop.stdout, new RegExp(`^Stopped process ${id} \\(PID ${pid}\\): `, 'm'));
    // The stop returns once the tree is gone; a short deadline only absorbs the kernel's reaping.
    await waitFor(
      `every PID of the tree gone (${[...starts.keys()].join(', ')})`,
      () => [...starts].every(([p, t]) => gone(p, t)),
      5_000,
    ).catch(() => {
      const left = [...starts].filter(([p, t]) => !gone(p, t)).map(([p]) => p);
      assert.unreachable(`still running after the stop: ${left.join(', ')}\n${stop.stdout}`);
    });
    const [row] = await listJson(sb);
    assert.is(row!.status, 'stopped');
    assert.is(platformOf(row), 'portable', 'the record names the layer that made it');
  },
);

withPortable('the key cache: the first call notes it is not used, once per data dir; nothing is cached', async (sb) => {
  const dataDir = sb.env.BG_DATA_DIR!;
  const first = await run(sb, 'start_process.ts', ['--no-pty', 'sleep', '600']);
  assert.is(first.code, 0, first.stderr);
  trackWithSupervisor(sb, Number(STARTED.exec(first.stdout)?.[2]));
  const notes = first.stderr.split('\n').filter((l) => l.startsWith('note: '));
  assert.is(notes.length, 1, `one note on the first call: ${first.stderr}`);
  assert.match(notes[0]!, /key cache/);
  for (const script of ['list_processes.ts', 'get_logs.ts']) {
    const r = await run(sb, script, script === 'get_logs.ts' ? [STARTED.exec(first.stdout)![1]!] : []);
    assert.is(r.code, 0, r.stderr);
    assert.not.match(r.stderr, /key cache/, `${script} after the first call: ${r.stderr}`);
  }
  // No entry for this data dir where the Linux layer keeps one: under this sandbox's
  // XDG_RUNTIME_DIR, nor in /dev/shm/background-manager-<uid>.
  const xdgEntry = keyCacheEntry(dataDir, sb.env);
  const shmEntry = keyCacheEntry(dataDir, { ...sb.env, XDG_RUNTIME_DIR: undefined });
  assert.ok(xdgEntry.startsWith(sb.env.XDG_RUNTIME_DIR!), xdgEntry);
  assert.ok(shmEntry.startsWith('/dev/shm/background-manager-'), shmEntry);
  for (const entry of [xdgEntry, shmEntry]) assert.not.ok(fs.existsSync(entry), `${entry} exists`);
  assert.not.ok(fs.existsSync(path.dirname(xdgEntry)), 'no cache folder in XDG_RUNTIME_DIR');
  // Another data dir gets its own note, once.
  const other = { ...sb.env, BG_DATA_DIR: path.join(sb.dir, 'other') };
  const o1 = await run(other, 'start_process.ts', ['--no-pty', 'sleep', '600']);
  assert.is(o1.code, 0, o1.stderr);
  trackWithSupervisor(sb, Number(STARTED.exec(o1.stdout)?.[2]));
  const o2 = await run(other, 'list_processes.ts', []);
  assert.match(o1.stderr, /^note: .*key cache/m, `a new data dir's first call: ${o1.stderr}`);
  assert.not.match(o2.stderr, /key cache/, o2.stderr);
});

/** Records made by `maker`'s layer; every call with the other layer is refused, and no file changes. */
async function refusedByTheOther(sb: Sandbox, maker: 'linux' | 'portable'): Promise<void> {
  const envOf = (layer: 'linux' | 'portable'): NodeJS.ProcessEnv => {
    const env = { ...sb.env };
    if (layer === 'portable') env.BG_PLATFORM = 'portable';
    else delete env.BG_PLATFORM;
    return env;
  };
  const made = envOf(maker);
  const other = envOf(maker === 'linux' ? 'portable' : 'linux');
  const s = await run(made, 'start_process.ts', ['--no-pty', 'echo', `made by ${maker}`]);
  assert.is(s.code, 0, s.stderr);
  const id = STARTED.exec(s.stdout)![1]!;
  trackWithSupervisor(sb, Number(STARTED.exec(s.stdout)![2]));
  // An ended process, so that no supervisor writes meanwhile.
  const listed = await waitFor('the echo to end', async () => {
    const r = await run(made, 'list_processes.ts', ['--json']);
    const row = r.code === 0 ? JSON.parse(r.stdout)[0] : undefined;
    return row?.status === 'exited' ? row : undefined;
  });
  assert.is(platformOf(listed), maker, 'the record names the layer that made it');
  const dataDir = sb.env.BG_DATA_DIR!;
  const before = fingerprint(dataDir);
  for (const [script, args] of [
    ['list_processes.ts', []],
    ['stop_process.ts', [id]],
    ['start_process.ts', ['--no-pty', 'echo', 'other layer']],
    // Refused before it makes its handoff socket in run/ (whose mtime would change).
    ['dashboard.ts', ['--detach', '--port', '0']],
  ] as const) {
    const r = await run(other, script, [...args]);
    assert.is(r.code, 7, `${script} on a data dir made by the ${maker} layer: exit ${r.code}\n${r.stdout}${r.stderr}`);
    const lines = r.stderr.trimEnd().split('\n');
    assert.is(lines.length, 1, `one line on stderr: ${r.stderr}`);
    assert.match(lines[0]!, /portable/);
    assert.match(lines[0]!, /linux/i);
    assert.not.match(r.stdout, /echo/, 'no record shown');
  }
  assert.equal(fingerprint(dataDir), before, 'no file in the data dir changed');
  // The layer that made it still reads it.
  const again = await run(made, 'get_logs.ts', [id]);
  assert.is(again.code, 0, again.stderr);
  assert.is(again.stdout, `made by ${maker}\n`);
}

withSandbox('portable: a data dir made by the linux layer is refused by the portable layer (exit 7), untouched', (sb) =>
  refusedByTheOther(sb, 'linux'),
);

withSandbox('portable: a data dir made by the portable layer is refused by the linux layer (exit 7), untouched', (sb) =>
  refusedByTheOther(sb, 'portable'),
);

test('portable: a data dir deeper than a socket path allows (> 110 bytes): start, send_input, --screen, stop', async () => {
  const sb = makeSandbox();
  sb.env.BG_PLATFORM = 'portable';
  try {
    let deep = path.join(sb.dir, 'a-rather-long-folder-name-for-a-data-dir');
    while (deep.length <= 120) deep = path.join(deep, 'deeper-still');
    sb.env.BG_DATA_DIR = deep;
    assert.ok(path.join(deep, 'run', '00000000.sock').length > 108, 'a socket path here is too long for sun_path');
    const { id, pid } = await startP(sb, ['--', 'python3', '-q']);
    const sent = await run(sb, 'send_input.ts', [id, 'print(6*7)']);
    assert.is(sent.code, 0, sent.stderr);
    assert.match(await logs(sb, id, ['--screen', '--wait-for', '^42$', '--timeout', '30']), /^42$/m);
    const st = readStat(pid)?.startTicks;
    const stop = await run(sb, 'stop_process.ts', [id]);
    assert.is(stop.code, 0, stop.stderr);
    assert.match(stop.stdout, /SIGTERM ended it|SIGHUP|ended it/);
    assert.ok(gone(pid, st), `PID ${pid} is gone`);
  } finally {
    cleanup(sb);
  }
});

withSandbox('portable: BG_PLATFORM with another value is refused: exit 2, one line', async (sb) => {
  for (const [value, script] of [
    ['macos', 'list_processes.ts'],
    ['Portable', 'start_process.ts'],
  ]) {
    const env = { ...sb.env, BG_PLATFORM: value };
    const r = await run(env, script!, script === 'start_process.ts' ? ['echo', 'never'] : []);
    assert.is(r.code, 2, `${script} with BG_PLATFORM=${value}: exit ${r.code}\n${r.stdout}${r.stderr}`);
    const lines = r.stderr.trimEnd().split('\n');
    assert.is(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /BG_PLATFORM/);
  }
  assert.not.ok(fs.existsSync(sb.env.BG_DATA_DIR!), 'no data dir made');
});

test.run();
