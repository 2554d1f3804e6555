// The data key in a supervisor's memory: one raw copy at most, never its base64 form (the
// config handoff used to leave three base64 copies, as JS strings that cannot be wiped), and
// no core dump that could carry it to disk (RLIMIT_CORE 0, whatever the caller allowed).
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { figure, records, skip, waitFor, withSandbox, PASSWORD, ROOT, SCRIPTS, type Sandbox } from './helpers.ts';
import { unlock } from '../skills/background-manager/scripts/lib/store/keys.ts';

/** start_process run with the soft core-file limit raised to the hard one (the caller allows cores). */
function startAllowingCores(
  sb: Sandbox,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(
    '/bin/sh',
    [
      '-c',
      'ulimit -S -c "$(ulimit -H -c)" && exec "$0" "$@"',
      process.execPath,
      '--import',
      'tsx',
      path.join(SCRIPTS, 'start_process.ts'),
      ...args,
    ],
    {
      env: sb.env,
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** Soft and hard "Max core file size" of a process, as /proc/<pid>/limits shows them. */
function coreLimits(pid: number): [string, string] {
  const m = /^Max core file size\s+(\S+)\s+(\S+)/m.exec(fs.readFileSync(`/proc/${pid}/limits`, 'latin1'));
  return [m![1]!, m![2]!];
}

/** How often each needle occurs in the writable memory (heap, stacks, anonymous maps) of `pid`. */
function countInMemory(pid: number, needles: Buffer[]): number[] {
  const counts = needles.map(() => 0);
  const longest = Math.max(...needles.map((n) => n.length));
  const fd = fs.openSync(`/proc/${pid}/mem`, 'r');
  try {
    for (const line of fs.readFileSync(`/proc/${pid}/maps`, 'latin1').split('\n')) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) rw/.exec(line);
      if (!m) continue;
      const start = parseInt(m[1]!, 16);
      const end = parseInt(m[2]!, 16);
      const CHUNK = 1 << 20;
      for (let at = start; at < end; at += CHUNK) {
        // Each chunk overlaps the next by a needle's length, and counts only matches starting in it.
        const buf = Buffer.alloc(Math.min(CHUNK + longest, end - at));
        let n: number;
        try {
          n = fs.readSync(fd, buf, 0, buf.length, at);
        } catch {
          break; // a guard page or a mapping gone meanwhile
        }
        const seen = buf.subarray(0, n);
        needles.forEach((needle, i) => {
          for (let ix = seen.indexOf(needle); ix >= 0 && ix < CHUNK; ix = seen.indexOf(needle, ix + 1)) counts[i]!++;
        });
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return counts;
}

withSandbox(
  'the supervisor runs with a core-file size limit of 0 even when its caller allows core dumps',
  async (sb) => {
    const r = await startAllowingCores(sb, ['--no-pty', 'sleep', '300']);
    assert.is(r.code, 0, r.stderr);
    const rec = records(sb)[0]!;
    const hard = coreLimits(process.pid)[1];
    assert.equal(
      coreLimits(rec.supervisorPid!),
      ['0', hard],
      'soft 0; the hard limit as it was, so the command may raise its own',
    );
    assert.equal(coreLimits(rec.pid), ['0', hard], 'the command inherits the soft limit');
  },
);

withSandbox("the supervisor's memory holds no base64 form of the data key and at most one raw copy", async (sb) => {
  for (const mode of [['--no-pty'], []]) {
    const r = await startAllowingCores(sb, [...mode, 'sleep', '300']);
    assert.is(r.code, 0, r.stderr);
  }
  const key = unlock(sb.env.BG_DATA_DIR!, PASSWORD, { create: false })!.dataKey;
  const needles = [Buffer.from(key.toString('base64')), key, Buffer.from(key.toString('hex'))];
  for (const rec of records(sb)) {
    const sup = rec.supervisorPid!;
    // Up and serving (its socket is in the state): the handoff is over. A path socket is
    // listed under the path it was bound by (/proc/self/fd/N/<name>): look for its name.
    await waitFor(
      'the supervisor to serve',
      () => fs.readFileSync(`/proc/${sup}/net/unix`, 'latin1').includes(path.basename(rec.socket!)),
      10_000,
    );
    let counts: number[];
    try {
      counts = countInMemory(sup, needles);
    } catch (err) {
      // Reading another process's memory needs ptrace rights (same user and no Yama restriction, or root).
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM')
        return skip(`the memory check: /proc/${sup}/mem is not readable here (${code})`);
      throw err;
    }
    const [b64, raw, hex] = counts as [number, number, number];
    figure(
      `supervisor ${sup} (${rec.pty ? 'pty' : 'pipes'}): data key copies in memory: base64 ${b64}, raw ${raw}, hex ${hex}`,
    );
    assert.is(b64, 0, 'no base64 copy');
    assert.is(hex, 0, 'no hex copy');
    assert.ok(raw <= 1, `${raw} raw copies`);
  }
});

test.run();
