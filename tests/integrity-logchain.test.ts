// Issue 11, items 7 and 8: every byte shown passed its MAC, and no cut is silent. A log's
// segments are chained (each bound to its process, its name and the previous segment's end;
// the newest says what the size cap dropped), the end of an ended process is in the state,
// and only a process imported from the Python skill may have an unauthenticated legacy log.
// Real processes and real encrypted logs, tampered with the way a local attacker would.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { withSandbox, records, waitFor, PASSWORD, type Sandbox, viaFastPath } from './helpers.ts';
import { listSegments, logFileOf, LogSetReader } from '../skills/background-manager/scripts/lib/log/format/logset.ts';
import { LogReader, LogWriter } from '../skills/background-manager/scripts/lib/log/format/logfile.ts';
import { subKeys } from '../skills/background-manager/scripts/lib/store/crypto.ts';
import { unlock } from '../skills/background-manager/scripts/lib/store/keys.ts';
import { randomBytes } from 'node:crypto';

// Every script through the fast path (node dist/<x>.mjs, the same sources bundled), as
// logs.test.ts: a third of tsx's CPU per call; none of these assertions is about the form.
const { listJson, run, start } = viaFastPath;

const logs = (sb: Sandbox, id: string, args: string[] = []) => run(sb, 'get_logs.ts', [id, ...args]);

/**
 * A process that prints `n` numbered lines ("line 000001" ...) and exits; waits for its
 * recorded end. Above 1000 lines they come in pieces of 1000 (12 KB) 20 ms apart, so that
 * they make many records and the 1 MiB cap's 128 KiB segments whatever the machine's speed.
 */
async function printed(sb: Sandbox, n: number, cap = '1M'): Promise<{ id: string; active: string }> {
  const script =
    n <= 1000
      ? `seq -f 'line %06g' 1 ${n}`
      : `i=0; while [ $i -lt ${n / 1000} ]; do seq -f 'line %06g' $((i*1000+1)) $((i*1000+1000)); i=$((i+1)); sleep 0.02; done`;
  const { id } = await start(sb, ['--no-pty', '--max-log-size', cap, 'sh', '-c', script]);
  await waitFor(
    'the process to end',
    async () => (await listJson(sb)).find((p) => p.id === id)?.status === 'exited',
    60_000,
    100,
  );
  return { id, active: logFileOf(sb.env.BG_DATA_DIR!, records(sb).find((r) => r.id === id)!) };
}

const archived = (active: string) => listSegments(active).filter((s) => s.firstSeq !== undefined);

/** The numbers of the "line N" lines printed, in order. */
const numbers = (out: string) =>
  out
    .split('\n')
    .filter(Boolean)
    .map((l) => Number(/^line (\d+)$/.exec(l)?.[1]));

function expectGap(r: { code: number | null; stderr: string }, what: string): void {
  assert.is(r.code, 6, `${what}: exit code (stderr: ${r.stderr})`);
  assert.match(r.stderr, /records #\d+\.\.#\d+ (are|were) missing/, `${what}: the span is named`);
}

withSandbox(
  'log chain: an untampered capped log reads whole from its oldest kept line, with the cap note, exit 0',
  async (sb) => {
    const { id, active } = await printed(sb, 150_000);
    assert.ok(archived(active).length >= 3, 'several archived segments');
    const r = await logs(sb, id, ['-n', '0']);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, /of the oldest output \(\d+ records\) was dropped to keep the log under its 1\.0 MiB cap/);
    assert.not.match(r.stderr, /warning/);
    // The oldest kept record may begin mid-line: that piece of a line is not a number.
    const nums = numbers(r.stdout).filter((v, i) => i > 0 || Number.isFinite(v));
    assert.ok(nums[0]! > 1, `the oldest lines were dropped by the cap (${r.stdout.slice(0, 40)})`);
    assert.is(nums[nums.length - 1], 150_000);
    assert.ok(
      nums.every((v, i) => i === 0 || v === nums[i - 1]! + 1),
      'no line missing between the first kept and the last',
    );
    const tail = await logs(sb, id, ['-n', '3']);
    assert.equal([tail.code, tail.stdout], [0, 'line 149998\nline 149999\nline 150000\n']);
  },
);

withSandbox("log chain: reads racing the writer's rotations and drops report nothing (no false damage)", async (sb) => {
  const script = `i=0; while [ $i -lt 300 ]; do seq -f 'line %06g' $((i*1000+1)) $((i*1000+1000)); i=$((i+1)); sleep 0.01; done`;
  const { id } = await start(sb, ['--no-pty', '--max-log-size', '1M', 'sh', '-c', script]);
  const follower = run(sb, 'get_logs.ts', [id, '-f', '-n', '0', '--grep', 'line 2999']);
  let reads = 0;
  while ((await listJson(sb)).find((p) => p.id === id)?.status === 'running') {
    const r = await logs(sb, id, ['-n', '0', '--grep', 'nothing matches this']);
    assert.is(r.code, 0, r.stderr);
    assert.not.match(r.stderr, /warning/, r.stderr);
    const t = await logs(sb, id, ['-n', '1000']);
    assert.not.match(t.stderr, /warning/, t.stderr);
    reads++;
  }
  const f = await follower;
  assert.equal([f.code, f.stderr.replace(/^get_logs: note: .*\n/gm, '')], [0, ''], f.stderr);
  assert.match(f.stdout, /line 299999\n/);
  assert.ok(reads > 0, 'read while it ran');
});

withSandbox(
  'log chain: deleting a middle archived segment is reported as damage (exit 6, the span named)',
  async (sb) => {
    const { id, active } = await printed(sb, 50_000);
    const segs = archived(active);
    assert.ok(segs.length >= 3, `${segs.length} archived segments`);
    fs.rmSync(segs[1]!.file);
    expectGap(await logs(sb, id, ['-n', '0']), 'forward read');
    expectGap(await logs(sb, id, ['-n', '100000']), 'tail read through the gap');
  },
);

withSandbox('log chain: deleting the oldest segment the cap kept is damage, not the cap note', async (sb) => {
  const { id, active } = await printed(sb, 150_000);
  assert.ok((records(sb).find((r) => r.id === id)!.logDropped?.records ?? 0) > 0, 'the cap dropped some');
  fs.rmSync(archived(active)[0]!.file);
  expectGap(await logs(sb, id, ['-n', '0']), 'forward read');
});

withSandbox("log chain: swapping two archived segments' names is reported as damage", async (sb) => {
  const { id, active } = await printed(sb, 50_000);
  const [a, b] = archived(active);
  const tmp = `${a!.file}.swap`;
  fs.renameSync(a!.file, tmp);
  fs.renameSync(b!.file, a!.file);
  fs.renameSync(tmp, b!.file);
  const r = await logs(sb, id, ['-n', '0']);
  assert.is(r.code, 6, r.stderr);
  assert.match(r.stderr, /is named for record #\d+ but starts at #\d+/);
  const nums = numbers(r.stdout);
  assert.ok(
    nums.every((v, i) => i === 0 || v > nums[i - 1]!),
    'nothing shown out of order',
  );
});

withSandbox('log chain: deleting the active segment of an ended process is reported as damage', async (sb) => {
  const { id, active } = await printed(sb, 50_000);
  assert.ok(archived(active).length >= 1);
  fs.rmSync(active);
  expectGap(await logs(sb, id, ['-n', '0']), 'forward read');
  expectGap(await logs(sb, id, ['-n', '5']), 'tail read');
  // A log with one segment: deleting it leaves nothing, and that is said too.
  const small = await printed(sb, 3);
  fs.rmSync(small.active);
  expectGap(await logs(sb, small.id, ['-n', '0']), 'the only segment deleted');
});

withSandbox('log chain: the active segment deleted while the process runs is reported once it ended', async (sb) => {
  const { id } = await start(sb, ['--no-pty', 'sh', '-c', 'echo before; read x; echo "after $x"']);
  await waitFor('the first line', async () => (await logs(sb, id)).stdout.includes('before'), 30_000, 100);
  const active = logFileOf(sb.env.BG_DATA_DIR!, records(sb).find((r) => r.id === id)!);
  fs.rmSync(active); // the supervisor writes on into the deleted file
  assert.is((await run(sb, 'send_input.ts', [id, 'go'])).code, 0);
  await waitFor(
    'the process to end',
    async () => (await listJson(sb)).find((p) => p.id === id)?.status === 'exited',
    60_000,
    100,
  );
  expectGap(await logs(sb, id, ['-n', '0']), 'forward read');
  expectGap(await logs(sb, id), 'tail read');
});

withSandbox("log chain: truncating an ended process's log at a record boundary is reported as damage", async (sb) => {
  const { id, active } = await printed(sb, 3);
  const u = records(sb).find((r) => r.id === id)!;
  // Cut off the last record (the "exited" event), exactly at its start.
  const keys = keysOf(sb);
  const r0 = LogReader.open(active, keys, u.id);
  const recs = r0.readForward().records;
  r0.close();
  assert.ok(recs.length >= 2, `${recs.length} records`);
  fs.truncateSync(active, recs[recs.length - 1]!.offset);
  expectGap(await logs(sb, id, ['-n', '0']), 'forward read');
  expectGap(await logs(sb, id, ['-n', '0', '--stream', 'all']), 'forward read of all streams');
  expectGap(await logs(sb, id), 'tail read');
});

withSandbox(
  "log chain: a torn record at the end of an ended process's log is reported by forward reads as by tail reads",
  async (sb) => {
    const { id, active } = await printed(sb, 3);
    // The start of a record that never got written whole (a crash mid-write): the first 50
    // bytes of a real one.
    const bytes = fs.readFileSync(active);
    const r0 = LogReader.open(active, keysOf(sb), id);
    const last = r0.readForward().records.pop()!;
    r0.close();
    fs.appendFileSync(active, bytes.subarray(last.offset, last.offset + 50));
    const tail = await logs(sb, id);
    assert.is(tail.code, 0, tail.stderr);
    assert.match(tail.stderr, /incomplete/, 'the tail read reports it (before and after the fix)');
    for (const args of [['-n', '0'], ['--new'], ['-f'], ['-n', '0', '--raw']]) {
      const r = await logs(sb, id, args);
      assert.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /line 000003/, `${args.join(' ')} shows the lines`);
      assert.match(
        r.stderr,
        /warning: .*the last record at byte \d+ is incomplete/,
        `${args.join(' ')} reports the torn record`,
      );
    }
  },
);

/** The data dir's file keys, unwrapped the way the scripts do. */
function keysOf(sb: Sandbox) {
  return unlock(sb.env.BG_DATA_DIR!, PASSWORD, { create: false })!.keys;
}

// Logs written before the chain (the v1 header, no record of the end) still read as before.
test('log chain: segments in the format before the chain still read, across segments, without warnings', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bgm-chain-'));
  try {
    const keys = subKeys(randomBytes(32));
    const active = path.join(dir, 'p1.log.enc');
    let seq = 0;
    for (const base of [0, 10, 20]) {
      const name = base === 20 ? active : `${active}.${String(base).padStart(12, '0')}`;
      const w = LogWriter.create(name, keys, 'p1', base);
      for (let i = 0; i < 10; i++) w.append('stdout', Buffer.from(`r${seq++}\n`));
      w.close();
    }
    const reader = new LogSetReader(active, keys, 'p1');
    const got: number[] = [];
    reader.forward(undefined, (rec) => void got.push(rec.seq));
    assert.equal(
      got,
      Array.from({ length: 30 }, (_, i) => i),
    );
    assert.equal(reader.issues, []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// The chain could be stripped by putting a segment in the old format in place of a new one: a
// process recorded as chained (logVersion 2) refuses v1 segments.
test('log chain: for a process recorded as chained, a segment in the format before the chain is refused', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bgm-chain-'));
  try {
    const keys = subKeys(randomBytes(32));
    const active = path.join(dir, 'p1.log.enc');
    const w = LogWriter.create(active, keys, 'p1', 0); // v1: no keptFrom
    w.append('stdout', Buffer.from('old format\n'));
    w.close();
    const chained = new LogSetReader(active, keys, 'p1', { chained: true });
    const got: string[] = [];
    chained.forward(undefined, (rec) => void got.push(rec.data.toString()));
    assert.equal(got, [], 'nothing of it shown');
    assert.ok(
      chained.issues.some((i) => i.kind === 'damaged' && /format before chaining/.test(i.message)),
      JSON.stringify(chained.issues),
    );
    const before = new LogSetReader(active, keys, 'p1'); // a process from before the chain
    before.forward(undefined, (rec) => void got.push(rec.data.toString()));
    assert.equal([got, before.issues], [['old format\n'], []]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('log chain: a folder or a FIFO in place of a segment is reported as damage, not a crash or a hang', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bgm-chain-'));
  try {
    const keys = subKeys(randomBytes(32));
    const active = path.join(dir, 'p1.log.enc');
    const w = LogWriter.create(active, keys, 'p1', 10, 0);
    w.append('stdout', Buffer.from('kept\n'));
    w.close();
    fs.mkdirSync(`${active}.000000000000`);
    execFileSync('mkfifo', [`${active}.000000000005`]);
    const reader = new LogSetReader(active, keys, 'p1');
    const got: string[] = [];
    reader.forward(undefined, (rec) => void got.push(rec.data.toString()));
    assert.equal(got, ['kept\n']);
    const msgs = reader.issues.map((i) => i.message).join('\n');
    assert.match(msgs, /000000000000 is not a regular file/);
    assert.match(msgs, /000000000005 is not a regular file/);
    assert.match(msgs, /records #0\.\.#9 are missing/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
