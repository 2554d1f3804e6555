// Test helpers: a fresh data dir per test, the real scripts run as child processes, waits
// with deadlines (never fixed sleeps), and cleanup that ends every process a test started,
// by PID only.
import { layerName, useLayer } from '../skills/background-manager/scripts/lib/util/platform.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import { unlock, type Unlocked } from '../skills/background-manager/scripts/lib/store/keys.ts';
import { cachedDataKey } from '../skills/background-manager/scripts/lib/store/keycache.ts';
import { subKeys } from '../skills/background-manager/scripts/lib/store/crypto.ts';
import { StateStore, type ProcessRecord } from '../skills/background-manager/scripts/lib/store/state.ts';
import { matchIdentity, signalTree, readStat } from '../skills/background-manager/scripts/lib/process/proc.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * A copy of the skill folder's sources at `skill` (everything but node_modules, dist, data and
 * the SKILL.md link), its node_modules linked to this checkout's: a skill whose dist/ and
 * sources a test may alter or rebuild without touching the checkout's.
 */
export function copySkillSources(skill: string): void {
  const from = path.join(ROOT, 'skills/background-manager');
  fs.mkdirSync(skill, { recursive: true });
  fs.symlinkSync(path.join(from, 'node_modules'), path.join(skill, 'node_modules'));
  for (const e of fs.readdirSync(from)) {
    if (!['node_modules', 'dist', 'data', 'SKILL.md'].includes(e))
      fs.cpSync(path.join(from, e), path.join(skill, e), { recursive: true });
  }
}
export const SCRIPTS = path.join(ROOT, 'skills/background-manager/scripts');
export const PASSWORD = 'correct horse battery staple';
/** Small programs the tests run (tests/fixtures/), instead of inline `python3 -c` text. */
export const FIXTURES = path.join(ROOT, 'tests', 'fixtures');

export interface Sandbox {
  dir: string;
  env: NodeJS.ProcessEnv;
  extraPids: { pid: number; startTicks: number }[]; // processes a test started itself (see track), ended at cleanup
}

/**
 * Have cleanup end `pid`, a process the test started itself. Its start time is noted now, while
 * it surely runs: at cleanup it may have exited long ago and its PID may belong to anything on
 * the machine (another test run's supervisor, say), which must not be killed.
 */
export function track(sb: Sandbox, ...pids: number[]): void {
  for (const pid of pids) {
    const st = readStat(pid);
    if (st) sb.extraPids.push({ pid, startTicks: st.startTicks });
  }
}

// The test process's own unlocks (records(), below) leave nothing in the user's key cache.
process.env.BG_KEY_CACHE = 'off';

export function makeSandbox(prefix = 'bgm-test-'): Sandbox {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  // The scripts run with the key cache as users have it (on), in a cache folder of this
  // sandbox's own (on tmpfs), removed with it.
  const runtime = fs.mkdtempSync('/dev/shm/bgm-runtime-');
  fs.symlinkSync(runtime, path.join(dir, 'runtime')); // cleanup finds it through the sandbox
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BG_PASSWORD: PASSWORD,
    BG_DATA_DIR: path.join(dir, 'data'),
    XDG_RUNTIME_DIR: runtime,
  };
  delete env.BG_KEY_CACHE;
  return { dir, env, extraPids: [] };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  npx?: boolean;
  /** Through the fast path SKILL.md leads with (node dist/<x>.mjs: the same sources, bundled, rebuilt when older). */
  fast?: boolean;
  cwd?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/**
 * Run an entry script from its sources (node --import tsx); `npx` runs it as `npx tsx`, `fast`
 * as `node dist/<x>.mjs` (about a third of tsx's CPU per call).
 */
export function run(
  sb: Sandbox | NodeJS.ProcessEnv,
  script: string,
  args: string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  const env = opts.env ?? ('env' in sb ? (sb as Sandbox).env : (sb as NodeJS.ProcessEnv));
  const file = path.join(SCRIPTS, script);
  const [cmd, argv] = opts.npx
    ? ['npx', ['tsx', file, ...args]]
    : opts.fast
      ? [process.execPath, [fastPath(script), ...args]]
      : [process.execPath, ['--import', 'tsx', file, ...args]];
  return runCommand(cmd, argv, env, opts.cwd, opts.timeoutMs).then((r) => ({
    ...r,
    stderr: r.stderr
      .split('\n')
      .filter((l) => !l.startsWith('npm warn'))
      .join('\n'),
  }));
}

/** Run any command to its end (killed after `timeoutMs`): its exit code, stdout and stderr. */
export function runCommand(
  cmd: string,
  argv: string[],
  env: NodeJS.ProcessEnv,
  cwd = ROOT,
  timeoutMs = 60_000,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`${path.basename(cmd)} ${argv.join(' ')} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`),
      );
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The fast path's launcher of an entry script (scripts/get_logs.ts -> dist/get_logs.mjs). */
export function fastPath(script: string): string {
  return path.join(ROOT, 'skills/background-manager/dist', script.replace(/\.ts$/, '.mjs'));
}

export async function start(
  sb: Sandbox,
  args: string[],
  opts: Pick<RunOptions, 'fast'> = {},
): Promise<{ id: string; pid: number; out: RunResult }> {
  const out = await run(sb, 'start_process.ts', args, opts);
  const m = /^Started process ([0-9a-f]{8}) \(PID (\d+)\)$/m.exec(out.stdout);
  if (out.code !== 0 || !m) throw new Error(`start failed (${out.code}): ${out.stdout}${out.stderr}`);
  return { id: m[1]!, pid: Number(m[2]), out };
}

/** start_process run under a wrapper (`prlimit ...`, `setpriv ...`): the command words before node. */
export function startUnder(
  sb: Sandbox,
  wrapper: string[],
  args: string[],
): Promise<{ id: string; pid: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      wrapper[0]!,
      [...wrapper.slice(1), process.execPath, '--import', 'tsx', path.join(SCRIPTS, 'start_process.ts'), ...args],
      { env: sb.env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const m = /^Started process ([0-9a-f]{8}) \(PID (\d+)\)$/m.exec(out);
      if (code !== 0 || !m) reject(new Error(`start failed (${code}): ${out}`));
      else resolve({ id: m[1]!, pid: Number(m[2]), out });
    });
  });
}

export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000,
  everyMs = 30,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * run(), start() and listJson() through the fast path, for a file whose assertions are not about
 * the form (no hint in them): `const { run, start, listJson } = viaFastPath;`.
 */
export const viaFastPath = {
  run: (sb: Sandbox, script: string, args: string[], opts: RunOptions = {}) =>
    run(sb, script, args, { ...opts, fast: true }),
  start: (sb: Sandbox, args: string[]) => start(sb, args, { fast: true }),
  listJson: (sb: Sandbox) => listJson(sb, { fast: true }),
};

export interface ListedProcess {
  id: string;
  pid: number;
  status: string;
  exitCode: number | null;
  signal: string | null;
  command: string;
  name?: string;
  ports: number[];
  restarts: number;
}

export async function listJson(sb: Sandbox, opts: Pick<RunOptions, 'fast'> = {}): Promise<ListedProcess[]> {
  const r = await run(sb, 'list_processes.ts', ['--json'], opts);
  if (r.code !== 0) throw new Error(`list failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/**
 * The sandbox's data key as its scripts left it in the sandbox's own key cache (a PBKDF2 of
 * 10,000 iterations), else from key.json (600,000: a quarter to half a second of this process's
 * CPU, once per test at cleanup). The cache entry opens only for this key.json and password.
 */
export function unlockSandbox(sb: Sandbox, password: string): Pick<Unlocked, 'keys'> | undefined {
  const dataDir = sb.env.BG_DATA_DIR!;
  const file = path.join(dataDir, 'key.json');
  const cached = fs.existsSync(file) ? cachedDataKey(dataDir, fs.readFileSync(file), password, sb.env) : undefined;
  return cached ? { keys: subKeys(cached) } : unlock(dataDir, password, { create: false });
}

/**
 * Runs `fn` with the sandbox's process layer (BG_PLATFORM=portable in its env, else this
 * process's): a data dir belongs to the layer that recorded it, and its records' start times are
 * in that layer's unit.
 */
export function inSandboxLayer<T>(sb: Sandbox, fn: () => T): T {
  const mine = layerName();
  useLayer(sb.env.BG_PLATFORM === 'portable' ? 'portable' : mine);
  try {
    return fn();
  } finally {
    useLayer(mine);
  }
}

export function records(sb: Sandbox): ProcessRecord[] {
  const u = unlockSandbox(sb, PASSWORD);
  if (!u) return [];
  return inSandboxLayer(sb, () => new StateStore({ dataDir: sb.env.BG_DATA_DIR!, keys: u.keys }).read().processes);
}

export function alive(pid: number): boolean {
  const st = readStat(pid);
  return !!st && st.state !== 'Z';
}

/**
 * End every recorded process of the sandbox (its tree, its supervisor), each checked by its
 * identity first; the state is read with the sandbox's own password (a test may change it).
 * Shared by cleanup and the reliability harness (which calls it before unmounting).
 */
export function endRecorded(sb: Sandbox): void {
  inSandboxLayer(sb, () => endRecordedHere(sb));
}

function endRecordedHere(sb: Sandbox): void {
  let recs: ProcessRecord[] = [];
  try {
    const u = unlockSandbox(sb, sb.env.BG_PASSWORD ?? PASSWORD);
    if (u) recs = new StateStore({ dataDir: sb.env.BG_DATA_DIR!, keys: u.keys }).read().processes;
  } catch {
    return; // damaged on purpose, or unreadable: the test ends what it knows by PID
  }
  for (const r of recs) {
    if (matchIdentity({ pid: r.pid, startTicks: r.startTicks, bootId: r.bootId }))
      signalTree(r.pid, 'SIGKILL', r.startTicks);
    if (
      r.supervisorPid &&
      matchIdentity({ pid: r.supervisorPid, startTicks: r.supervisorStartTicks, bootId: r.bootId })
    ) {
      try {
        process.kill(r.supervisorPid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}

/** End everything the sandbox started (children, their trees, supervisors), then delete it. */
export function cleanup(sb: Sandbox): void {
  endRecorded(sb);
  for (const { pid, startTicks } of sb.extraPids) {
    if (readStat(pid)?.startTicks !== startTicks) continue; // gone, and maybe reused
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  removeSandbox(sb);
}

/** Delete the sandbox's folders: its own and its key cache folder on /dev/shm. Ends nothing. */
export function removeSandbox(sb: Sandbox): void {
  // The sandbox's key cache folder: named in its env, and linked from it (a test may change either).
  const runtimes = new Set<string>();
  if (sb.env.XDG_RUNTIME_DIR?.startsWith('/dev/shm/bgm-runtime-')) runtimes.add(sb.env.XDG_RUNTIME_DIR);
  try {
    runtimes.add(fs.readlinkSync(path.join(sb.dir, 'runtime')));
  } catch {
    /* a test took it away */
  }
  for (const r of runtimes) fs.rmSync(r, { recursive: true, force: true });
  fs.rmSync(sb.dir, { recursive: true, force: true });
}

/** One plain HTTP request with exactly these headers (a browser would add its own). */
export function httpRequest(
  base: string,
  p: string,
  headers: Record<string, string>,
  method = 'GET',
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${p}`, { method, headers }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
        if (res.headers['content-type']?.startsWith('text/event-stream')) req.destroy(); // enough: it answered
      });
      res.on('close', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end(method === 'POST' ? '{}' : undefined);
  });
}

/** A free TCP port on 127.0.0.1, from the kernel. */
export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** Whether something accepts a TCP connection on 127.0.0.1:`port`. */
export async function portOpen(port: number): Promise<boolean> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Hash every file under `dir` (relative path -> sha256), to prove nothing changed. */
export async function snapshot(dir: string): Promise<Record<string, string>> {
  const { createHash } = await import('node:crypto');
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isSocket())
        out[path.relative(dir, p)] = 'socket'; // a live supervisor's (run/): nothing to read
      else out[path.relative(dir, p)] = createHash('sha256').update(fs.readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

/** A uvu test with its own sandbox, cleaned up whatever happens. */
export function withSandbox(name: string, fn: (sb: Sandbox) => Promise<void>): void {
  test(name, async () => {
    const sb = makeSandbox();
    try {
      await fn(sb);
    } finally {
      cleanup(sb);
    }
  });
}

/** Unique set size in KiB: pages mapped by this process only (Private_* in smaps_rollup). */
export function ussKiB(pid: number): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1');
  } catch {
    return undefined;
  }
  let kib = 0;
  for (const m of text.matchAll(/^Private_(?:Clean|Dirty|Hugetlb):\s+(\d+) kB$/gm)) kib += Number(m[1]);
  return kib;
}

/** A figure the closing notes quote, printed as it is measured (on stderr, beside uvu's dots). */
export function figure(text: string): void {
  process.stderr.write(`  [figure] ${text}\n`);
}

/**
 * Say that a check did not run, and why. The line starts with the fixed marker `SKIP: `, which
 * tests/run.mjs counts and reports (and which fails the run when CI is set): a skipped check
 * never reads as a pass. Call it once, then return from the test: the runner counts the test as
 * skipped, not passed. The newline first ends the line of uvu's dots, so the marker starts a line.
 */
export function skip(reason: string): void {
  process.stdout.write(`\nSKIP: ${reason.replace(/\s*\n\s*/g, ' ')}\n`);
}
