// Storage layer tests: key hierarchy, state store, log format, the Python skill's files.
// Every test works in its own fresh temp dir and removes it; nothing sleeps.
// Run: npx uvu -r tsx tests storage
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { subKeys, type SubKeys } from '../skills/background-manager/scripts/lib/store/crypto.ts';
import { BgError } from '../skills/background-manager/scripts/lib/errors.ts';
import { ensureDir } from '../skills/background-manager/scripts/lib/store/fsutil.ts';
import { KEY_FILE, passwordFromEnv, rewrapKey, unlock } from '../skills/background-manager/scripts/lib/store/keys.ts';
import { decryptOpenssl } from '../skills/background-manager/scripts/lib/store/legacy.ts';
import {
  HEADER_BYTES,
  LogReader,
  LogWriter,
  MAX_RECORD_DATA,
  REC_HEAD_BYTES,
  STREAMS,
  type LogIssue,
  type LogRecord,
  type StreamName,
} from '../skills/background-manager/scripts/lib/log/format/logfile.ts';
import {
  LEGACY_BACKUP_SUFFIX,
  STATE_FILE,
  StateStore,
  type ProcessRecord,
} from '../skills/background-manager/scripts/lib/store/state.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURE = path.join(ROOT, 'tests', 'fixtures', 'state-updater.ts');

// ---------------------------------------------------------------------------------------
// helpers

async function withDir<T>(fn: (dir: string) => T | Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bg-storage-test-'));
  try {
    return await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// Fast keys for tests that do not exercise key.json (no PBKDF2).
function fakeKeys(): SubKeys {
  return subKeys(randomBytes(32));
}

// relative path -> sha256 of the content ('dir' for folders): a snapshot of a whole tree.
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const ent of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, ent.name);
      const rel = path.relative(dir, full);
      if (ent.isDirectory()) {
        out.set(rel, 'dir');
        walk(full);
      } else {
        out.set(rel, createHash('sha256').update(fs.readFileSync(full)).digest('hex'));
      }
    }
  };
  walk(dir);
  return out;
}

function sameSnapshot(a: Map<string, string>, b: Map<string, string>, what: string): void {
  assert.equal([...b.entries()].sort(), [...a.entries()].sort(), `${what}: the data dir changed`);
}

function allFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const ent of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, ent.name);
      if (ent.isDirectory()) walk(full);
      else out.push(full);
    }
  };
  walk(dir);
  return out;
}

function fail(message: string): never {
  assert.unreachable(message);
  throw new Error(message); // not reached: unreachable() throws
}

function checkBgError(err: unknown, code: string, what: string): BgError {
  if (!(err instanceof BgError)) fail(`${what}: expected BgError ${code}, got ${String(err)}`);
  assert.is(err.code, code, `${what}: expected code ${code}, got ${err.code}: ${err.message}`);
  return err;
}

function expectBgError(fn: () => unknown, code: string, what: string): BgError {
  try {
    fn();
  } catch (err) {
    return checkBgError(err, code, what);
  }
  fail(`${what}: expected BgError ${code}, nothing was thrown`);
}

async function expectBgErrorAsync(fn: () => Promise<unknown>, code: string, what: string): Promise<BgError> {
  try {
    await fn();
  } catch (err) {
    return checkBgError(err, code, what);
  }
  fail(`${what}: expected BgError ${code}, nothing was thrown`);
}

function proc(id: string, command: string, extra: Partial<ProcessRecord> = {}): ProcessRecord {
  return {
    id,
    command,
    argv: ['sh', '-c', command],
    cwd: '/tmp',
    pty: false,
    pid: 4242,
    startedAt: '2024-01-02T03:04:05.000Z',
    logFile: `logs/${id}.log.enc`,
    ...extra,
  };
}

interface Item {
  stream: StreamName;
  data: Buffer;
  time: number;
}

const T0 = 1_700_000_000_000;

// Five records of different streams and sizes; the middle one (index 2) is 100 bytes.
const SAMPLE: Item[] = [
  { stream: 'stdout', data: Buffer.from('first line\n'), time: T0 },
  { stream: 'stderr', data: Buffer.from('warning: something odd\n'), time: T0 + 1 },
  { stream: 'stdout', data: Buffer.from(`${'0123456789'.repeat(9)}abcdefghi\n`), time: T0 + 2 },
  { stream: 'input', data: Buffer.from('yes\n'), time: T0 + 3 },
  { stream: 'event', data: Buffer.from('{"event":"exit","code":0}'), time: T0 + 4 },
];

// Write items to a new log; returns the file's bytes and each record's [offset, end).
function writeLog(
  file: string,
  keys: SubKeys,
  items: Item[],
  procId = 'p1',
): { bytes: Buffer; spans: [number, number][] } {
  const w = LogWriter.create(file, keys, procId);
  const spans: [number, number][] = [];
  for (const it of items) {
    const before = fs.statSync(file).size;
    w.append(it.stream, it.data, it.time);
    spans.push([before, fs.statSync(file).size]);
  }
  w.close();
  return { bytes: fs.readFileSync(file), spans };
}

function readBoth(
  file: string,
  keys: SubKeys,
): {
  fwd: { records: LogRecord[]; issues: LogIssue[] };
  bwd: { records: LogRecord[]; issues: LogIssue[] };
} {
  const r = LogReader.open(file, keys, 'p1');
  try {
    const f = r.readForward();
    const back: LogRecord[] = [];
    const b = r.readBackward((rec) => {
      back.push(rec);
      return true;
    });
    return { fwd: { records: f.records, issues: f.issues }, bwd: { records: back.reverse(), issues: b.issues } };
  } finally {
    r.close();
  }
}

// The records read are exactly items[idx] for each idx (seq = idx), in order.
function checkRecords(got: LogRecord[], items: Item[], idx: number[], what: string): void {
  assert.equal(
    got.map((r) => r.seq),
    idx,
    `${what}: seqs`,
  );
  got.forEach((r, i) => {
    const it = items[idx[i]!]!;
    assert.is(r.stream, it.stream, `${what}: stream of #${r.seq}`);
    assert.is(r.time, it.time, `${what}: time of #${r.seq}`);
    assert.ok(r.data.equals(it.data), `${what}: data of #${r.seq}`);
  });
}

function describeIssues(issues: LogIssue[]): string {
  return JSON.stringify(issues.map((i) => [i.kind, i.offset]));
}

function openssl(args: string[], input: Buffer): Buffer {
  return execFileSync('openssl', args, { input, maxBuffer: 64 << 20 });
}

// The last n lines of a log's stdout/stderr, reading backward only as far as needed.
function lastLines(reader: LogReader, n: number): string[] {
  const chunks: Buffer[] = [];
  let newlines = 0;
  reader.readBackward((rec) => {
    if (rec.stream !== 'stdout' && rec.stream !== 'stderr') return true;
    chunks.unshift(rec.data);
    for (let i = rec.data.indexOf(10); i >= 0; i = rec.data.indexOf(10, i + 1)) newlines++;
    return newlines <= n;
  });
  const lines = Buffer.concat(chunks).toString('utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.slice(-n);
}

// ---------------------------------------------------------------------------------------
// round trips

test('round trip: state written with update() reads back', async () => {
  await withDir(async (dir) => {
    const dataDir = path.join(dir, 'data');
    const keys = fakeKeys();
    const store = new StateStore({ dataDir, keys });
    assert.equal(store.read(), { version: 1, processes: [] }, 'absent file is an empty list');
    assert.is(fs.existsSync(store.file), false, 'read() never writes');

    const a = proc('a1b2c3d4', 'npm run dev', { exitCode: null, supervisorPid: 99, socket: '\0bg-a1b2' });
    const b = proc('e5f6a7b8', 'python3 -c \'print("héllo ✓")\'', { pty: true, cwd: '/home/u/projekt ü' });
    const ret = await store.update((doc) => {
      doc.processes.push(a);
      return 'done';
    });
    assert.is(ret, 'done', 'update returns fn’s value');
    await store.update(async (doc) => {
      doc.processes.push(b);
    });
    await store.update((doc) => {
      doc.processes[0]!.endedAt = '2024-01-02T03:05:00.000Z';
      doc.processes[0]!.exitCode = 0;
    });

    const expected = {
      version: 1,
      generation: 3,
      processes: [{ ...a, endedAt: '2024-01-02T03:05:00.000Z', exitCode: 0 }, b],
    };
    assert.equal(store.read(), expected);
    assert.equal(new StateStore({ dataDir, keys }).read(), expected, 'a fresh store reads the same');
    assert.ok(fs.readFileSync(store.file).subarray(0, 8).equals(Buffer.from('BGSTATE1')), 'magic');
    assert.equal(fs.readdirSync(dataDir).sort(), [STATE_FILE], 'no temp files or lock left behind');
  });
});

test('round trip: log records forward and backward (data, stream, seq, time)', async () => {
  await withDir((dir) => {
    const keys = fakeKeys();
    const file = path.join(dir, 'p1.log.enc');
    const items: Item[] = [
      ...SAMPLE,
      { stream: 'stdout', data: Buffer.alloc(0), time: T0 + 10 }, // empty record
      { stream: 'stderr', data: Buffer.from('x'.repeat(16)), time: T0 + 11 }, // exactly one block
      { stream: 'stdout', data: randomBytes(5000), time: T0 + 12 }, // binary
      { stream: 'input', data: Buffer.from('ünïcødé ✓\n'), time: T0 + 13 },
    ];
    const w = LogWriter.create(file, keys, 'p1');
    // A reader opened while the writer is still open sees each record as soon as it is written.
    const live = LogReader.open(file, keys, 'p1');
    let next = HEADER_BYTES;
    let nextSeq = 0;
    items.forEach((it, i) => {
      w.append(it.stream, it.data, it.time);
      const r = live.readForward({ offset: next, expectSeq: nextSeq });
      assert.is(r.issues.length, 0, `live read after #${i}: ${describeIssues(r.issues)}`);
      checkRecords(r.records, items, [i], `live read after #${i}`);
      next = r.next;
      nextSeq = r.nextSeq;
    });
    live.close();
    assert.is(w.nextSeq, items.length);
    w.close();

    const all = items.map((_, i) => i);
    const { fwd, bwd } = readBoth(file, keys);
    assert.is(fwd.issues.length, 0, describeIssues(fwd.issues));
    assert.is(bwd.issues.length, 0, describeIssues(bwd.issues));
    checkRecords(fwd.records, items, all, 'forward');
    checkRecords(bwd.records, items, all, 'backward');
    assert.equal(
      bwd.records.map((r) => [r.offset, r.end]),
      fwd.records.map((r) => [r.offset, r.end]),
      'offsets agree',
    );

    // Forward from a record boundary in the middle, and a backward walk that stops early.
    const r = LogReader.open(file, keys);
    assert.is(r.header.procId, 'p1');
    assert.is(r.header.baseSeq, 0);
    const mid = fwd.records[4]!;
    checkRecords(
      r.readForward({ offset: mid.offset, expectSeq: 4 }).records,
      items,
      all.slice(4),
      'forward from offset',
    );
    const seen: number[] = [];
    r.readBackward((rec) => {
      seen.push(rec.seq);
      return seen.length < 3;
    });
    assert.equal(seen, [8, 7, 6], 'backward stops when visit returns false');
    r.close();

    // A wrong process ID is refused.
    expectBgError(() => LogReader.open(file, keys, 'other'), 'DAMAGED', 'log opened for another process');
  });
});

test('round trip: a chunk larger than one record is split and read back whole', async () => {
  await withDir((dir) => {
    const keys = fakeKeys();
    const file = path.join(dir, 'big.log.enc');
    const big = randomBytes(MAX_RECORD_DATA * 2 + 123);
    const w = LogWriter.create(file, keys, 'p1', 7);
    w.append('stdout', big, T0);
    w.append('event', Buffer.from('end'), T0 + 1);
    w.close();
    const r = LogReader.open(file, keys, 'p1');
    const f = r.readForward();
    r.close();
    assert.is(f.issues.length, 0, describeIssues(f.issues));
    assert.equal(
      f.records.map((x) => x.seq),
      [7, 8, 9, 10],
    );
    assert.ok(Buffer.concat(f.records.slice(0, 3).map((x) => x.data)).equals(big));
    assert.is(f.records[3]!.data.toString(), 'end');
  });
});

// ---------------------------------------------------------------------------------------
// the Python skill's files

const LEGACY_PW = 'correct horse battery staple';

function legacyStateJson(): string {
  return JSON.stringify({
    a1b2c3d4: {
      id: 'a1b2c3d4',
      pid: 31337,
      command: 'npm run dev',
      start_time: 1700000000.25,
      status: 'running',
      log_file: '/home/u/.claude/skills/background-manager/data/logs/a1b2c3d4.log.enc',
      input_file: '/home/u/.claude/skills/background-manager/data/a1b2c3d4.input',
      cwd: '/home/u/app',
    },
    e5f6a7b8: {
      id: 'e5f6a7b8',
      pid: 4242,
      command: 'python3 server.py --port 8000',
      start_time: 1700000100,
      status: 'stopped',
      log_file: '/home/u/.claude/skills/background-manager/data/logs/e5f6a7b8.log.enc',
      input_file: '/home/u/.claude/skills/background-manager/data/e5f6a7b8.input',
      cwd: '/srv',
    },
  });
}

const LEGACY_EXPECTED: ProcessRecord[] = [
  {
    id: 'a1b2c3d4',
    command: 'npm run dev',
    argv: ['sh', '-c', 'npm run dev'],
    cwd: '/home/u/app',
    pty: true,
    pid: 31337,
    startedAt: new Date(1700000000250).toISOString(),
    logFile: path.join('logs', 'a1b2c3d4.log.enc'),
    legacy: { status: 'running', inputFile: '/home/u/.claude/skills/background-manager/data/a1b2c3d4.input' },
  },
  {
    id: 'e5f6a7b8',
    command: 'python3 server.py --port 8000',
    argv: ['sh', '-c', 'python3 server.py --port 8000'],
    cwd: '/srv',
    pty: true,
    pid: 4242,
    startedAt: new Date(1700000100000).toISOString(),
    logFile: path.join('logs', 'e5f6a7b8.log.enc'),
    legacy: { status: 'stopped', inputFile: '/home/u/.claude/skills/background-manager/data/e5f6a7b8.input' },
  },
];

test('legacy: the Python state file is read, converted on update, original kept byte-identical', async () => {
  await withDir(async (dataDir) => {
    const file = path.join(dataDir, STATE_FILE);
    const original = openssl(
      ['enc', '-aes-256-cbc', '-pbkdf2', '-pass', `pass:${LEGACY_PW}`],
      Buffer.from(legacyStateJson()),
    );
    assert.ok(original.subarray(0, 8).equals(Buffer.from('Salted__')), 'openssl wrote a salted file');
    fs.writeFileSync(file, original, { mode: 0o600 });

    const keys = fakeKeys();
    const store = new StateStore({ dataDir, keys, password: LEGACY_PW });
    assert.equal(store.read(), { version: 1, processes: LEGACY_EXPECTED });
    assert.ok(fs.readFileSync(file).equals(original), 'read() does not convert');
    assert.is(fs.existsSync(file + LEGACY_BACKUP_SUFFIX), false, 'read() makes no backup');
    expectBgError(() => new StateStore({ dataDir, keys }).read(), 'NO_PASSWORD', 'legacy file without a password');

    await store.update((doc) => {
      doc.processes.push(proc('newone01', 'sleep 1'));
    });
    const converted = fs.readFileSync(file);
    assert.ok(converted.subarray(0, 8).equals(Buffer.from('BGSTATE1')), 'now in our format');
    assert.ok(fs.readFileSync(file + LEGACY_BACKUP_SUFFIX).equals(original), 'backup is byte-identical');
    const want = { version: 1, generation: 1, processes: [...LEGACY_EXPECTED, proc('newone01', 'sleep 1')] };
    assert.equal(new StateStore({ dataDir, keys }).read(), want, 'readable with the key alone');

    // A second update leaves the backup alone.
    await store.update((doc) => {
      doc.processes.pop();
    });
    assert.ok(fs.readFileSync(file + LEGACY_BACKUP_SUFFIX).equals(original), 'backup still byte-identical');
    assert.equal(store.read(), { version: 1, generation: 2, processes: LEGACY_EXPECTED });
    assert.equal(fs.readdirSync(dataDir).sort(), [STATE_FILE, STATE_FILE + LEGACY_BACKUP_SUFFIX]);
  });
});

test('legacy: a Python log decrypts with decryptOpenssl', async () => {
  await withDir((dir) => {
    const lines = `${Array.from({ length: 300 }, (_, i) => `[${i}] GET /api/items?page=${i} 200 ${i * 7} ms — ok`).join('\n')}\n`;
    const plain = Buffer.from(lines);
    const enc = openssl(['enc', '-aes-256-cbc', '-pbkdf2', '-pass', `pass:${LEGACY_PW}`], plain);
    fs.writeFileSync(path.join(dir, 'x.log.enc'), enc);
    const out = decryptOpenssl(fs.readFileSync(path.join(dir, 'x.log.enc')), LEGACY_PW);
    assert.ok(out, 'decrypted');
    assert.is(out!.complete, true);
    assert.ok(out!.data.equals(plain), 'same plaintext');

    // Empty input: openssl writes one block of padding.
    const empty = decryptOpenssl(
      openssl(['enc', '-aes-256-cbc', '-pbkdf2', '-pass', `pass:${LEGACY_PW}`], Buffer.alloc(0)),
      LEGACY_PW,
    );
    assert.equal([empty?.complete, empty?.data.length], [true, 0]);
    assert.is(decryptOpenssl(Buffer.from('not an openssl file at all'), LEGACY_PW), undefined);
  });
});

test('legacy: a Python log cut mid-stream gives its whole-block prefix', async () => {
  await withDir((dir) => {
    const plain = Buffer.from(
      `${Array.from({ length: 200 }, (_, i) => `line ${i}: building module ${i % 13}`).join('\n')}\n`,
    );
    const enc = openssl(['enc', '-aes-256-cbc', '-pbkdf2', '-pass', `pass:${LEGACY_PW}`], plain);
    const body = enc.length - 16;
    assert.is(body % 16, 0);
    const file = path.join(dir, 'cut.log.enc');
    // Cuts: not on a block boundary, on a block boundary, one byte short of the end, a lone
    // salt header, and half a block.
    for (const cut of [16 + 16 * 37 + 7, 16 + 16 * 37, enc.length - 1, enc.length - 16, 16, 16 + 9]) {
      fs.writeFileSync(file, enc.subarray(0, cut));
      const out = decryptOpenssl(fs.readFileSync(file), LEGACY_PW);
      const whole = Math.floor((cut - 16) / 16) * 16;
      assert.ok(out, `cut ${cut}: decrypted`);
      assert.is(out!.complete, false, `cut ${cut}: marked incomplete`);
      assert.is(out!.data.length, whole, `cut ${cut}: whole blocks only`);
      assert.ok(out!.data.equals(plain.subarray(0, whole)), `cut ${cut}: the plaintext prefix`);
    }
  });
});

// ---------------------------------------------------------------------------------------
// passwords

test('wrong password: WRONG_PASSWORD and the data dir is byte-identical', async () => {
  await withDir(async (dir) => {
    const dataDir = path.join(dir, 'data');
    const u = unlock(dataDir, 'right password', { create: true })!;
    assert.ok(u, 'created');
    await new StateStore({ dataDir, keys: u.keys }).update((doc) => {
      doc.processes.push(proc('a1b2c3d4', 'make'));
    });
    ensureDir(path.join(dataDir, 'logs'));
    writeLog(path.join(dataDir, 'logs', 'a1b2c3d4.log.enc'), u.keys, SAMPLE);

    const before = snapshot(dataDir);
    const err = expectBgError(
      () => unlock(dataDir, 'wrong password', { create: false }),
      'WRONG_PASSWORD',
      'wrong password',
    );
    assert.is(err.exitCode, 3);
    assert.match(err.message, 'BG_PASSWORD');
    sameSnapshot(before, snapshot(dataDir), 'after a wrong password');
    // create:true must not replace an existing key either.
    expectBgError(
      () => unlock(dataDir, 'Right password', { create: true }),
      'WRONG_PASSWORD',
      'wrong password, create',
    );
    sameSnapshot(before, snapshot(dataDir), 'after a wrong password with create');
  });
});

test('wrong password on the Python state file: WRONG_PASSWORD, files unchanged', async () => {
  await withDir(async (dataDir) => {
    const file = path.join(dataDir, STATE_FILE);
    fs.writeFileSync(
      file,
      openssl(['enc', '-aes-256-cbc', '-pbkdf2', '-pass', `pass:${LEGACY_PW}`], Buffer.from(legacyStateJson())),
      { mode: 0o600 },
    );
    const before = snapshot(dataDir);
    // Several wrong passwords: about 1 in 256 gets past the padding check and must still be
    // refused by the content check.
    for (const pw of ['wrong', 'Correct horse battery staple', 'correct horse battery stapl', ' ']) {
      const store = new StateStore({ dataDir, keys: fakeKeys(), password: pw });
      expectBgError(() => store.read(), 'WRONG_PASSWORD', `read with ${JSON.stringify(pw)}`);
      await expectBgErrorAsync(
        () => store.update(() => undefined),
        'WRONG_PASSWORD',
        `update with ${JSON.stringify(pw)}`,
      );
      sameSnapshot(before, snapshot(dataDir), `after ${JSON.stringify(pw)}`);
    }
  });
});

test('no password: unset or empty BG_PASSWORD gives NO_PASSWORD', () => {
  expectBgError(() => passwordFromEnv({}), 'NO_PASSWORD', 'unset');
  const e = expectBgError(() => passwordFromEnv({ BG_PASSWORD: '' }), 'NO_PASSWORD', 'empty');
  assert.match(e.message, 'empty');
  assert.is(e.exitCode, 3);
  assert.is(passwordFromEnv({ BG_PASSWORD: ' s3cret ' }), ' s3cret ');
});

test('damaged key.json gives DAMAGED, never WRONG_PASSWORD', async () => {
  await withDir((dataDir) => {
    unlock(dataDir, 'pw', { create: true });
    const file = path.join(dataDir, KEY_FILE);
    const good = fs.readFileSync(file);
    const text = good.toString('utf8');
    const k = JSON.parse(text);
    // Every single-byte change, in the checksum, the wrapped key, the salt, the numbers, the
    // field names or the JSON syntax, is seen before any key derivation happens.
    const started = Date.now();
    for (let i = 0; i < good.length; i++) {
      for (const mask of [0x01, 0x20]) {
        const bad = Buffer.from(good);
        bad[i]! ^= mask;
        fs.writeFileSync(file, bad);
        expectBgError(
          () => unlock(dataDir, 'pw', { create: false }),
          'DAMAGED',
          `byte ${i} ^ ${mask} (${JSON.stringify(text[i])})`,
        );
      }
    }
    // ~800 attempts; a PBKDF2 run per attempt would take minutes.
    assert.ok(Date.now() - started < 20_000, 'damage is found without deriving the key');
    for (const variant of [
      good.subarray(0, good.length >> 1),
      Buffer.alloc(0),
      Buffer.from('null'),
      Buffer.from(JSON.stringify({ ...k, checksum: k.checksum.replace(/^./, (c: string) => (c === 'A' ? 'B' : 'A')) })),
      Buffer.from(JSON.stringify({ ...k, kdf: { ...k.kdf, iterations: 1 } })),
    ]) {
      fs.writeFileSync(file, variant);
      const e = expectBgError(
        () => unlock(dataDir, 'pw', { create: true }),
        'DAMAGED',
        `variant ${variant.toString().slice(0, 40)}`,
      );
      assert.match(e.message, file, 'the message names the file');
    }
  });
});

test('rewrapKey: new password opens the same data key, old one is refused, nothing else changes', async () => {
  await withDir(async (dataDir) => {
    const u = unlock(dataDir, 'old password', { create: true })!;
    await new StateStore({ dataDir, keys: u.keys }).update((doc) => {
      doc.processes.push(proc('a1b2c3d4', 'make'));
    });
    ensureDir(path.join(dataDir, 'logs'));
    writeLog(path.join(dataDir, 'logs', 'a1b2c3d4.log.enc'), u.keys, SAMPLE);
    const keyBefore = fs.readFileSync(path.join(dataDir, KEY_FILE));
    const before = snapshot(dataDir);
    before.delete(KEY_FILE);

    expectBgError(
      () => rewrapKey(dataDir, 'not the old password', 'new password'),
      'WRONG_PASSWORD',
      'rewrap with a wrong old password',
    );
    assert.ok(
      fs.readFileSync(path.join(dataDir, KEY_FILE)).equals(keyBefore),
      'key.json unchanged after a refused rewrap',
    );

    rewrapKey(dataDir, 'old password', 'new password');
    const after = snapshot(dataDir);
    assert.is.not(after.get(KEY_FILE), createHash('sha256').update(keyBefore).digest('hex'), 'key.json was rewritten');
    after.delete(KEY_FILE);
    sameSnapshot(before, after, 'other files after rewrap');

    expectBgError(
      () => unlock(dataDir, 'old password', { create: false }),
      'WRONG_PASSWORD',
      'old password after rewrap',
    );
    const u2 = unlock(dataDir, 'new password', { create: false })!;
    assert.ok(u2.dataKey.equals(u.dataKey), 'same data key');
    assert.equal(
      new StateStore({ dataDir, keys: u2.keys }).read().processes.map((p) => p.id),
      ['a1b2c3d4'],
    );
    checkRecords(
      readBoth(path.join(dataDir, 'logs', 'a1b2c3d4.log.enc'), u2.keys).fwd.records,
      SAMPLE,
      [0, 1, 2, 3, 4],
      'log after rewrap',
    );
    assert.equal(fs.readdirSync(dataDir).sort(), [KEY_FILE, 'logs', STATE_FILE], 'no temp files');
  });
});

// ---------------------------------------------------------------------------------------
// tampering with logs

test('tampering: a flipped byte anywhere in a middle record or the header is reported, the rest survives', async () => {
  await withDir((dir) => {
    const keys = fakeKeys();
    const file = path.join(dir, 'p1.log.enc');
    const { bytes, spans } = writeLog(file, keys, SAMPLE);
    const [o, e] = spans[2]!;
    const ctLen = e - o - REC_HEAD_BYTES - 16 - 32 - 8;
    assert.is(ctLen, 112, 'the middle record holds 100 bytes');
    const classes: [string, number, number][] = [
      ['record head', o, o + REC_HEAD_BYTES],
      ['IV', o + REC_HEAD_BYTES, o + REC_HEAD_BYTES + 16],
      ['ciphertext', o + REC_HEAD_BYTES + 16, e - 40],
      ['MAC', e - 40, e - 8],
      ['trailer', e - 8, e],
    ];
    const rest = [0, 1, 3, 4];
    let cases = 0;
    for (const [name, from, to] of classes) {
      for (let i = from; i < to; i++) {
        for (const mask of [0x01, 0x10, 0x80, 0xff]) {
          const bad = Buffer.from(bytes);
          bad[i]! ^= mask;
          fs.writeFileSync(file, bad);
          const what = `${name} byte ${i - o} ^ 0x${mask.toString(16)}`;
          const { fwd, bwd } = readBoth(file, keys);
          for (const [dirName, res] of [
            ['forward', fwd],
            ['backward', bwd],
          ] as const) {
            assert.ok(
              res.issues.length > 0 && res.issues.every((x) => x.kind === 'damaged' && x.offset === o),
              `${what}, ${dirName}: expected one 'damaged' at ${o}, got ${describeIssues(res.issues)}`,
            );
            checkRecords(res.records, SAMPLE, rest, `${what}, ${dirName}`);
          }
          cases++;
        }
      }
    }
    assert.is(cases, (e - o) * 4);

    for (let i = 0; i < HEADER_BYTES; i++) {
      const bad = Buffer.from(bytes);
      bad[i]! ^= 0x01;
      fs.writeFileSync(file, bad);
      expectBgError(() => LogReader.open(file, keys, 'p1'), 'DAMAGED', `header byte ${i}`);
      expectBgError(() => LogWriter.openExisting(file, keys, 'p1'), 'DAMAGED', `header byte ${i}, writer`);
      assert.ok(fs.readFileSync(file).equals(bad), 'a writer never touches a log with a bad header');
    }
    // A log under another data key is refused at the header.
    fs.writeFileSync(file, bytes);
    expectBgError(() => LogReader.open(file, fakeKeys(), 'p1'), 'DAMAGED', 'other key');
  });
});

test('tampering: a deleted middle record is reported missing', async () => {
  await withDir((dir) => {
    const keys = fakeKeys();
    const file = path.join(dir, 'p1.log.enc');
    const { bytes, spans } = writeLog(file, keys, SAMPLE);
    const [o, e] = spans[2]!;
    fs.writeFileSync(file, Buffer.concat([bytes.subarray(0, o), bytes.subarray(e)]));
    const { fwd, bwd } = readBoth(file, keys);
    for (const [name, res] of [
      ['forward', fwd],
      ['backward', bwd],
    ] as const) {
      assert.equal(
        res.issues.map((x) => [x.kind, x.offset]),
        [['missing', o]],
        `${name}: ${describeIssues(res.issues)}`,
      );
      checkRecords(res.records, SAMPLE, [0, 1, 3, 4], name);
    }
    // The first record deleted: reported too.
    fs.writeFileSync(file, Buffer.concat([bytes.subarray(0, HEADER_BYTES), bytes.subarray(spans[0]![1])]));
    const first = readBoth(file, keys);
    for (const [name, res] of [
      ['forward', first.fwd],
      ['backward', first.bwd],
    ] as const) {
      assert.equal(
        res.issues.map((x) => x.kind),
        ['missing'],
        `first deleted, ${name}: ${describeIssues(res.issues)}`,
      );
      checkRecords(res.records, SAMPLE, [1, 2, 3, 4], `first deleted, ${name}`);
    }
  });
});

test('tampering: a duplicated record is reported and read once', async () => {
  await withDir((dir) => {
    const keys = fakeKeys();
    const file = path.join(dir, 'p1.log.enc');
    const { bytes, spans } = writeLog(file, keys, SAMPLE);
    const [o, e] = spans[2]!;
    fs.writeFileSync(file, Buffer.concat([bytes.subarray(0, e), bytes.subarray(o, e), bytes.subarray(e)]));
    const { fwd, bwd } = readBoth(file, keys);
    for (const [name, res] of [
      ['forward', fwd],
      ['backward', bwd],
    ] as const) {
      assert.equal(
        res.issues.map((x) => x.kind),
        ['duplicate'],
        `${name}: ${describeIssues(res.issues)}`,
      );
      assert.ok([o, e].includes(res.issues[0]!.offset), `${name}: at one of the copies`);
      checkRecords(res.records, SAMPLE, [0, 1, 2, 3, 4], name);
    }
  });
});

test('tampering: swapped records are reported', async () => {
  await withDir((dir) => {
    const keys = fakeKeys();
    const file = path.join(dir, 'p1.log.enc');
    const { bytes, spans } = writeLog(file, keys, SAMPLE);
    const r2 = bytes.subarray(spans[2]![0], spans[2]![1]);
    const r3 = bytes.subarray(spans[3]![0], spans[3]![1]);
    fs.writeFileSync(file, Buffer.concat([bytes.subarray(0, spans[2]![0]), r3, r2, bytes.subarray(spans[3]![1])]));
    const { fwd, bwd } = readBoth(file, keys);
    for (const [name, res] of [
      ['forward', fwd],
      ['backward', bwd],
    ] as const) {
      const kinds = new Set(res.issues.map((x) => x.kind));
      assert.ok(res.issues.length > 0, `${name}: the swap is reported`);
      assert.ok(
        [...kinds].every((k) => k === 'missing' || k === 'out-of-order'),
        `${name}: ${describeIssues(res.issues)}`,
      );
      // Whatever is returned is genuine, in increasing seq order, and never garbage.
      const seqs = res.records.map((x) => x.seq);
      assert.equal(
        seqs,
        [...seqs].sort((a, b) => a - b),
        `${name}: in order`,
      );
      checkRecords(res.records, SAMPLE, seqs, name);
      assert.ok(seqs.length >= 4, `${name}: at most one record dropped`);
    }
  });
});

test('tampering: a valid record spliced in from another log is damaged (MAC binds the file ID)', async () => {
  await withDir((dir) => {
    const keys = fakeKeys();
    const file = path.join(dir, 'p1.log.enc');
    const other = path.join(dir, 'p1-other.log.enc');
    const { bytes, spans } = writeLog(file, keys, SAMPLE);
    // Same key, same process ID, same records: only the file ID differs.
    const o2 = writeLog(other, keys, SAMPLE);
    const [o, e] = spans[2]!;
    const foreign = o2.bytes.subarray(o2.spans[2]![0], o2.spans[2]![1]);
    assert.is(foreign.length, e - o);

    // Replaced (same seq, stream, time and length as the genuine record).
    fs.writeFileSync(file, Buffer.concat([bytes.subarray(0, o), foreign, bytes.subarray(e)]));
    let res = readBoth(file, keys);
    for (const [name, r] of [
      ['forward', res.fwd],
      ['backward', res.bwd],
    ] as const) {
      assert.equal(
        r.issues.map((x) => [x.kind, x.offset]),
        [['damaged', o]],
        `replaced, ${name}: ${describeIssues(r.issues)}`,
      );
      checkRecords(r.records, SAMPLE, [0, 1, 3, 4], `replaced, ${name}`);
    }
    // Inserted between two genuine records.
    fs.writeFileSync(file, Buffer.concat([bytes.subarray(0, o), foreign, bytes.subarray(o)]));
    res = readBoth(file, keys);
    for (const [name, r] of [
      ['forward', res.fwd],
      ['backward', res.bwd],
    ] as const) {
      assert.equal(
        r.issues.map((x) => [x.kind, x.offset]),
        [['damaged', o]],
        `inserted, ${name}: ${describeIssues(r.issues)}`,
      );
      checkRecords(r.records, SAMPLE, [0, 1, 2, 3, 4], `inserted, ${name}`);
    }
  });
});

test('torn tail: a cut last record is reported as torn-tail; openExisting truncates it and continues', async () => {
  await withDir((dir) => {
    const keys = fakeKeys();
    const file = path.join(dir, 'p1.log.enc');
    const { bytes, spans } = writeLog(file, keys, SAMPLE);
    const [o, e] = spans[4]!;
    const len = e - o;
    for (const into of [1, 3, 5, REC_HEAD_BYTES - 1, REC_HEAD_BYTES, REC_HEAD_BYTES + 1, len >> 1, len - 8, len - 1]) {
      const what = `cut ${into} bytes into the last record`;
      fs.writeFileSync(file, bytes.subarray(0, o + into));
      const { fwd, bwd } = readBoth(file, keys);
      for (const [name, res] of [
        ['forward', fwd],
        ['backward', bwd],
      ] as const) {
        assert.equal(
          res.issues.map((x) => [x.kind, x.offset]),
          [['torn-tail', o]],
          `${what}, ${name}: ${describeIssues(res.issues)}`,
        );
        checkRecords(res.records, SAMPLE, [0, 1, 2, 3], `${what}, ${name}`);
      }
      const w = LogWriter.openExisting(file, keys, 'p1');
      assert.is(fs.statSync(file).size, o, `${what}: torn tail truncated`);
      assert.is(w.nextSeq, 4, `${what}: continues at seq 4`);
      w.append('stdout', Buffer.from('after restart\n'), T0 + 100);
      w.append('event', Buffer.from('{"event":"exit"}'), T0 + 101);
      w.close();
      const items: Item[] = [
        ...SAMPLE.slice(0, 4),
        { stream: 'stdout', data: Buffer.from('after restart\n'), time: T0 + 100 },
        { stream: 'event', data: Buffer.from('{"event":"exit"}'), time: T0 + 101 },
      ];
      const after = readBoth(file, keys);
      assert.is(after.fwd.issues.length + after.bwd.issues.length, 0, `${what}: clean after reopening`);
      checkRecords(after.fwd.records, items, [0, 1, 2, 3, 4, 5], `${what}, forward after reopening`);
      checkRecords(after.bwd.records, items, [0, 1, 2, 3, 4, 5], `${what}, backward after reopening`);
    }
    // A whole log reopened as it is keeps everything.
    fs.writeFileSync(file, bytes);
    const w = LogWriter.openExisting(file, keys, 'p1');
    assert.is(w.nextSeq, 5);
    w.close();
    assert.ok(fs.readFileSync(file).equals(bytes), 'a clean log is not truncated');
  });
});

test('crash garbage: zeros after the last record (more than the backward window) never cost valid records', async () => {
  await withDir((dir) => {
    const keys = fakeKeys();
    const file = path.join(dir, 'p1.log.enc');
    const { bytes, spans } = writeLog(file, keys, SAMPLE);
    const end = spans[4]![1];
    for (const zeros of [100, 4096, 3 << 20]) {
      fs.writeFileSync(file, Buffer.concat([bytes, Buffer.alloc(zeros)]));
      const r = LogReader.open(file, keys, 'p1');
      const f = r.readForward();
      r.close();
      assert.equal(
        f.issues.map((x) => [x.kind, x.offset]),
        [['damaged', end]],
        `${zeros} zeros, forward: ${describeIssues(f.issues)}`,
      );
      checkRecords(f.records, SAMPLE, [0, 1, 2, 3, 4], `${zeros} zeros, forward`);
      // Reopening for append cuts the garbage, and only the garbage.
      const w = LogWriter.openExisting(file, keys, 'p1');
      assert.is(fs.statSync(file).size, end, `${zeros} zeros: truncated to the end of the last valid record`);
      assert.is(w.nextSeq, 5, `${zeros} zeros: continues at seq 5`);
      w.append('event', Buffer.from('restarted'), T0 + 50);
      w.close();
      const after = readBoth(file, keys);
      const items = [...SAMPLE, { stream: 'event' as const, data: Buffer.from('restarted'), time: T0 + 50 }];
      assert.is(after.fwd.issues.length + after.bwd.issues.length, 0, `${zeros} zeros: clean after reopening`);
      checkRecords(after.bwd.records, items, [0, 1, 2, 3, 4, 5], `${zeros} zeros, after reopening`);
    }
  });
});

// ---------------------------------------------------------------------------------------
// state

test('state concurrency: 20 processes x 25 updates, no update lost', async () => {
  await withDir(async (dir) => {
    const dataDir = path.join(dir, 'data');
    const password = 'concurrent password';
    const u = unlock(dataDir, password, { create: true })!; // once, before the children start
    const N = 20;
    const M = 25;
    const results = await Promise.all(
      Array.from(
        { length: N },
        (_, i) =>
          new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
            const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, dataDir, String(i), String(M)], {
              cwd: ROOT,
              env: { ...process.env, BG_TEST_PASSWORD: password },
              stdio: ['ignore', 'ignore', 'pipe'],
            });
            let stderr = '';
            child.stderr.on('data', (d) => (stderr += d));
            child.on('error', reject);
            child.on('close', (code) => resolve({ code, stderr }));
          }),
      ),
    );
    for (const [i, r] of results.entries()) assert.is(r.code, 0, `child ${i} failed: ${r.stderr}`);
    const ids = new StateStore({ dataDir, keys: u.keys }).read().processes.map((p) => p.id);
    assert.is(ids.length, N * M, 'every entry is there once');
    const want = Array.from({ length: N }, (_, w) => Array.from({ length: M }, (_, k) => `w${w}-${k}`)).flat();
    assert.equal([...ids].sort(), want.sort());
    // Each child's own entries are in the order it wrote them.
    for (let w = 0; w < N; w++) {
      const mine = ids.filter((id) => id.startsWith(`w${w}-`));
      assert.equal(
        mine,
        Array.from({ length: M }, (_, k) => `w${w}-${k}`),
      );
    }
    assert.equal(fs.readdirSync(dataDir).sort(), [KEY_FILE, STATE_FILE], 'no lock or temp files left');
  });
});

test('damaged state file: DAMAGED naming the file; update() leaves it byte-identical', async () => {
  await withDir(async (dataDir) => {
    const keys = fakeKeys();
    const store = new StateStore({ dataDir, keys });
    await store.update((doc) => {
      doc.processes.push(proc('a1b2c3d4', 'make -j8'), proc('e5f6a7b8', 'npm test'));
    });
    const good = fs.readFileSync(store.file);
    const variants: [string, Buffer][] = [];
    for (const i of [0, 7, 8, 8 + 15, 8 + 16, 8 + 16 + 20, good.length - 33, good.length - 32, good.length - 1]) {
      const b = Buffer.from(good);
      b[i]! ^= 0x04;
      variants.push([`byte ${i} flipped`, b]);
    }
    for (const n of [good.length - 1, good.length - 16, good.length - 32, 8 + 16 + 16 + 32, 8 + 16, 8, 3, 0]) {
      variants.push([`truncated to ${n}`, good.subarray(0, n)]);
    }
    variants.push(['read under another data key', good]);
    for (const [what, bytes] of variants) {
      fs.writeFileSync(store.file, bytes);
      const s = what.includes('another data key') ? new StateStore({ dataDir, keys: fakeKeys() }) : store;
      const before = snapshot(dataDir);
      const e = expectBgError(() => s.read(), 'DAMAGED', `${what}: read`);
      assert.ok(e.message.includes(store.file), `${what}: the message names ${store.file}: ${e.message}`);
      assert.is(e.exitCode, 6);
      let called = false;
      await expectBgErrorAsync(
        () =>
          s.update((doc) => {
            called = true;
            doc.processes = [];
          }),
        'DAMAGED',
        `${what}: update`,
      );
      assert.is(called, false, `${what}: fn not called`);
      sameSnapshot(before, snapshot(dataDir), `${what}: after update`);
    }
    // A state file without its key.json.
    fs.writeFileSync(store.file, good);
    expectBgError(() => new StateStore({ dataDir }).read(), 'DAMAGED', 'state without a key');
  });
});

// ---------------------------------------------------------------------------------------
// tail reads are bounded

test('tail: the last 20 lines read a bounded number of bytes, whatever the log size', async () => {
  await withDir((dir) => {
    const keys = fakeKeys();
    const RECORD = 64 << 10;
    const LINE = 64;
    // One record's worth of 64-byte lines: "RRRRRRRR:LLLL ....\n", the record number stamped in.
    const template = Buffer.alloc(RECORD, '.'.charCodeAt(0));
    for (let l = 0; l < RECORD / LINE; l++) {
      template.write(`00000000:${String(l).padStart(4, '0')} `, l * LINE, 'latin1');
      template[l * LINE + LINE - 1] = 10;
    }
    const make = (file: string, bytes: number) => {
      const w = LogWriter.create(file, keys, 'p1');
      const n = bytes / RECORD;
      for (let r = 0; r < n; r++) {
        const stamp = Buffer.from(String(r).padStart(8, '0'), 'latin1');
        for (let l = 0; l < RECORD / LINE; l++) stamp.copy(template, l * LINE);
        w.append(r % 7 === 3 ? 'stderr' : 'stdout', template, T0 + r);
      }
      w.append('event', Buffer.from('{"event":"exit","code":0}'), T0 + n); // not a line of output
      w.close();
      return n;
    };
    const measure = (file: string, n: number) => {
      const r = LogReader.open(file, keys, 'p1');
      try {
        const lines = lastLines(r, 20);
        const lastRec = String(n - 1).padStart(8, '0');
        const want = Array.from({ length: 20 }, (_, i) =>
          `${lastRec}:${String(RECORD / LINE - 20 + i).padStart(4, '0')} `.padEnd(LINE - 1, '.'),
        );
        assert.equal(lines, want, 'the last 20 lines');
        return { bytesRead: r.stats.bytesRead, size: r.size() };
      } finally {
        r.close();
      }
    };
    const big = path.join(dir, 'big.log.enc');
    const small = path.join(dir, 'small.log.enc');
    const nBig = make(big, 64 << 20);
    const nSmall = make(small, 1 << 20);
    const b = measure(big, nBig);
    const s = measure(small, nSmall);
    assert.ok(b.size > 64 << 20, 'the big log is 64 MiB');
    assert.ok(b.bytesRead < 300 << 10, `big log: read ${b.bytesRead} bytes for 20 lines`);
    assert.ok(s.bytesRead < 300 << 10, `small log: read ${s.bytesRead} bytes for 20 lines`);
    assert.ok(Math.abs(b.bytesRead - s.bytesRead) <= 1024, `independent of size: ${b.bytesRead} vs ${s.bytesRead}`);
  });
});

// ---------------------------------------------------------------------------------------
// what reaches the disk

test('no plaintext on disk: a canary written through every API never appears in any file', async () => {
  await withDir(async (dir) => {
    const canary = `CANARY-${randomBytes(8).toString('hex')}`;
    const dataDir = path.join(dir, 'data');
    const u = unlock(dataDir, `old ${canary} password`, { create: true })!;
    const store = new StateStore({ dataDir, keys: u.keys });
    await store.update((doc) => {
      doc.processes.push(
        proc('a1b2c3d4', `echo ${canary}`, {
          argv: ['echo', canary],
          cwd: `/tmp/${canary}`,
          stopRequest: { signal: canary, at: canary },
        }),
      );
    });
    ensureDir(path.join(dataDir, 'logs'));
    const w = LogWriter.create(path.join(dataDir, 'logs', 'a1b2c3d4.log.enc'), u.keys, 'a1b2c3d4');
    for (const s of STREAMS) {
      w.append(s, Buffer.from(`${s}: ${canary}\n`));
      w.append(s, Buffer.from(canary.repeat(5000)));
    }
    w.sync();
    w.close();
    const w2 = LogWriter.openExisting(path.join(dataDir, 'logs', 'a1b2c3d4.log.enc'), u.keys, 'a1b2c3d4');
    w2.append('stdout', Buffer.from(`again ${canary}`));
    w2.close();
    rewrapKey(dataDir, `old ${canary} password`, `new ${canary} password`);
    await store.update((doc) => {
      doc.processes[0]!.command = `${canary} 2`;
    });

    const c = Buffer.from(canary);
    const needles: [string, Buffer][] = [
      ['utf8', c],
      ['utf16le', Buffer.from(canary, 'utf16le')],
      ['utf16be', Buffer.from(canary, 'utf16le').swap16()],
      ['hex', Buffer.from(c.toString('hex'))],
      ['HEX', Buffer.from(c.toString('hex').toUpperCase())],
      ...[0, 1, 2].map((k): [string, Buffer] => [
        `base64 +${k}`,
        Buffer.from(
          Buffer.concat([Buffer.alloc(k), c])
            .toString('base64')
            .slice(4, -4),
        ),
      ]),
    ];
    const files = allFiles(dataDir);
    assert.ok(files.length >= 3, 'key, state and log are there');
    for (const f of files) {
      const raw = fs.readFileSync(f);
      for (const [enc, needle] of needles) {
        assert.is(raw.indexOf(needle), -1, `${path.relative(dataDir, f)} holds the canary (${enc})`);
      }
    }
    // And everything is still readable.
    assert.is(store.read().processes[0]!.command, `${canary} 2`);
  });
});

test('modes: files 0600 and folders 0700 whatever the umask', async () => {
  for (const mask of [0o000, 0o277, 0o022]) {
    await withDir(async (dir) => {
      const dataDir = path.join(dir, 'a', 'b', 'data');
      const old = process.umask(mask);
      try {
        const u = unlock(dataDir, 'pw', { create: true })!;
        const store = new StateStore({ dataDir, keys: u.keys });
        await store.update((doc) => {
          doc.processes.push(proc('a1b2c3d4', 'true'));
        });
        await store.update((doc) => {
          doc.processes.push(proc('e5f6a7b8', 'false'));
        });
        ensureDir(path.join(dataDir, 'logs', 'deeper'));
        const w = LogWriter.create(path.join(dataDir, 'logs', 'a1b2c3d4.log.enc'), u.keys, 'a1b2c3d4');
        w.append('stdout', Buffer.from('hi\n'));
        w.close();
        LogWriter.openExisting(path.join(dataDir, 'logs', 'a1b2c3d4.log.enc'), u.keys, 'a1b2c3d4').close();
      } finally {
        process.umask(old);
      }
      const um = `umask ${mask.toString(8).padStart(3, '0')}`;
      for (const d of [
        path.join(dir, 'a'),
        path.join(dir, 'a', 'b'),
        dataDir,
        path.join(dataDir, 'logs'),
        path.join(dataDir, 'logs', 'deeper'),
      ]) {
        assert.is((fs.statSync(d).mode & 0o777).toString(8), '700', `${um}: ${path.relative(dir, d)}`);
      }
      const files = allFiles(dataDir);
      assert.equal(files.map((f) => path.relative(dataDir, f)).sort(), [
        KEY_FILE,
        path.join('logs', 'a1b2c3d4.log.enc'),
        STATE_FILE,
      ]);
      for (const f of files) {
        assert.is((fs.statSync(f).mode & 0o777).toString(8), '600', `${um}: ${path.relative(dir, f)}`);
      }
    });
  }
});

test.run();
