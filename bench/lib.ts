// Bench helpers: timing whole processes, interleaving the compared runs, statistics, memory
// from /proc, and waits on conditions with deadlines (never fixed sleeps).
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
export { ussKiB } from '../tests/helpers.ts';

export interface Stat {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function stat(xs: number[]): Stat {
  if (xs.length === 0) throw new Error('no samples');
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, n: s.length };
}

export interface Timed {
  ms: number; // spawn to exit (all output read)
  untilMs?: number; // spawn to the first time stdout matched `until`
  code: number | null;
  stdout: string;
  stderr: string;
  pid: number;
}

/** Every process a timed run started, so an interrupted bench can end them by PID. */
export const running = new Set<number>();

/**
 * Run a command to its end and time it from just before spawn. With `until`, also the time
 * at which its stdout first matched (e.g. "Started process").
 */
export function timeRun(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; until?: RegExp; timeoutMs?: number } = {},
): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid) running.add(child.pid);
    let stdout = '';
    let stderr = '';
    let untilMs: number | undefined;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      stdout += d;
      if (opts.until && untilMs === undefined && opts.until.test(stdout)) untilMs = performance.now() - t0;
    });
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`${cmd} ${args.join(' ')}: no exit within ${opts.timeoutMs ?? 120_000} ms\n${stdout}\n${stderr}`),
      );
    }, opts.timeoutMs ?? 120_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      const ms = performance.now() - t0;
      clearTimeout(timer);
      running.delete(child.pid!);
      resolve({ ms, untilMs, code, stdout, stderr, pid: child.pid! });
    });
  });
}

/**
 * Run each side once untimed (warm-up: page cache, npx cache), then `reps` rounds of
 * A, B, A, B ... so that noise on the machine hits every side alike.
 */
export async function interleave<K extends string>(
  reps: number,
  sides: Record<K, () => Promise<number>>,
  warmUp = true,
): Promise<Record<K, number[]>> {
  const keys = Object.keys(sides) as K[];
  const out = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as unknown as Record<K, number[]>;
  if (warmUp) for (const k of keys) await sides[k]();
  for (let r = 0; r < reps; r++) {
    for (const k of keys) {
      out[k].push(await sides[k]());
      // BENCH_SAMPLES=1: every sample as it is taken, to see a spread the median hides.
      if (process.env.BENCH_SAMPLES) process.stderr.write(`  sample ${r + 1}/${reps} ${k}: ${out[k][r]!.toFixed(1)}\n`);
    }
  }
  return out;
}

export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000,
  everyMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return -1;
  }
}
