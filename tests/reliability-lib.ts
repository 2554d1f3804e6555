// The harness of the reliability tests (tests/reliability.test.ts) and their heavier variants
// (tests/stress): a sandbox per test with its tmpfs mounts and stray processes ended at cleanup,
// the scripts run with their output kept as bytes, and in-process views of the state and logs
// for waits. The scripts run through their fast path (node dist/<script>.mjs, which SKILL.md
// documents as equivalent to npx tsx) so that 50 of them at once fit on a small machine;
// BG_TEST_RUNNER=tsx runs them from the TypeScript sources instead, as e2e.test.ts does.
// BG_TEST_ONLY=<regex> runs only the tests whose name matches; each other one says SKIP (tests/run.mjs counts it).
import { test } from 'uvu';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import {
  cleanup,
  endRecorded,
  figure,
  FIXTURES,
  makeSandbox,
  ROOT,
  SCRIPTS,
  skip,
  track,
  unlockSandbox,
  waitFor,
  type Sandbox,
} from './helpers.ts';

export { figure, FIXTURES };
import { StateStore, type ProcessRecord, type StateDoc } from '../skills/background-manager/scripts/lib/store/state.ts';
import {
  allStats,
  readStat,
  signalTree,
  type ProcStat,
} from '../skills/background-manager/scripts/lib/process/proc.ts';
import { LogReader, type LogRecord } from '../skills/background-manager/scripts/lib/log/format/logfile.ts';
import { LogSetReader, listSegments, logFileOf } from '../skills/background-manager/scripts/lib/log/format/logset.ts';
import { selectLines } from '../skills/background-manager/scripts/lib/log/read/logquery.ts';
import { lineText } from '../skills/background-manager/scripts/lib/log/read/lines.ts';
import { liveStatus } from '../skills/background-manager/scripts/lib/process/status.ts';
import type { SubKeys } from '../skills/background-manager/scripts/lib/store/crypto.ts';

const ONLY = process.env.BG_TEST_ONLY ? new RegExp(process.env.BG_TEST_ONLY, 'i') : undefined;

// ---------------------------------------------------------------------------------------
// Harness: a sandbox per test, plus tmpfs mounts and stray processes ended at cleanup.

export interface Ctx {
  /** Mount a tmpfs at `dir` (made if missing); where that is not allowed, skip() says so and it is false: then return. */
  mount(dir: string, options: string): boolean;
  /** Processes a test saw start (e.g. a supervisor of a failed start): killed if still the same. */
  strays: ProcStat[];
}

export function rtest(name: string, fn: (sb: Sandbox, ctx: Ctx) => Promise<void>): void {
  if (ONLY && !ONLY.test(name))
    return test(name, () => skip(`BG_TEST_ONLY=${process.env.BG_TEST_ONLY} leaves out "${name}"`));
  test(name, async () => {
    const sb = makeSandbox('bgm-rel-');
    const mounts: string[] = [];
    const strays: ProcStat[] = [];
    const ctx: Ctx = {
      strays,
      mount(dir, options) {
        fs.mkdirSync(dir, { recursive: true });
        try {
          execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'pipe' });
        } catch (err) {
          skip(
            `"${name}": cannot mount a tmpfs (${String((err as Error).message).split('\n')[0]}); run as root to cover it`,
          );
          return false;
        }
        mounts.push(dir);
        return true;
      },
    };
    await warmFastPath();
    const t0 = Date.now();
    try {
      await fn(sb, ctx);
    } finally {
      for (const s of strays) if (sameProcess(s)) signalTree(s.pid, 'SIGKILL', s.startTicks);
      endRecorded(sb); // while the data dir is still mounted
      for (const m of mounts.reverse()) await unmount(m);
      cleanup(sb);
      figure(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${name}`);
    }
  });
}

// The fast path rebuilds itself when a source is newer than its bundle: let that happen once,
// before the first test, rather than in every one of the scripts a test runs at once.
let warmed: Promise<unknown> | undefined;
function warmFastPath(): Promise<unknown> {
  const launcher = path.join(DIST, 'list_processes.mjs');
  if (VIA_TSX || !fs.existsSync(launcher)) return Promise.resolve();
  warmed ??= new Promise((resolve) =>
    spawn(process.execPath, [launcher, '--help'], { stdio: 'ignore' }).on('close', resolve),
  );
  return warmed;
}

/** Fill the filesystem of `dir` (a small tmpfs) to the last byte with a file `filler` in it; returns its path. */
export function fillDisk(dir: string): string {
  const filler = path.join(dir, 'filler');
  const fd = fs.openSync(filler, 'w');
  try {
    for (const size of [1 << 20, 64 << 10, 512, 1]) {
      try {
        for (;;) fs.writeSync(fd, Buffer.alloc(size, 0x55));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return filler;
}

async function unmount(dir: string): Promise<void> {
  try {
    await waitFor(
      `${dir} to unmount`,
      () => {
        try {
          execFileSync('umount', [dir], { stdio: 'pipe' });
          return true;
        } catch {
          return false; // EBUSY while the killed processes finish dying
        }
      },
      5000,
      50,
    );
  } catch {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
  }
}

// ---------------------------------------------------------------------------------------
// Running the scripts

export interface Exec {
  code: number | null;
  stdout: Buffer;
  out: string; // stdout as text
  stderr: string;
  ms: number;
}

export interface ExecOptions {
  env?: NodeJS.ProcessEnv;
  umask?: string; // run under this umask (through sh -c 'umask ...; exec node ...')
  timeoutMs?: number;
  onStdout?: (chunk: Buffer) => void; // stream stdout here instead of keeping it
  watch?: ProcStat[]; // collect every process started under the script while it runs
}

const DIST = path.join(ROOT, 'skills', 'background-manager', 'dist');
const VIA_TSX = process.env.BG_TEST_RUNNER === 'tsx';

function scriptArgv(script: string): string[] {
  const fast = path.join(DIST, script.replace(/\.ts$/, '.mjs'));
  if (!VIA_TSX && fs.existsSync(fast)) return [process.execPath, fast];
  return [process.execPath, '--import', 'tsx', path.join(SCRIPTS, script)];
}

/** Run an entry script, keeping stdout as bytes. */
export function exec(sb: Sandbox, script: string, args: string[], o: ExecOptions = {}): Promise<Exec> {
  const node = [...scriptArgv(script), ...args];
  const [cmd, argv] =
    o.umask === undefined ? [node[0]!, node.slice(1)] : ['sh', ['-c', `umask ${o.umask}; exec "$@"`, 'sh', ...node]];
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { env: o.env ?? sb.env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (o.onStdout ? o.onStdout(d) : chunks.push(d)));
    child.stderr.on('data', (d) => (stderr += d));
    const watcher = o.watch ? setInterval(() => collectDescendants(child.pid!, o.watch!), 5) : undefined;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`${script} ${args.join(' ').slice(0, 200)} did not finish in ${o.timeoutMs ?? 60_000} ms\n${stderr}`),
      );
    }, o.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      clearInterval(watcher);
      const stdout = Buffer.concat(chunks);
      resolve({
        code,
        stdout,
        out: stdout.toString('utf8'),
        stderr: stderr
          .split('\n')
          .filter((l) => !l.startsWith('npm warn'))
          .join('\n'),
        ms: Date.now() - t0,
      });
    });
  });
}

// Descendants of `root` by parent link (not by session: the script shares the test's group).
function collectDescendants(root: number, into: ProcStat[]): void {
  const stats = allStats();
  const members = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const st of stats) {
      if (!members.has(st.pid) && members.has(st.ppid)) {
        members.add(st.pid);
        grew = true;
        if (!into.some((s) => s.pid === st.pid && s.startTicks === st.startTicks)) into.push(st);
      }
    }
  }
}

export async function startP(
  sb: Sandbox,
  args: string[],
  env?: NodeJS.ProcessEnv,
): Promise<{ id: string; pid: number }> {
  const r = await exec(sb, 'start_process.ts', args, { env, timeoutMs: 180_000 });
  const m = /^Started process ([0-9a-f]{8}) \(PID (\d+)\)$/m.exec(r.out);
  if (r.code !== 0 || !m)
    throw new Error(`start_process ${args.join(' ').slice(0, 200)} failed (${r.code}): ${r.out}${r.stderr}`);
  return { id: m[1]!, pid: Number(m[2]) };
}

export async function logText(sb: Sandbox, id: string, args: string[] = []): Promise<string> {
  const r = await exec(sb, 'get_logs.ts', [id, ...args]);
  if (r.code !== 0) throw new Error(`get_logs ${id} ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.out;
}

export interface Row {
  id: string;
  pid: number;
  status: string;
}

export async function rows(sb: Sandbox, env?: NodeJS.ProcessEnv): Promise<Row[]> {
  const r = await exec(sb, 'list_processes.ts', ['--json'], { env });
  if (r.code !== 0) throw new Error(`list_processes failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.out) as Row[];
}

export async function statusOf(sb: Sandbox, id: string): Promise<string> {
  return (await rows(sb)).find((r) => r.id === id)!.status;
}

// ---------------------------------------------------------------------------------------
// The state and the processes, seen from outside

// One key derivation per data dir, password and key.json (PBKDF2 costs about 0.2 s; the
// sandbox's key cache, where its scripts left the key, spares even that one).
const keyCache = new Map<string, SubKeys | undefined>();
function keysOrNone(sb: Sandbox): SubKeys | undefined {
  const dataDir = sb.env.BG_DATA_DIR!;
  const st = fs.statSync(path.join(dataDir, 'key.json'), { throwIfNoEntry: false });
  if (!st) return undefined;
  const k = `${dataDir}\0${sb.env.BG_PASSWORD}\0${st.ino}\0${st.mtimeMs}\0${st.size}`;
  if (!keyCache.has(k)) keyCache.set(k, unlockSandbox(sb, sb.env.BG_PASSWORD!)?.keys);
  return keyCache.get(k);
}

export function keysOf(sb: Sandbox): SubKeys {
  const k = keysOrNone(sb);
  if (!k) throw new Error(`no key.json in ${sb.env.BG_DATA_DIR}`);
  return k;
}

export function recs(sb: Sandbox): ProcessRecord[] {
  const keys = keysOrNone(sb);
  return keys ? new StateStore({ dataDir: sb.env.BG_DATA_DIR!, keys }).read().processes : [];
}

/** The status list_processes would show, checked in-process (for waits). */
export function statusNow(sb: Sandbox, id: string): string {
  return liveStatus(rec(sb, id)).status;
}

/** The lines get_logs -n 0 would show, read in-process (for waits). */
export function logNow(sb: Sandbox, id: string, streams: LogRecord['stream'][] = ['stdout', 'stderr']): string[] {
  const reader = new LogSetReader(logFileOf(sb.env.BG_DATA_DIR!, rec(sb, id)), keysOf(sb), id);
  return selectLines(reader, { streams: new Set(streams), lines: 0, raw: false }).lines.map((l) => lineText(l, false));
}

/** The last line get_logs would show, read from the end only (cheap on a big log). */
export function lastLineNow(sb: Sandbox, id: string): string | undefined {
  const reader = new LogSetReader(logFileOf(sb.env.BG_DATA_DIR!, rec(sb, id)), keysOf(sb), id);
  const l = selectLines(reader, { streams: new Set(['stdout', 'stderr']), lines: 1, raw: false }).lines[0];
  return l && lineText(l, false);
}

export function rec(sb: Sandbox, id: string): ProcessRecord {
  const r = recs(sb).find((p) => p.id === id);
  if (!r) throw new Error(`no record ${id}`);
  return r;
}

export async function updateState(sb: Sandbox, fn: (doc: StateDoc) => void): Promise<void> {
  await new StateStore({ dataDir: sb.env.BG_DATA_DIR!, keys: keysOf(sb) }).update(fn);
}

/** Still the very process we saw (same start time), and not a zombie. */
export function sameProcess(st: { pid: number; startTicks: number }): boolean {
  const now = readStat(st.pid);
  return !!now && now.startTicks === st.startTicks && now.state !== 'Z' && now.state !== 'X';
}

export function liveAs(pid: number, startTicks: number | undefined): boolean {
  return startTicks !== undefined && sameProcess({ pid, startTicks });
}

/** A process that must never be signalled (tests/fixtures/signal-recorder.py). */
export async function recorder(sb: Sandbox, name: string): Promise<{ pid: number; file: string; st: ProcStat }> {
  const file = path.join(sb.dir, `${name}.signals`);
  const child = spawn('python3', [path.join(FIXTURES, 'signal-recorder.py'), file], { stdio: 'ignore' });
  track(sb, child.pid!);
  await waitFor(`recorder ${name} ready`, () => fs.existsSync(file) && fs.readFileSync(file, 'utf8') === 'ready\n');
  return { pid: child.pid!, file, st: readStat(child.pid!)! };
}

export function linesOf(text: string): string[] {
  const l = text.split('\n');
  if (l[l.length - 1] === '') l.pop();
  return l;
}

/** Everything under `dir`: relative path -> sha256 of the content, 'dir <mode>' for folders, 'socket' for sockets. */
export function snapshotAll(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        out[path.relative(dir, p)] = `dir ${(fs.statSync(p).mode & 0o777).toString(8)}`;
        walk(p);
      } else if (e.isSocket())
        out[path.relative(dir, p)] = 'socket'; // a live supervisor's (run/): nothing to read
      else out[path.relative(dir, p)] = createHash('sha256').update(fs.readFileSync(p)).digest('hex');
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Records of a whole log (every segment), read a window at a time; checks the sequence. */
export function forEachRecord(
  sb: Sandbox,
  id: string,
  visit: (rec: LogRecord) => void,
): { records: number; bytes: number; issues: string[]; firstSeq: number | undefined } {
  const keys = keysOf(sb);
  const active = logFileOf(sb.env.BG_DATA_DIR!, rec(sb, id));
  const issues: string[] = [];
  let expect: number | undefined;
  let firstSeq: number | undefined;
  let records = 0;
  let bytes = 0;
  for (const seg of listSegments(active)) {
    const reader = LogReader.open(seg.file, keys, id);
    try {
      bytes += reader.size();
      firstSeq ??= reader.header.baseSeq;
      expect ??= reader.header.baseSeq;
      const size = reader.size();
      for (let offset = 80; offset < size; ) {
        const r = reader.readForward({ offset, expectSeq: expect, maxBytes: 32 << 20 });
        for (const i of r.issues) issues.push(`${path.basename(seg.file)}: ${i.message}`);
        for (const x of r.records) {
          records++;
          visit(x);
        }
        if (r.next <= offset) break;
        offset = r.next;
        expect = r.nextSeq;
      }
    } finally {
      reader.close();
    }
  }
  return { records, bytes, issues, firstSeq };
}

/** Checks a stream of "0\n1\n2\n..." (optionally \r\n) as it arrives, without keeping it. */
export class NumberedLines {
  count = 0;
  private cur = 0;
  private digits = 0;
  private cr = false;
  error: string | undefined;
  constructor(private readonly crlf = false) {}
  push(buf: Uint8Array): void {
    if (this.error) return;
    for (let i = 0; i < buf.length; i++) {
      const b = buf[i]!;
      if (b >= 48 && b <= 57 && !this.cr) {
        this.cur = this.cur * 10 + (b - 48);
        this.digits++;
      } else if (b === 13 && this.crlf && !this.cr && this.digits > 0) this.cr = true;
      else if (b === 10 && this.digits > 0 && this.cr === this.crlf) {
        if (this.cur !== this.count) {
          this.error = `line ${this.count + 1} reads ${this.cur}, expected ${this.count}`;
          return;
        }
        this.count++;
        this.cur = 0;
        this.digits = 0;
        this.cr = false;
      } else {
        this.error = `unexpected byte ${b} after line ${this.count} (${this.digits} digits so far)`;
        return;
      }
    }
  }
}
