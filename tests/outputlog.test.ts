// The supervisor's output path (lib/log/write/outputlog.ts) with real worker threads and real encrypted
// files, in the faults a whole-tool test cannot bring about on demand: a log thread that dies
// while it holds output (and the child is paused), a log whose active piece is gone when the
// thread hands back, and a writer that must number on from the archived pieces.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { OutputLog } from '../skills/background-manager/scripts/lib/log/write/outputlog.ts';
import { subKeys, type SubKeys } from '../skills/background-manager/scripts/lib/store/crypto.ts';
import {
  CappedLogWriter,
  LogSetReader,
  listSegments,
} from '../skills/background-manager/scripts/lib/log/format/logset.ts';
import { LogReader } from '../skills/background-manager/scripts/lib/log/format/logfile.ts';
import type { SinkState } from '../skills/background-manager/scripts/lib/log/write/logsink.ts';
import { FIXTURES } from './reliability-lib.ts';
import { ROOT, waitFor } from './helpers.ts';

const LOG_THREAD = pathToFileURL(path.join(ROOT, 'skills/background-manager/dist/log-thread.mjs'));
const CHUNK = Buffer.alloc(64 << 10, 0x61); // what one read from a busy child brings

function sandbox(): { dir: string; keys: SubKeys; state: (file: string) => SinkState; done: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bgm-outlog-'));
  const keys = subKeys(randomBytes(32));
  return {
    dir,
    keys,
    state: (file) => ({
      file,
      keys,
      procId: 'p1',
      maxBytes: 100 << 20,
      dropped: { bytes: 0, records: 0 },
      lost: { bytes: 0, chunks: 0, reason: '' },
    }),
    done: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** Every record of the log: stdout bytes, the events' texts, and what the reader found wrong. */
function readLog(file: string, keys: SubKeys): { bytes: number; events: string[]; issues: string[] } {
  const reader = new LogSetReader(file, keys, 'p1');
  const out = { bytes: 0, events: [] as string[], issues: [] as string[] };
  reader.forward(undefined, (rec) => {
    if (rec.stream === 'event') out.events.push(rec.data.toString());
    else out.bytes += rec.data.length;
  });
  out.issues = reader.issues.map((i) => i.message);
  return out;
}

/** A "child" that writes whenever it is not paused, a read at a time, until told to stop. */
async function printWhileAllowed(out: OutputLog, until: () => boolean, maxBytes: number): Promise<number> {
  let sent = 0;
  while (!until() && sent < maxBytes) {
    if (!out.paused) {
      out.push('stdout', CHUNK);
      sent += CHUNK.length;
    }
    await new Promise((r) => setImmediate(r));
  }
  return sent;
}

test('a log thread that dies holding output: the paused child is resumed, the loss is said, the rest is written', async () => {
  const sb = sandbox();
  try {
    const file = path.join(sb.dir, 'p1.log.enc');
    const out = new OutputLog(pathToFileURL(path.join(FIXTURES, 'failing-log-thread.mjs')), () => undefined);
    let pauses = 0;
    let resumes = 0;
    out.setSource({ pause: () => pauses++, resume: () => resumes++ });
    out.open(sb.state(file));
    // The thread takes batches and writes none: output piles up until the child is paused.
    const sent = await printWhileAllowed(out, () => out.paused, 64 << 20);
    assert.ok(out.paused, `paused after ${sent} bytes`);
    // It dies with them; the supervisor's own thread takes the log back and lets the child go on.
    await waitFor('the child to be resumed', () => !out.paused, 10_000);
    assert.is(pauses, 1);
    assert.is(resumes, 1);
    out.push('stdout', Buffer.from('after\n'));
    await out.close();
    const log = readLog(file, sb.keys);
    assert.equal(log.issues, []);
    const note = log.events.find((e) => e.startsWith('output dropped: '));
    assert.ok(note, log.events.join('\n'));
    assert.match(note!, /the log thread failed \(simulated crash\); up to this much may be missing/);
    const lostBytes = Number(/output dropped: (\d+) bytes/.exec(note!)![1]);
    // Nothing uncounted: what reached the log plus what is said lost is all that was printed.
    assert.is(log.bytes + lostBytes, sent + 'after\n'.length, `${log.bytes} written + ${lostBytes} said lost`);
  } finally {
    sb.done();
  }
});

test('the log folder gone while the log thread writes: no crash, the loss is said once writing is possible again', async () => {
  if (!fs.existsSync(LOG_THREAD)) throw new Error(`${LOG_THREAD.pathname} is missing: run npm run build`);
  const sb = sandbox();
  try {
    const logs = path.join(sb.dir, 'logs');
    fs.mkdirSync(logs);
    const file = path.join(logs, 'p1.log.enc');
    const out = new OutputLog(LOG_THREAD, () => undefined);
    out.setSource({ pause: () => undefined, resume: () => undefined });
    out.open(sb.state(file));
    const thread = () => (out as unknown as { thread?: { opened: boolean } }).thread;
    let sent = await printWhileAllowed(out, () => !!thread()?.opened, 64 << 20);
    assert.ok(thread()?.opened, 'the burst moved logging to the thread');
    // The active piece and its folder, gone, in one step: a recursive delete races the thread,
    // which may open a new piece between the delete's listing and its rmdir (ENOTEMPTY under load).
    fs.renameSync(logs, `${logs}.gone`);
    for (let i = 0; i < 32; i++) out.push('stdout', CHUNK);
    sent += 32 * CHUNK.length;
    // The idle thread hands back; the supervisor's thread then has no file to write to.
    await waitFor('the thread to hand back', () => !thread(), 15_000);
    out.push('stdout', Buffer.from('unwritable\n'));
    out.flush();
    fs.mkdirSync(logs); // space again: the next write makes a new piece and says what was lost
    out.push('stdout', Buffer.from('after\n'));
    await out.close();
    const log = readLog(file, sb.keys);
    const note = log.events.find((e) => e.startsWith('output dropped: '));
    assert.ok(note, `events: ${log.events.join('\n')}`);
    assert.match(note!, /could not be written \(.*ENOENT.*\)/);
    assert.is(log.bytes, 'after\n'.length, 'only what came after the folder was back');
    const lostBytes = Number(/output dropped: (\d+) bytes/.exec(note!)![1]);
    assert.ok(
      lostBytes >= 'unwritable\n'.length && lostBytes <= sent + 'unwritable\n'.length,
      `${lostBytes} said lost of ${sent}`,
    );
  } finally {
    sb.done();
  }
});

test('a writer with no active piece numbers on from the archived ones (no reused sequence numbers)', () => {
  const sb = sandbox();
  try {
    const file = path.join(sb.dir, 'p1.log.enc');
    const w = new CappedLogWriter(file, sb.keys, 'p1', 1 << 20);
    for (let i = 0; i < 40; i++) w.append('stdout', Buffer.alloc(32 << 10, 0x30 + (i % 10)));
    w.close();
    assert.ok(listSegments(file).length > 1, 'the cap made archived pieces');
    fs.rmSync(file, { force: true }); // as after a rotation that archived the active piece and could make no new one
    const seqs = (): number[] => {
      const out: number[] = [];
      new LogSetReader(file, sb.keys, 'p1').forward(undefined, (rec) => void out.push(rec.seq));
      return out;
    };
    const last = seqs().pop()!;
    const again = new CappedLogWriter(file, sb.keys, 'p1', 1 << 20);
    assert.not.ok(fs.existsSync(file), 'nothing is created before the first append');
    again.append('stdout', Buffer.from('next\n'));
    // The new piece starts at the seq after the newest archived record (not at 0), and the
    // pieces keep their order when it is archived in turn.
    const head = LogReader.open(file, sb.keys, 'p1');
    assert.is(head.header.baseSeq, last + 1);
    head.close();
    for (let i = 0; i < 20; i++) again.append('stdout', Buffer.alloc(32 << 10, 0x61));
    again.close();
    const all = seqs();
    assert.equal(
      all.slice(-21),
      Array.from({ length: 21 }, (_, i) => last + 1 + i),
      'every record after it, in order',
    );
    assert.equal(readLog(file, sb.keys).issues, []);
  } finally {
    sb.done();
  }
});

test.run();
