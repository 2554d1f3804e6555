// The event log's damage (review of issue 26, part 2): a torn or garbled tail of events.enc
// must not restart the numbering nor hide later events from a watcher, and a hostile file in
// the data dir (a huge sparse events.old.enc, a symbolic link) must not be read whole or
// followed. Real supervisors append the events; watch_processes reads them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { listJson, run, start, waitFor, withSandbox } from './helpers.ts';
import { watch, type Watcher } from './watch-helpers.ts';

type Ev = { event: string; name?: string; seq?: number; text?: string };
const parsed = (w: Watcher): Ev[] => w.lines.map((l) => JSON.parse(l) as Ev);
const has = (w: Watcher, name: string, event: string) =>
  waitFor(
    `${name} ${event} in:\n${w.lines.join('\n')}\n${w.stderr()}`,
    () => parsed(w).find((e) => e.name === name && e.event === event),
    60_000,
  );

const TEARS: [string, (file: string) => void][] = [
  ['3 bytes cut off the end', (f) => fs.truncateSync(f, fs.statSync(f).size - 3)],
  ['garbage appended', (f) => fs.appendFileSync(f, Buffer.from('\x00\x00\x01\x00garbage, half a frame'))],
  ['the last frame cut mid-way', (f) => fs.truncateSync(f, fs.statSync(f).size - 40)],
];

for (const [how, tear] of TEARS) {
  withSandbox(`a torn events.enc (${how}): new events once each, seqs go on, --new loses none`, async (sb) => {
    // Two views (other filters): one watches across the tear, the other stops before it.
    const live = watch(sb, ['--new', '--json', '--events', 'started,exited']);
    const view = watch(sb, ['--new', '--json']);
    // (Two tsx starts at once: over 10 s each at a load of 20.)
    await waitFor('both watchers running', () => live.lines.length > 0 && view.lines.length > 0, 60_000);
    await start(sb, ['--name', 'one', '--no-pty', 'true']);
    await has(live, 'one', 'exited');
    await has(view, 'one', 'exited');
    assert.is(await view.stop(), 0, view.stderr());
    const before = Math.max(...parsed(live).map((e) => e.seq ?? 0));
    tear(path.join(sb.dir, 'data', 'events.enc'));
    await start(sb, ['--name', 'two', '--no-pty', 'true']);
    await start(sb, ['--name', 'three', '--no-pty', 'true']);
    for (const [n, e] of [
      ['two', 'started'],
      ['two', 'exited'],
      ['three', 'started'],
      ['three', 'exited'],
    ])
      await has(live, n!, e!);
    const after = watch(sb, ['--new', '--json']);
    await has(after, 'three', 'exited');
    assert.is(await live.stop(), 0, live.stderr());
    assert.is(await after.stop(), 0, after.stderr());
    for (const w of [live, after]) {
      const evs = parsed(w).filter((e) => e.seq !== undefined && e.event !== 'summary');
      const seqs = evs.map((e) => e.seq!);
      for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i]! > seqs[i - 1]!, `seqs increase:\n${w.lines.join('\n')}`);
      for (const n of ['two', 'three'])
        for (const e of ['started', 'exited'])
          assert.is(
            evs.filter((x) => x.name === n && x.event === e).length,
            1,
            `${n} ${e} once:\n${w.lines.join('\n')}`,
          );
      for (const e of evs.filter((x) => x.name === 'two' || x.name === 'three'))
        assert.ok(e.seq! > before, `new events numbered after ${before}:\n${w.lines.join('\n')}`);
    }
    // The first view saw "one"; the second starts after it.
    assert.not.ok(
      parsed(after).some((e) => e.name === 'one' && e.event !== 'summary'),
      after.lines.join('\n'),
    );
  });
}

/** The watcher's peak resident memory in KiB (VmHWM), sampled until it exits. */
async function peakKiB(w: Watcher): Promise<number> {
  let peak = 0;
  let done = false;
  void w.exited.then(() => (done = true));
  while (!done) {
    try {
      const m = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${w.child.pid}/status`, 'latin1'));
      if (m) peak = Math.max(peak, Number(m[1]));
    } catch {
      // exited between the checks
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return peak;
}

withSandbox('a 1.5 GB sparse events.old.enc is damage, not read: bounded memory, a clear note', async (sb) => {
  await start(sb, ['--name', 'one', '--no-pty', 'true']);
  await waitFor('events.enc', () => fs.existsSync(path.join(sb.dir, 'data', 'events.enc')));
  const old = path.join(sb.dir, 'data', 'events.old.enc');
  fs.writeFileSync(old, 'BGEVENT1', { mode: 0o600 });
  fs.truncateSync(old, 1536 * 1024 * 1024);
  const w = watch(sb, ['--new', '--timeout', '2']);
  const peak = await peakKiB(w);
  const out = w.lines.join('\n') + w.stderr();
  assert.ok(peak < 300 * 1024, `VmHWM ${peak} kB:\n${out}`);
  assert.match(out, /events\.old\.enc is damaged: .*larger than/);
  // MCP get_events and the page read with the same reader; list still works.
  assert.is((await run(sb, 'list_processes.ts', [])).code, 0);
});

withSandbox('a symbolic link as events.old.enc or events.enc is not followed', async (sb) => {
  await start(sb, ['--name', 'one', '--no-pty', 'true']);
  await waitFor('events.enc', () => fs.existsSync(path.join(sb.dir, 'data', 'events.enc')));
  const target = path.join(sb.dir, 'big');
  fs.writeFileSync(target, 'BGEVENT1');
  fs.truncateSync(target, 1536 * 1024 * 1024);
  try {
    fs.symlinkSync(target, path.join(sb.dir, 'data', 'events.old.enc'));
    const w = watch(sb, ['--new', '--timeout', '2']);
    const peak = await peakKiB(w);
    const out = w.lines.join('\n') + w.stderr();
    assert.ok(peak < 300 * 1024, `VmHWM ${peak} kB:\n${out}`);
    assert.match(out, /events\.old\.enc is damaged: .*not a regular file/);
    fs.renameSync(path.join(sb.dir, 'data', 'events.enc'), path.join(sb.dir, 'data', 'events.moved'));
    fs.symlinkSync(path.join(sb.dir, 'data', 'events.moved'), path.join(sb.dir, 'data', 'events.enc'));
    // The supervisor does not append through the link: the target is unchanged.
    const size = fs.statSync(path.join(sb.dir, 'data', 'events.moved')).size;
    await start(sb, ['--name', 'two', '--no-pty', 'true']);
    await waitFor('two ended', async () =>
      (await listJson(sb)).some((p) => p.name === 'two' && p.status !== 'running'),
    );
    assert.is(fs.statSync(path.join(sb.dir, 'data', 'events.moved')).size, size);
  } finally {
    fs.rmSync(target, { force: true });
  }
});

test.run();
