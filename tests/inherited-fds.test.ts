// A caller's extra file descriptors (a CI runner's pipe, Python's pass_fds) must not outlive
// start_process: the supervisor and the command used to keep them, so the caller never saw EOF.
// Node marks fds 0-15 (and on up to the first gap) close-on-exec at startup, so a low fd never
// got through; a high one (after a gap, as CI runners use) reached the supervisor and the command.
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import type net from 'node:net';
import { alive, records, waitFor, withSandbox, ROOT, SCRIPTS, type Sandbox } from './helpers.ts';

const HIGH_FD = 200;

/** What `pid` holds open: fd number -> link target. */
function fdsOf(pid: number): Map<number, string> {
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
async function startHoldingPipe(sb: Sandbox, args: string[]) {
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

for (const pty of [false, true]) {
  withSandbox(
    `an fd the caller passed to start_process${pty ? '' : ' --no-pty'} reaches EOF once it returns, while the command runs on`,
    async (sb) => {
      const s = await startHoldingPipe(sb, [...(pty ? [] : ['--no-pty']), 'sleep', '300']);
      try {
        const sup = records(sb)[0]!.supervisorPid!;
        const holders = () =>
          [sup, s.pid]
            .filter((p) => [...fdsOf(p).keys()].includes(HIGH_FD))
            .map((p) => (p === sup ? `supervisor ${p}` : `command ${p}`));
        // Every holder closed it before start_process returned; the event may take a moment to arrive here.
        await waitFor('EOF on the passed fd', () => s.eof(), 10_000).catch((err: Error) => {
          throw new Error(`${err.message}; held by ${holders().join(', ')}`);
        });
        assert.ok(alive(s.pid), 'the command runs on');
        assert.equal(
          [...fdsOf(s.pid).keys()].sort((a, b) => a - b),
          [0, 1, 2],
          `the command holds only its stdio: ${[...fdsOf(s.pid)].join('; ')}`,
        );
        assert.not.ok(fdsOf(sup).has(HIGH_FD), 'the supervisor let it go');
      } finally {
        s.close();
      }
    },
  );
}

test.run();
