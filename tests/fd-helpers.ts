// A caller's extra fd passed to start_process, and what holds it (tests/inherited-fds.test.ts,
// tests/portable-io.test.ts).
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import type net from 'node:net';
import { waitFor, ROOT, SCRIPTS, type Sandbox } from './helpers.ts';

export const HIGH_FD = 200;

/** What `pid` holds open: fd number -> link target. */
export function fdsOf(pid: number): Map<number, string> {
  const out = new Map<number, string>();
  for (const f of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      out.set(Number(f), fs.readlinkSync(`/proc/${pid}/fd/${f}`));
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

/**
 * Run start_process with the write end of a pipe (a socket pair, as node makes) as fd 200; this
 * process keeps only the read end. Resolves with start_process's result and whether EOF came.
 */
export async function startHoldingPipe(sb: Sandbox, args: string[]) {
  const stdio: ('pipe' | 'ignore')[] = Array.from({ length: HIGH_FD + 1 }, (_, i) =>
    i === 0 ? 'ignore' : i <= 2 || i === HIGH_FD ? 'pipe' : 'ignore',
  );
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(SCRIPTS, 'start_process.ts'), ...args], {
    env: sb.env,
    cwd: ROOT,
    stdio,
  });
  const extra = (child.stdio as unknown as net.Socket[])[HIGH_FD]!;
  let eof = false;
  extra.on('end', () => (eof = true));
  extra.on('error', () => undefined);
  extra.resume();
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  await waitFor('start_process output', () => child.stdout!.readableEnded || child.stdout!.destroyed, 10_000);
  const m = /PID (\d+)/.exec(stdout);
  assert.is(code, 0, stderr);
  return { pid: Number(m![1]), eof: () => eof, close: () => extra.destroy(), stderr };
}
