// Heavier variants of tests/reliability.test.ts (issue 6): more processes at once, the load
// test read back through get_logs itself, the same under a PTY, and a repeated PTY race.
// Run with `make stress` (npm test leaves tests/stress out); minutes, and a few GB of disk.
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { test } from 'uvu';
import { waitFor } from '../helpers.ts';
import {
  FIXTURES,
  NumberedLines,
  exec,
  figure,
  forEachRecord,
  liveAs,
  recs,
  rows,
  rtest,
  sha256,
  startP,
  statusNow,
} from '../reliability-lib.ts';

rtest('stress: 100 start_process calls at once: 100 records, 100 live processes, all stopped', async (sb) => {
  const N = 100;
  const t0 = Date.now();
  const started = await Promise.all(
    Array.from({ length: N }, (_, i) => startP(sb, [...(i % 2 ? ['--no-pty'] : []), 'sleep', String(5000 + i)])),
  );
  const startMs = Date.now() - t0;
  assert.is(new Set(started.map((s) => s.id)).size, N);
  const all = recs(sb);
  assert.is(all.length, N);
  for (const r of all) assert.ok(liveAs(r.pid, r.startTicks), `${r.id} runs`);
  assert.equal(
    (await rows(sb)).filter((r) => r.status !== 'running').map((r) => `${r.id} ${r.status}`),
    [],
  );
  const t1 = Date.now();
  for (let b = 0; b < N; b += 20) {
    const out = await Promise.all(
      started.slice(b, b + 20).map((s) => exec(sb, 'stop_process.ts', [s.id], { timeoutMs: 180_000 })),
    );
    for (const o of out) assert.is(o.code, 0, o.stderr);
  }
  for (const r of all) assert.not.ok(liveAs(r.pid, r.startTicks), `${r.id} still runs after stop_process`);
  figure(
    `${N} start_process at once: all running after ${(startMs / 1000).toFixed(1)} s; ${N} stop_process in batches of 20: ${((Date.now() - t1) / 1000).toFixed(1)} s`,
  );
});

rtest('stress: numbered lines as fast as possible for 10 s, counted through get_logs -n 0 --raw itself', async (sb) => {
  const p = await startP(sb, [
    '--no-pty',
    '--max-log-size',
    '4G',
    'python3',
    path.join(FIXTURES, 'numbered-lines.py'),
    '10',
  ]);
  await waitFor('the printer to finish', () => statusNow(sb, p.id) === 'exited', 120_000, 250);
  const total = /^TOTAL (\d+) ([\d.]+)$/m.exec(
    (await exec(sb, 'get_logs.ts', [p.id, '--stream', 'stderr', '-n', '0'])).out,
  );
  assert.ok(total, 'the printer reported its count');
  const printed = Number(total![1]);
  const check = new NumberedLines();
  let bytes = 0;
  const r = await exec(sb, 'get_logs.ts', [p.id, '-n', '0', '--raw', '--stream', 'stdout'], {
    timeoutMs: 600_000,
    onStdout: (chunk) => {
      bytes += chunk.length;
      check.push(chunk);
    },
  });
  figure(
    `get_logs -n 0 --raw over ${printed.toLocaleString('en')} lines: exit ${r.code} after ${(r.ms / 1000).toFixed(1)} s, ${bytes} bytes out (${(bytes / 2 ** 20 / (r.ms / 1000)).toFixed(1)} MiB/s)${r.stderr.trim() ? `; stderr: ${r.stderr.trim().split('\n').slice(0, 3).join(' | ').slice(0, 300)}` : ''}`,
  );
  assert.is(r.code, 0, r.stderr.slice(0, 2000));
  assert.is(check.error, undefined, check.error);
  assert.is(check.count, printed, 'every line printed came out of get_logs');
});

rtest(
  'stress: a PTY child printing numbered lines as fast as it can for 10 s: the log holds every line, in order',
  async (sb) => {
    const totalFile = path.join(sb.dir, 'total');
    const p = await startP(sb, [
      '--max-log-size',
      '4G',
      'python3',
      path.join(FIXTURES, 'numbered-lines.py'),
      '10',
      '0',
      totalFile,
    ]);
    await waitFor('the printer to finish', () => statusNow(sb, p.id) === 'exited', 120_000, 250);
    const [, printed, seconds] = /^TOTAL (\d+) ([\d.]+)$/
      .exec(fs.readFileSync(totalFile, 'utf8').trim())!
      .map(Number) as [number, number, number];
    const check = new NumberedLines(true); // the terminal turns \n into \r\n
    const seen = forEachRecord(sb, p.id, (r) => {
      if (r.stream === 'stdout') check.push(r.data);
    });
    figure(
      `PTY load: ${printed.toLocaleString('en')} lines in ${seconds} s = ${Math.round(printed / seconds).toLocaleString('en')} lines/s; log ${(seen.bytes / 2 ** 20).toFixed(0)} MiB; counted ${check.count.toLocaleString('en')}${check.error ? ` (${check.error})` : ''}`,
    );
    assert.equal(seen.issues, []);
    assert.is(check.error, undefined, check.error);
    assert.is(check.count, printed);
  },
);

rtest('stress: a 16 MiB binary line through a PTY, 6 at once: --raw returns every byte each time', async (sb) => {
  const payload = randomBytes(16 << 20);
  for (let i = 0; i < payload.length; i++) if (payload[i] === 0x0a) payload[i] = 0x0b;
  const file = path.join(sb.dir, 'payload.bin');
  fs.writeFileSync(file, payload);
  const want = sha256(payload);
  const procs = await Promise.all(Array.from({ length: 6 }, () => startP(sb, ['cat', file])));
  await waitFor('all to end', () => procs.every((p) => statusNow(sb, p.id) === 'exited'), 60_000, 200);
  const got: number[] = [];
  for (const p of procs) {
    const r = await exec(sb, 'get_logs.ts', [p.id, '-n', '0', '--raw'], { timeoutMs: 120_000 });
    assert.is(r.code, 0, r.stderr);
    got.push(sha256(r.stdout) === want ? -1 : r.stdout.length);
  }
  figure(
    `16 MiB through a PTY, 6 at once: ${got.filter((g) => g === -1).length} of 6 complete; short ones: ${
      got
        .filter((g) => g >= 0)
        .map((g) => `${g} bytes (${payload.length - g} lost)`)
        .join(', ') || 'none'
    }`,
  );
  assert.equal(
    got.filter((g) => g >= 0),
    [],
    'some runs lost the end of the output',
  );
});

test.run();
