// terminateTree against a fake process table and a fake clock: the escalation, members that
// appear during the grace period, and the PID-reuse rule, in milliseconds and without signals
// to real processes (the end-to-end files cover the real /proc: escaped-jobs, pid-reuse, ...).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ProcStat, ProcTable } from '../../skills/background-manager/scripts/lib/process/proc.ts';
import { terminateTree, type Clock } from '../../skills/background-manager/scripts/lib/process/terminate.ts';

/** Time that passes only when the code under test sleeps; events fire as it passes them. */
class FakeClock implements Clock {
  t = 0;
  private events: { at: number; fn: () => void }[] = [];
  now(): number {
    return this.t;
  }
  async sleep(ms: number): Promise<void> {
    this.t += ms;
    const due = this.events.filter((e) => e.at <= this.t);
    this.events = this.events.filter((e) => e.at > this.t);
    for (const e of due) e.fn();
  }
  at(at: number, fn: () => void): void {
    this.events.push({ at, fn });
  }
}

/** What a fake process does on SIGTERM: end at once, ignore it, or end this many ms later. */
type OnTerm = 'exit' | 'ignore' | number;
interface FakeProc extends ProcStat {
  onTerm: OnTerm;
  mark?: string;
}
interface Sent {
  pid: number;
  startTicks: number;
  signal: string;
  at: number;
}

const BOOT = 'boot-1';

class FakeTable implements ProcTable {
  procs = new Map<number, FakeProc>();
  sent: Sent[] = [];
  constructor(private clock: FakeClock) {}
  spawn(p: Partial<FakeProc> & { pid: number; startTicks: number }): void {
    this.procs.set(p.pid, { state: 'S', ppid: 1, pgid: p.pid, sid: p.pid, onTerm: 'exit', ...p });
  }
  exit(pid: number): void {
    this.procs.delete(pid); // reaped at once: gone from the table
  }
  list(): ProcStat[] {
    return [...this.procs.values()].map(({ pid, state, ppid, pgid, sid, startTicks }) => ({
      pid,
      state,
      ppid,
      pgid,
      sid,
      startTicks,
    }));
  }
  stat(pid: number): ProcStat | undefined {
    return this.list().find((p) => p.pid === pid);
  }
  marked(mark: string, stats: ProcStat[]): ProcStat[] {
    return stats.filter((st) => this.procs.get(st.pid)?.mark === mark);
  }
  kill(pid: number, signal: NodeJS.Signals): boolean {
    const p = this.procs.get(pid);
    if (!p) return false;
    this.sent.push({ pid, startTicks: p.startTicks, signal, at: this.clock.now() });
    if (signal === 'SIGKILL') this.exit(pid);
    else if (signal === 'SIGTERM' && p.onTerm === 'exit') this.exit(pid);
    else if (signal === 'SIGTERM' && typeof p.onTerm === 'number')
      this.clock.at(this.clock.now() + p.onTerm, () => this.procs.get(pid) === p && this.exit(pid));
    return true;
  }
  bootId(): string {
    return BOOT;
  }
  /** The signals other than the SIGSTOP/SIGCONT around a tree's signal. */
  ends(pid?: number): Sent[] {
    return this.sent.filter(
      (s) => s.signal !== 'SIGSTOP' && s.signal !== 'SIGCONT' && (pid === undefined || s.pid === pid),
    );
  }
}

function setup() {
  const clock = new FakeClock();
  const table = new FakeTable(clock);
  return { clock, table };
}

test('a member that ignores SIGTERM gets SIGKILL once the grace period has passed, not before', async () => {
  const { clock, table } = setup();
  table.spawn({ pid: 100, startTicks: 10 });
  table.spawn({ pid: 101, startTicks: 11, ppid: 100, pgid: 100, sid: 100, onTerm: 'ignore' });
  const t = await terminateTree({
    roots: [{ pid: 100, startTicks: 10 }],
    signal: 'SIGTERM',
    graceMs: 5000,
    table,
    clock,
  });
  assert.equal(
    table.ends(100).map((s) => s.signal),
    ['SIGTERM'],
  );
  const sent101 = table.ends(101);
  assert.equal(
    sent101.map((s) => s.signal),
    ['SIGTERM', 'SIGKILL'],
  );
  assert.is(sent101[0]!.at, 0);
  assert.ok(sent101[1]!.at >= 5000 && sent101[1]!.at < 5100, `SIGKILL at ${sent101[1]!.at} ms`);
  assert.equal(
    t.killed.map((m) => m.pid),
    [101],
  );
  assert.equal(t.first.map((m) => m.pid).sort(), [100, 101]);
  assert.is(table.procs.size, 0);
});

test('members that end within the grace period end the wait early, with no SIGKILL', async () => {
  const { clock, table } = setup();
  table.spawn({ pid: 100, startTicks: 10, onTerm: 300 });
  table.spawn({ pid: 101, startTicks: 11, ppid: 100, pgid: 100, sid: 100, onTerm: 200 });
  const t = await terminateTree({
    roots: [{ pid: 100, startTicks: 10 }],
    signal: 'SIGTERM',
    graceMs: 60_000,
    table,
    clock,
  });
  assert.equal(t.killed, []);
  assert.ok(clock.now() >= 300 && clock.now() < 400, `returned at ${clock.now()} ms`);
  assert.ok(!table.sent.some((s) => s.signal === 'SIGKILL'));
});

test('the whole tree gets the signal: its session, its process group and descendants that moved out', async () => {
  const { clock, table } = setup();
  table.spawn({ pid: 100, startTicks: 10 });
  table.spawn({ pid: 101, startTicks: 11, ppid: 1, pgid: 100, sid: 100 }); // parent gone, same session
  table.spawn({ pid: 102, startTicks: 12, ppid: 100, pgid: 102, sid: 102 }); // setsid, parent alive
  table.spawn({ pid: 103, startTicks: 13, ppid: 102, pgid: 102, sid: 102 });
  table.spawn({ pid: 200, startTicks: 5 }); // a stranger
  await terminateTree({ roots: [{ pid: 100, startTicks: 10 }], signal: 'SIGTERM', graceMs: 1000, table, clock });
  assert.equal([...new Set(table.ends().map((s) => s.pid))].sort(), [100, 101, 102, 103]);
  assert.ok(table.procs.has(200));
  // Each stopped first, so nothing forks between the collection and the signal.
  assert.equal(
    table.sent.filter((s) => s.pid === 102).map((s) => s.signal),
    ['SIGSTOP', 'SIGTERM'],
  );
});

test('a child forked by a member during the grace period is ended too', async () => {
  const { clock, table } = setup();
  table.spawn({ pid: 100, startTicks: 10, onTerm: 'ignore' });
  clock.at(1000, () => table.spawn({ pid: 150, startTicks: 20, ppid: 100, pgid: 150, sid: 150, onTerm: 'ignore' }));
  const t = await terminateTree({
    roots: [{ pid: 100, startTicks: 10 }],
    signal: 'SIGTERM',
    graceMs: 3000,
    table,
    clock,
  });
  assert.equal(t.killed.map((m) => m.pid).sort(), [100, 150]);
  assert.is(table.procs.size, 0);
});

test('a process carrying the tree mark that appears during the grace period gets the signal within 0.5 s', async () => {
  const { clock, table } = setup();
  table.spawn({ pid: 100, startTicks: 10, onTerm: 'ignore', mark: 'm1' });
  // A job that called setsid and whose parent ended: only the mark ties it to the tree.
  clock.at(1000, () =>
    table.spawn({ pid: 160, startTicks: 30, ppid: 1, pgid: 160, sid: 160, mark: 'm1', onTerm: 100 }),
  );
  table.spawn({ pid: 170, startTicks: 31, mark: 'other' });
  await terminateTree({
    roots: [{ pid: 100, startTicks: 10 }],
    signal: 'SIGTERM',
    graceMs: 5000,
    mark: 'm1',
    table,
    clock,
  });
  const got = table.ends(160);
  assert.equal(
    got.map((s) => s.signal),
    ['SIGTERM'],
  );
  assert.ok(got[0]!.at >= 1000 && got[0]!.at <= 1525, `SIGTERM at ${got[0]!.at} ms`);
  assert.equal(table.ends(170), []);
});

test('members the caller discovers are watched, not signalled, and SIGKILLed after the grace period', async () => {
  const { clock, table } = setup();
  table.spawn({ pid: 100, startTicks: 10, onTerm: 1000 });
  clock.at(500, () => table.spawn({ pid: 180, startTicks: 40, onTerm: 'ignore' }));
  const t = await terminateTree({
    roots: [{ pid: 100, startTicks: 10 }],
    signal: 'SIGTERM',
    graceMs: 2000,
    discover: (stats) => stats.filter((s) => s.pid === 180),
    table,
    clock,
  });
  assert.equal(
    table.ends(180).map((s) => s.signal),
    ['SIGKILL'],
  );
  assert.equal(
    t.killed.map((m) => m.pid),
    [180],
  );
});

test('a root whose PID now belongs to another process (same PID, other start time) is never signalled', async () => {
  const { clock, table } = setup();
  table.spawn({ pid: 100, startTicks: 99, onTerm: 'ignore' }); // the recorded one started at 10
  table.spawn({ pid: 101, startTicks: 100, ppid: 100, pgid: 100, sid: 100 });
  const t = await terminateTree({
    roots: [{ pid: 100, startTicks: 10 }],
    signal: 'SIGTERM',
    graceMs: 1000,
    table,
    clock,
  });
  assert.equal(table.sent, []);
  assert.equal(t.first, []);
  assert.equal(t.killed, []);
});

test('a member whose PID is reused during the grace period: the new process is never signalled, nor its children', async () => {
  const { clock, table } = setup();
  table.spawn({ pid: 100, startTicks: 10, onTerm: 'ignore' });
  table.spawn({ pid: 101, startTicks: 11, ppid: 100, pgid: 100, sid: 100, onTerm: 100 });
  // 101 ends at 100 ms; at 200 ms a stranger gets PID 101, and forks a child.
  clock.at(200, () => table.spawn({ pid: 101, startTicks: 50, ppid: 1, pgid: 101, sid: 101, onTerm: 'ignore' }));
  clock.at(300, () => table.spawn({ pid: 190, startTicks: 51, ppid: 101, pgid: 101, sid: 101, onTerm: 'ignore' }));
  const t = await terminateTree({
    roots: [{ pid: 100, startTicks: 10 }],
    signal: 'SIGTERM',
    graceMs: 2000,
    table,
    clock,
  });
  assert.equal(
    t.killed.map((m) => m.pid),
    [100],
  );
  assert.ok(!table.sent.some((s) => s.pid === 101 && s.startTicks === 50), 'the stranger on PID 101 was signalled');
  assert.equal(table.ends(190), []);
  assert.ok(table.procs.has(101) && table.procs.has(190));
});

test('roots recorded in another boot are never signalled', async () => {
  const { clock, table } = setup();
  table.spawn({ pid: 100, startTicks: 10, mark: 'm1' });
  const t = await terminateTree({
    roots: [{ pid: 100, startTicks: 10 }],
    signal: 'SIGTERM',
    graceMs: 1000,
    bootId: 'boot-0',
    mark: 'm1',
    table,
    clock,
  });
  assert.equal(table.sent, []);
  assert.equal(t.first, []);
});

test('the wait also holds until the caller has settled (the supervisor: the end recorded)', async () => {
  const { clock, table } = setup();
  table.spawn({ pid: 100, startTicks: 10 });
  const t = await terminateTree({
    roots: [{ pid: 100, startTicks: 10 }],
    signal: 'SIGTERM',
    graceMs: 5000,
    settled: () => clock.now() >= 700,
    table,
    clock,
  });
  assert.ok(clock.now() >= 700 && clock.now() < 800, `returned at ${clock.now()} ms`);
  assert.equal(t.killed, []);
});

test('SIGKILL as the signal ends the tree at once, without SIGCONT', async () => {
  const { clock, table } = setup();
  table.spawn({ pid: 100, startTicks: 10 });
  table.spawn({ pid: 101, startTicks: 11, ppid: 100, pgid: 100, sid: 100 });
  await terminateTree({ roots: [{ pid: 100, startTicks: 10 }], signal: 'SIGKILL', graceMs: 0, table, clock });
  assert.is(table.procs.size, 0);
  assert.ok(!table.sent.some((s) => s.signal === 'SIGCONT'));
});

test.run();
