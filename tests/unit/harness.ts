// The unit tier's harness: a data dir per test, a command's main(argv) called in this process
// with its stdout, stderr and exit code captured, and a low KDF cost. No child processes.
//
// The low cost is set by calling useTestKdfCost() (lib/store/crypto.ts) from this process: no
// environment variable or file can set it, so an installed tool always runs key.json's count,
// and key.json's bounds (100k to 10M iterations) are still checked on every read. It holds only
// while a unit suite runs (unitSuite's before/after): uvu runs every file of a folder in one
// process, and the full tier's tests unlock data dirs that the real scripts keyed.
import fs from 'node:fs';
import { suite } from 'uvu';
import os from 'node:os';
import path from 'node:path';
import { useTestKdfCost } from '../../skills/background-manager/scripts/lib/store/crypto.ts';
import { runMain } from '../../skills/background-manager/scripts/lib/cli/cli.ts';
import { unlock } from '../../skills/background-manager/scripts/lib/store/keys.ts';
import { StateStore, type ProcessRecord } from '../../skills/background-manager/scripts/lib/store/state.ts';
import type { Context } from '../../skills/background-manager/scripts/lib/store/context.ts';

export const PASSWORD = 'correct horse battery staple';
const SCRIPTS = path.resolve(import.meta.dirname, '../../skills/background-manager/scripts');

/** What a unit test's unlocks cost: 1,000 PBKDF2 iterations instead of key.json's 600,000. */
export const TEST_KDF_ITERATIONS = 1000;

/** A uvu suite that runs with the test KDF cost, and leaves the real one behind it. */
export function unitSuite(name: string) {
  const s = suite(name);
  s.before(() => useTestKdfCost(TEST_KDF_ITERATIONS));
  s.after(() => useTestKdfCost(undefined));
  return s;
}

// This process's own unlocks (contextOf, the storage tests) leave nothing in the user's key cache.
process.env.BG_KEY_CACHE = 'off';

export interface UnitDir {
  dir: string;
  dataDir: string;
  env: NodeJS.ProcessEnv;
}

/** A fresh data dir (not made yet) and the environment a command runs with. */
export function makeUnitDir(): UnitDir {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bgm-unit-'));
  const dataDir = path.join(dir, 'data');
  // BG_KEY_CACHE off: nothing of a unit test goes to the user's key cache.
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    BG_PASSWORD: PASSWORD,
    BG_DATA_DIR: dataDir,
    BG_KEY_CACHE: 'off',
  };
  return { dir, dataDir, env };
}

export function removeUnitDir(u: UnitDir): void {
  fs.rmSync(u.dir, { recursive: true, force: true });
}

/** A test of suite `t` in a data dir of its own, removed after it. */
export function withUnitDir(
  t: ReturnType<typeof unitSuite>,
  name: string,
  fn: (u: UnitDir) => Promise<void> | void,
): void {
  t(name, async () => {
    const u = makeUnitDir();
    try {
      await fn(u);
    } finally {
      removeUnitDir(u);
    }
  });
}

/** The data dir unlocked (made on first use), as a command sees it. */
export function contextOf(u: UnitDir): Context {
  const unlocked = unlock(u.dataDir, PASSWORD, { create: true })!;
  return {
    dataDir: u.dataDir,
    password: PASSWORD,
    unlocked,
    store: new StateStore({ dataDir: u.dataDir, keys: unlocked.keys, password: PASSWORD }),
  };
}

/** Add records to the state as they are given (a test's own PIDs, ended or not). */
export async function addRecords(u: UnitDir, ...recs: ProcessRecord[]): Promise<void> {
  await contextOf(u).store.update((doc) => {
    doc.processes.push(...recs);
  });
}

export interface Called {
  code: number;
  stdout: string;
  stderr: string;
}

let calling = false;

/**
 * Call a command's main(argv) as its entry script would (runMain: errors to stderr as one
 * line, an exit code), with `env` as the whole environment. stdout and stderr are captured
 * from process.stdout/stderr.write and from the synchronous writes to fds 1 and 2 (SyncOut).
 */
export async function callMain(
  name: string,
  main: (argv: string[]) => Promise<number | void>,
  argv: string[],
  env: NodeJS.ProcessEnv,
): Promise<Called> {
  if (calling) throw new Error('callMain: one call at a time (it swaps the process-wide streams)');
  calling = true;
  const out: string[] = [];
  const err: string[] = [];
  const savedEnv = process.env;
  const saved = {
    out: process.stdout.write,
    err: process.stderr.write,
    writeSync: fs.writeSync,
    listeners: process.stdout.listeners('error'),
  };
  const grab = (into: string[]) =>
    ((chunk: string | Uint8Array) => (
      into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')), true
    )) as typeof process.stdout.write;
  process.stdout.write = grab(out);
  process.stderr.write = grab(err);
  fs.writeSync = ((fd: number, buf: Uint8Array | string, offset?: number, length?: number, ...rest: unknown[]) => {
    if (fd !== 1 && fd !== 2) return (saved.writeSync as (...a: unknown[]) => number)(fd, buf, offset, length, ...rest);
    const b = typeof buf === 'string' ? Buffer.from(buf) : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    const part = b.subarray(offset ?? 0, (offset ?? 0) + (length ?? b.length - (offset ?? 0)));
    (fd === 1 ? out : err).push(part.toString('utf8'));
    return part.length;
  }) as typeof fs.writeSync;
  const savedArgv = process.argv;
  process.argv = [process.execPath, path.join(SCRIPTS, `${name}.ts`), ...argv]; // runMain reads its argv from here
  process.env = { ...env };
  process.exitCode = undefined;
  try {
    await runMain(name, main);
    return { code: Number(process.exitCode ?? 0), stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.env = savedEnv;
    process.argv = savedArgv;
    process.exitCode = undefined;
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    fs.writeSync = saved.writeSync;
    for (const l of process.stdout.listeners('error'))
      if (!saved.listeners.includes(l)) process.stdout.off('error', l as (e: Error) => void);
    calling = false;
  }
}

/** A record of a process that ran and ended (no process behind it: nothing is signalled). */
export function endedRecord(id: string, over: Partial<ProcessRecord> = {}): ProcessRecord {
  return {
    id,
    command: 'echo hello',
    argv: ['echo', 'hello'],
    cwd: '/',
    pty: false,
    pid: 999_999_999,
    startedAt: new Date(Date.now() - 60_000).toISOString(),
    logFile: path.join('logs', `${id}.log.enc`),
    logVersion: 2,
    ended: true,
    exitCode: 0,
    endedAt: new Date(Date.now() - 30_000).toISOString(),
    ...over,
  } as ProcessRecord;
}
