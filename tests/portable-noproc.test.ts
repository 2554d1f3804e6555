// With BG_PLATFORM=portable our own processes (the scripts, `node .../dist/<x>.mjs`, and the
// supervisor start_process launches) use no /proc (issue 29): no path under /proc or /sys, nor
// /dev/fd (a link to /proc/self/fd on Linux), beyond what the Node runtime opens for itself at
// start-up, and no socket bound or connected through /proc/self/fd. Traced with strace -f: the
// scripts, the supervisor (detached with setsid, still a fork/exec descendant, so followed),
// their threads; a process that executed another program (ps, lsof, stty, sysctl, sh, the
// user's command) is not ours and neither are its children.
// Run: npx uvu -r tsx tests 'portable-noproc\.test\.ts$'
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { makeSandbox, cleanup, skip, track, waitFor, ROOT, type Sandbox } from './helpers.ts';
import { readStat } from '../skills/background-manager/scripts/lib/process/proc.ts';

const DIST = path.join(ROOT, 'skills/background-manager/dist');
const NODE = process.execPath;

// What the Node runtime itself opens under /proc and /sys, whatever the script. Measured on
// Node 20.20 (Debian, cgroup v1, x86_64) with this file's own tracer (runtimeTrace below, the
// first test, which checks the list again on every run): `strace -f node -e 0`, node running an
// empty .mjs, and `node --expose-gc` running an .mjs that starts a Worker (the supervisor's
// flags and its log thread) all open exactly:
//   /proc/self/cgroup, then the memory limit files of that cgroup under /sys/fs/cgroup
//     (cgroup v1: memory.soft_limit_in_bytes, memory.limit_in_bytes; v2: memory.max and
//     memory.high): libuv's uv_get_constrained_memory, for the heap size;
//   /proc/meminfo: libuv's uv_get_total_memory, for the heap size;
//   /proc/self/maps, three times: V8 finding its own code and stack at start-up;
//   /proc/self/exe (readlink): libuv's uv_exepath, for process.execPath;
//   /proc/sys/vm/overcommit_memory: V8 reserving an isolate's heap (once a Worker starts).
// Each isolate (the main thread and each Worker) opens the first three again.
const RUNTIME_ALLOWED: RegExp[] = [
  /^\/proc\/self\/cgroup$/,
  /^\/sys\/fs\/cgroup\/(?:.*\/)?memory\.(?:soft_limit_in_bytes|limit_in_bytes|max|high)$/,
  /^\/proc\/meminfo$/,
  /^\/proc\/self\/maps$/,
  /^\/proc\/self\/exe$/,
  /^\/proc\/sys\/vm\/overcommit_memory$/,
];
const allowed = (p: string) => RUNTIME_ALLOWED.some((re) => re.test(p));
/** A path that reaches /proc (or /sys): /dev/fd and /dev/std* are links into /proc/self/fd. */
const procLike = (p: string) => /^\/(?:proc|sys)(?:\/|$)|^\/dev\/(?:fd|stdin|stdout|stderr)(?:\/|$)/.test(p);

// Every call that takes a path (%file: open*, stat*, access*, readlink*, execve, chdir, ...),
// fork/clone/exec (%process: who is whose child, who runs which program), and bind/connect
// (their sun_path). A call relative to a folder's fd (openat(fd, "stat")) needs that folder
// opened first, by a path that shows. -s 512 keeps execve's arguments whole.
const STRACE = ['-f', '-qq', '-s', '512', '-e', 'trace=%file,%process,bind,connect'];

const hasStrace = spawnSync('strace', ['-V']).status === 0;
// The interpreter itself, not a shim on PATH (pyenv's is a bash script that runs a dozen programs): a shorter trace.
const PYTHON =
  spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim() || 'python3';

interface Traced {
  file: string;
  done: Promise<number | null>;
  stdout: () => string;
  stderr: () => string;
}

/** Run `argv` under strace -f into a file of its own; `done` resolves when every traced process has ended. */
function traced(env: NodeJS.ProcessEnv, argv: string[], name: string, dir: string): Traced {
  const file = path.join(dir, `${name}.strace`);
  const c = spawn('strace', [...STRACE, '-o', file, ...argv], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  c.stdout.on('data', (d) => (out += d));
  c.stderr.on('data', (d) => (err += d));
  const done = new Promise<number | null>((resolve, reject) => {
    c.on('error', reject);
    c.on('exit', (code) => resolve(code));
  });
  return { file, done, stdout: () => out, stderr: () => err };
}

interface Use {
  pid: number;
  prog: string; // the program the pid ran at the end (node, ps, ...)
  path: string;
  line: string;
}

/**
 * Read a trace: which pid ran which program (its last successful execve, else its parent's at
 * the fork), and every /proc-like path each of ours named (a path argument, or a sun_path).
 * Returns the uses and the programs each pid executed.
 */
function analyse(file: string): {
  uses: Use[];
  execs: { pid: number; prog: string; argv: string }[];
  ours: Set<number>;
} {
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const parent = new Map<number, number>();
  const lastExec = new Map<number, string>();
  const execs: { pid: number; prog: string; argv: string }[] = [];
  const pendingExec = new Map<number, { prog: string; argv: string }>();
  let root: number | undefined;
  for (const line of lines) {
    const m = /^(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const pid = Number(m[1]);
    const rest = m[2]!;
    root ??= pid;
    const ex = /^execve(?:at)?\((?:\S+, )?"([^"]+)", (\[.*?\])/.exec(rest);
    if (ex) {
      if (/\)\s+= 0$/.test(rest)) {
        lastExec.set(pid, ex[1]!);
        execs.push({ pid, prog: ex[1]!, argv: ex[2]! });
      } else if (rest.endsWith('<unfinished ...>')) pendingExec.set(pid, { prog: ex[1]!, argv: ex[2]! });
    } else if (/^<\.\.\. execve(?:at)? resumed>.*\)\s+= 0$/.test(rest) && pendingExec.has(pid)) {
      const p = pendingExec.get(pid)!;
      lastExec.set(pid, p.prog);
      execs.push({ pid, ...p });
    }
    const fork = /^(?:<\.\.\. )?(?:clone3?|v?fork)\b.*\)\s+= (\d+)(?:<[^>]*>)?$/.exec(rest);
    if (fork && Number(fork[1]) > 0) parent.set(Number(fork[1]), pid);
  }
  const isNode = (prog: string) => path.basename(prog) === 'node' || prog === NODE;
  // Ours: a pid whose own last program is node, or that executed nothing and descends from ours.
  const oursMemo = new Map<number, boolean>();
  const isOurs = (pid: number): boolean => {
    if (oursMemo.has(pid)) return oursMemo.get(pid)!;
    let v: boolean;
    const prog = lastExec.get(pid);
    if (prog !== undefined) v = isNode(prog) && (pid === root || !parent.has(pid) || isOurs(parent.get(pid)!));
    else v = parent.has(pid) ? isOurs(parent.get(pid)!) : pid === root;
    oursMemo.set(pid, v);
    return v;
  };
  const uses: Use[] = [];
  const ours = new Set<number>();
  for (const line of lines) {
    const m = /^(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const pid = Number(m[1]);
    if (!isOurs(pid)) continue;
    ours.add(pid);
    // The call without its result (readlink's target, say, is not a path it named).
    const ret = /\)\s+= .*$/.exec(m[2]!);
    const rest = ret ? m[2]!.slice(0, ret.index + 1) : m[2]!;
    if (/^(?:<\.\.\. )?execve/.test(rest)) continue; // node looking for a program on PATH
    const paths = [...rest.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((q) => q[1]!);
    for (const p of paths) if (procLike(p)) uses.push({ pid, prog: lastExec.get(pid) ?? 'node', path: p, line });
  }
  return { uses, execs, ours };
}

/** Each disallowed use, as `path (n×) e.g. line`, one per path. */
function disallowed(uses: Use[]): string[] {
  const by = new Map<string, Use[]>();
  for (const u of uses) {
    if (allowed(u.path)) continue;
    const key = u.path.replace(/^\/proc\/\d+\//, '/proc/<pid>/').replace(/\/\d+$/, '/<n>');
    by.set(key, [...(by.get(key) ?? []), u]);
  }
  return [...by].map(([p, us]) => `${p} (${us.length}x) e.g. ${us[0]!.line}`);
}

test('the allowed list is what the Node runtime opens at start-up here (node -e 0, an empty .mjs, a Worker)', async () => {
  if (!hasStrace) return skip('the /proc trace: strace is not on the PATH (apt-get install strace)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bgm-noproc-runtime-'));
  try {
    fs.writeFileSync(path.join(dir, 'empty.mjs'), '');
    fs.writeFileSync(
      path.join(dir, 'worker.mjs'),
      "import { Worker } from 'node:worker_threads';\nnew Worker('0', { eval: true });\n",
    );
    const seen = new Set<string>();
    for (const [name, argv] of [
      ['node-e0', [NODE, '-e', '0']],
      ['empty', [NODE, path.join(dir, 'empty.mjs')]],
      ['worker', [NODE, '--expose-gc', path.join(dir, 'worker.mjs')]],
    ] as const) {
      const t = traced(process.env, [...argv], name, dir);
      assert.is(await t.done, 0, `${name} under strace: ${t.stderr()}`);
      const { uses } = analyse(t.file);
      for (const u of uses) seen.add(u.path);
      assert.equal(disallowed(uses), [], `${name}: the runtime opened more than the allowed list names`);
    }
    for (const p of ['/proc/self/maps', '/proc/meminfo', '/proc/self/cgroup'])
      assert.ok(seen.has(p), `the runtime was seen opening ${p}: ${[...seen].join(', ')}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('portable: start (its supervisor too), list, send_input, get_logs --screen and stop open no /proc path beyond the runtime, bind and connect no socket through /proc', async () => {
  if (!hasStrace) return skip('the /proc trace: strace is not on the PATH (apt-get install strace)');
  const sb: Sandbox = makeSandbox('bgm-noproc-');
  sb.env.BG_PLATFORM = 'portable';
  const traces = path.join(sb.dir, 'traces');
  fs.mkdirSync(traces);
  const script = (name: string, ...args: string[]) => [NODE, path.join(DIST, `${name}.mjs`), ...args];
  let supervisor: Traced | undefined;
  try {
    // start_process under strace -f: the trace goes on until its supervisor ends (after the stop below).
    supervisor = traced(sb.env, script('start_process', '--name', 'repl', '--', PYTHON, '-q'), 'start', traces);
    const started = await waitFor(
      'start_process to print Started',
      () => /^Started process ([0-9a-f]{8}) \(PID (\d+)\)$/m.exec(supervisor!.stdout()),
      60_000,
    ).catch((e) => {
      throw new Error(`${e.message}\n${supervisor!.stdout()}${supervisor!.stderr()}`);
    });
    const pid = Number(started![2]);
    track(sb, pid);
    const ppid = readStat(pid)?.ppid;
    if (ppid) track(sb, ppid);

    const steps: [string, string[]][] = [
      ['list', script('list_processes')],
      ['send', script('send_input', 'repl', 'print(6*7)')],
      ['screen', script('get_logs', 'repl', '--screen', '--wait-for', '^42$', '--timeout', '60')],
      ['stop', script('stop_process', 'repl')],
    ];
    const outputs = new Map<string, Traced>();
    for (const [name, argv] of steps) {
      const t = traced(sb.env, argv, name, traces);
      const code = await t.done;
      assert.is(code, 0, `${name} under strace: exit ${code}\n${t.stdout()}${t.stderr()}`);
      outputs.set(name, t);
    }
    assert.match(outputs.get('screen')!.stdout(), /^42\s*$/m);
    assert.match(outputs.get('stop')!.stdout(), /^Stopped process [0-9a-f]{8} \(PID \d+\)/m);
    // The supervisor ends once its command has: then strace -f ends too.
    await waitFor(
      'the supervisor (traced since start_process) to end',
      () =>
        Promise.race([supervisor!.done.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 100))]),
      30_000,
    );

    const start = analyse(supervisor.file);
    // strace -f followed the supervisor past its setsid: its node ran supervisor.mjs, and the command ran.
    assert.ok(
      start.execs.some((e) => path.basename(e.prog) === 'node' && e.argv.includes('supervisor')),
      `the supervisor was traced: ${start.execs.map((e) => e.prog).join(', ')}`,
    );
    assert.ok(
      start.execs.some((e) => /python3/.test(path.basename(e.prog)) || e.prog === PYTHON),
      `the command was traced: ${start.execs.map((e) => e.prog).join(', ')}`,
    );
    const problems: string[] = [];
    const ran = new Set<string>();
    for (const [name, file] of [['start', supervisor.file], ...[...outputs].map(([n, t]) => [n, t.file])] as const) {
      const a = name === 'start' ? start : analyse(file);
      for (const e of a.execs) ran.add(path.basename(e.prog));
      for (const p of disallowed(a.uses)) problems.push(`${name}: ${p}`);
      for (const u of a.uses)
        if (/^\s*(?:bind|connect)\(/.test(u.line.replace(/^\d+\s+/, '')))
          problems.push(`${name}: a socket through ${u.path}: ${u.line}`);
    }
    assert.ok(problems.length === 0, `our processes used /proc:\n${problems.join('\n')}`);
    // The portable layer asked ps (the process table) rather than /proc.
    assert.ok(ran.has('ps'), `ps ran: ${[...ran].join(', ')}`);
  } finally {
    cleanup(sb);
    await supervisor?.done;
  }
});

test.run();
