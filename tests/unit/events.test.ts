// The event log and a watch's decisions, in process (issue 26, part 2): appends numbered across
// the two files, the size bound dropping the oldest and a reader told how many, a flipped byte
// and a record moved in the sequence detected, view places that never go back; the fold of a
// flood on a virtual clock, the checks' messages, the line shapes, an end's text.
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { subKeys } from '../../skills/background-manager/scripts/lib/store/crypto.ts';
import {
  appendEvent,
  EVENTS_FILE,
  EventReader,
  lastEventSeq,
  OLD_EVENTS_FILE,
  readEvents,
} from '../../skills/background-manager/scripts/lib/store/events.ts';
import { readViewSeq, saveViewSeq } from '../../skills/background-manager/scripts/lib/store/event-views.ts';
import {
  checkWatch,
  Folder,
  FOLD_WINDOW_MS,
  MAX_LINES_PER_WINDOW,
  plainLine,
  jsonLine,
  type Shown,
} from '../../skills/background-manager/scripts/lib/ops/watch.ts';
import { cliFrontEnd } from '../../skills/background-manager/scripts/lib/cli/front-end.ts';
import { BgError } from '../../skills/background-manager/scripts/lib/errors.ts';
import { endText, endKind } from '../../skills/background-manager/scripts/supervisor/events.ts';
import { OutputTail } from '../../skills/background-manager/scripts/supervisor/output-tail.ts';
import { unitSuite, withUnitDir, type UnitDir } from './harness.ts';

const test = unitSuite('events');
const withDir = (name: string, fn: (u: UnitDir) => Promise<void> | void) => withUnitDir(test, name, fn);
const keys = subKeys(randomBytes(32));

const ev = (i: number) => ({ id: 'abcd1234', name: 'web', event: 'exited' as const, text: `code ${i}` });

withDir('appends are numbered, read back in order, and a reader follows new ones', async ({ dataDir }) => {
  fs.mkdirSync(dataDir, { recursive: true });
  const r = new EventReader(dataDir, keys);
  assert.equal(r.poll().events, []);
  for (let i = 1; i <= 3; i++) assert.is((await appendEvent(dataDir, keys, ev(i))).seq, i);
  assert.equal(
    r.poll().events.map((e) => e.text),
    ['code 1', 'code 2', 'code 3'],
  );
  await appendEvent(dataDir, keys, ev(4));
  assert.equal(
    r.poll().events.map((e) => e.seq),
    [4],
  );
  assert.is(lastEventSeq(dataDir), 4);
  assert.is((fs.statSync(path.join(dataDir, EVENTS_FILE)).mode & 0o777).toString(8), '600');
  // Concurrent appends (as supervisors make them): every seq once.
  await Promise.all(Array.from({ length: 10 }, (_, i) => appendEvent(dataDir, keys, ev(10 + i))));
  assert.equal(
    readEvents(dataDir, keys).events.map((e) => e.seq),
    Array.from({ length: 14 }, (_, i) => i + 1),
  );
});

withDir('the size bound drops the oldest events, and a reader behind them is told how many', async ({ dataDir }) => {
  fs.mkdirSync(dataDir, { recursive: true });
  const big = 'x'.repeat(380);
  const bound = 16 * 1024; // the real one is MAX_EVENT_FILE_BYTES (256 KiB): the same code, fewer appends
  const follower = new EventReader(dataDir, keys);
  const behind = new EventReader(dataDir, keys, 1); // saw event 1, then stopped reading
  let n = 0;
  // Past two files' worth: the first file is dropped.
  while (!fs.existsSync(path.join(dataDir, OLD_EVENTS_FILE)) || n < 2 * (bound / 500)) {
    n++;
    await appendEvent(dataDir, keys, { ...ev(n), text: big }, bound);
    if (n % 5 === 0) assert.is(follower.poll().dropped, 0);
  }
  // The follower, reading as they came (across each rotation), missed nothing.
  follower.poll();
  assert.is(follower.lastSeq, n);
  const all = readEvents(dataDir, keys).events;
  assert.ok(all[0]!.seq > 2, 'the oldest were dropped');
  assert.is(all.at(-1)!.seq, n);
  const got = behind.poll();
  assert.is(got.dropped, all[0]!.seq - 2);
  assert.is(got.events[0]!.seq, all[0]!.seq);
  for (const f of [EVENTS_FILE, OLD_EVENTS_FILE]) assert.ok(fs.statSync(path.join(dataDir, f)).size <= bound);
});

withDir('a flipped byte, a record moved in the sequence, a torn tail: detected, skipped', async ({ dataDir }) => {
  fs.mkdirSync(dataDir, { recursive: true });
  for (let i = 1; i <= 3; i++) await appendEvent(dataDir, keys, ev(i));
  const file = path.join(dataDir, EVENTS_FILE);
  const good = fs.readFileSync(file);
  // Flip a byte of the second record's ciphertext.
  const frame = good.readUInt32BE(8) + 8;
  const flipped = Buffer.from(good);
  flipped[8 + frame + 40]! ^= 1;
  fs.writeFileSync(file, flipped);
  let r = new EventReader(dataDir, keys);
  assert.equal(
    r.poll().events.map((e) => e.seq),
    [1, 3],
  );
  assert.is(r.damaged, 1);
  // Its seq changed in the clear: the MAC binds it.
  const moved = Buffer.from(good);
  moved.writeBigUInt64BE(7n, 8 + frame + 4);
  fs.writeFileSync(file, moved);
  r = new EventReader(dataDir, keys);
  assert.equal(
    r.poll().events.map((e) => e.seq),
    [1, 3],
  );
  assert.is(r.damaged, 1);
  // Another data dir's key: nothing opens.
  fs.writeFileSync(file, good);
  r = new EventReader(dataDir, subKeys(randomBytes(32)));
  const other = r.poll();
  assert.equal(other.events, []);
  // One span: no frame after it opens to resync on.
  assert.is(r.damaged, 1);
  assert.match(other.damage[0]!, /events\.enc is damaged: bytes 8\.\.\d+ failed the integrity check; skipped$/);
  // A torn last record (a crash in the write): the rest is read, the append goes on.
  fs.writeFileSync(file, good.subarray(0, good.length - 5));
  assert.equal(
    readEvents(dataDir, keys).events.map((e) => e.seq),
    [1, 2],
  );
  // The next append cuts the torn one off and numbers past any seq it could have held.
  const next = await appendEvent(dataDir, keys, ev(4));
  assert.ok(next.seq > 3, String(next.seq));
  const after = readEvents(dataDir, keys);
  assert.equal(
    after.events.map((e) => e.seq),
    [1, 2, next.seq],
  );
  assert.equal(after.damage, []);
});

withDir('a view keeps its place, per view, never moved back', async ({ dataDir }) => {
  fs.mkdirSync(dataDir, { recursive: true });
  assert.is(readViewSeq(dataDir, keys, 'a'), undefined);
  await saveViewSeq(dataDir, keys, 'a', 5);
  await saveViewSeq(dataDir, keys, 'b', 2);
  await saveViewSeq(dataDir, keys, 'a', 3);
  assert.is(readViewSeq(dataDir, keys, 'a'), 5);
  assert.is(readViewSeq(dataDir, keys, 'b'), 2);
  fs.writeFileSync(path.join(dataDir, 'events.views.enc'), 'BGVIEWS1garbage');
  assert.throws(
    () => readViewSeq(dataDir, keys, 'a'),
    (e: unknown) => e instanceof BgError && e.code === 'DAMAGED',
  );
});

test('a flood is folded: at most a few lines a window, the rest counted with the ends named', () => {
  let now = 1_000_000;
  const out: Shown[] = [];
  const timers: { at: number; fn: () => void }[] = [];
  const f = new Folder(
    (s) => out.push(s),
    () => now,
    (fn, ms) => {
      const t = { at: now + ms, fn };
      timers.push(t);
      return { cancel: () => timers.splice(timers.indexOf(t), 1) };
    },
  );
  const at = new Date(now).toISOString();
  for (let i = 1; i <= 50; i++)
    f.push({ seq: i, at, id: `p${i}`, event: i % 10 === 0 ? 'failed' : 'port-opened', text: 'x' });
  assert.is(out.length, MAX_LINES_PER_WINDOW);
  now += FOLD_WINDOW_MS;
  timers.shift()!.fn();
  assert.is(out.length, MAX_LINES_PER_WINDOW + 1);
  const fold = out.at(-1)!;
  assert.is(fold.kind, 'folded');
  if (fold.kind !== 'folded') return;
  assert.is(fold.count, 46);
  assert.equal(fold.kinds, { 'port-opened': 41, failed: 5 });
  assert.is(fold.seq, 50);
  assert.match(
    plainLine(fold),
    /^\d\d:\d\d:\d\d 46 more events folded \(41 port-opened, 5 failed; ended: p10 failed, p20 failed, p30 failed, p40 failed, p50 failed\); list_processes shows the state$/,
  );
  // The next window: a line at once again.
  now += FOLD_WINDOW_MS;
  f.push({ seq: 51, at, id: 'p', event: 'started', text: 'y' });
  assert.is(out.length, MAX_LINES_PER_WINDOW + 2);
});

test('checks: unknown events, output without --match, a bad pattern, a bad timeout', () => {
  const fe = cliFrontEnd([]);
  const usage = (req: Parameters<typeof checkWatch>[0], re: RegExp) =>
    assert.throws(
      () => checkWatch(req, fe),
      (e: unknown) => e instanceof BgError && e.code === 'USAGE' && re.test(e.message),
    );
  usage({ refs: [], events: ['ready,nope'] }, /^--events: unknown event "nope"\. Give some of: started, ready/);
  usage({ refs: [], events: ['output'] }, /^--events output needs --match/);
  usage({ refs: [], timeoutSec: 0 }, /^--timeout must be a number of seconds above 0/);
  usage({ refs: [], match: '(' }, /--match/);
  const w = checkWatch({ refs: ['web', 'web'], match: 'x', new: true }, fe);
  assert.ok(w.kinds.has('output'));
  assert.equal(w.refs, ['web']);
  assert.ok(w.view);
  assert.is.not(w.view, checkWatch({ refs: ['web'], new: true }, fe).view);
});

test('lines: short and self-contained; JSON as stored', () => {
  const at = new Date(2026, 0, 1, 12, 3, 4).toISOString();
  const e = { seq: 3, at, id: 'ab12cd34', name: 'web', event: 'ready' as const, text: 'listening on port 8080' };
  assert.is(plainLine(e), '12:03:04 web ready: listening on port 8080');
  assert.equal(JSON.parse(jsonLine(e)), e);
  assert.is(
    plainLine({ kind: 'output', at, id: 'ab12cd34', line: 'FAIL\tx\x1b[31m', more: 2 }),
    '12:03:04 ab12cd34 output: FAIL\\tx\\x1b[31m (+2 more matching lines)',
  );
  assert.equal(JSON.parse(jsonLine({ kind: 'dropped', at, count: 4 })), { event: 'dropped', at, count: 4 });
});

test("an end's kind and text: the status, the policy's words, the last error line", () => {
  assert.is(endKind({ exitCode: 0, signal: null }, false), 'exited');
  assert.is(endKind({ exitCode: 2, signal: null }, false), 'failed');
  assert.is(endKind({ exitCode: null, signal: 'SIGKILL' }, false), 'killed');
  assert.is(endKind({ exitCode: null, signal: 'SIGTERM' }, true), 'stopped');
  assert.is(endText({ exitCode: 0, signal: null }, 'exited with code 0', 'an error line'), 'code 0');
  assert.is(
    endText({ exitCode: 3, signal: null }, 'exited with code 3; not restarted: all 2 restarts used', 'Error: x'),
    'code 3, not restarted: all 2 restarts used: Error: x',
  );
  assert.is(
    endText({ exitCode: null, signal: 'SIGTERM' }, 'killed by SIGTERM (stopped by stop_process)', undefined),
    'SIGTERM, stopped by stop_process',
  );
  const tail = new OutputTail();
  tail.add(Buffer.from('starting\n\x1b[31mError: listen EADDRINUSE :::8080\x1b[0m\n'));
  tail.add(Buffer.from('each line fine\nexit soon\n'));
  assert.is(tail.lastErrorLine(), 'Error: listen EADDRINUSE :::8080');
  tail.clear();
  tail.add(Buffer.from('all good\n'));
  assert.is(tail.lastErrorLine(), undefined);
});

test.run();
