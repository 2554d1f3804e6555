// Which processes a stop takes on as part of a tree, decided from a process table. After the
// command is reaped its PID, and any member's, may belong to a stranger: a child is ours only
// if its parent is still the member we knew (same PID and start time). These tests give the
// decision a fake table (the kernel will not reuse a PID on demand); the real stop loops call
// the same function with /proc's table.
// Run: npx uvu -r tsx tests 'tree-adoption\.test\.ts$'
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { adoptChildren, type ProcStat } from '../skills/background-manager/scripts/lib/process/proc.ts';

function st(pid: number, ppid: number, startTicks: number, sid = pid, pgid = pid): ProcStat {
  return { pid, ppid, startTicks, sid, pgid, state: 'S' };
}

const members = (...list: ProcStat[]) => new Map(list.map((m) => [m.pid, m]));

test("a member whose PID now belongs to a stranger does not make the stranger's child ours", () => {
  const known = members(st(100, 1, 1000), st(101, 100, 1010));
  // 100 (the command) was reaped; its PID went to a stranger started at 5000, whose child is 200.
  const table = [st(1, 0, 1), st(100, 1, 5000), st(200, 100, 5100), st(101, 1, 1010)];
  assert.equal(adoptChildren(known, table), []);
});

test("a member's new child is taken on while the member is still the one we knew", () => {
  const known = members(st(100, 1, 1000), st(101, 100, 1010));
  const table = [st(1, 0, 1), st(101, 1, 1010), st(300, 101, 1200, 300, 300)];
  assert.equal(
    adoptChildren(known, table).map((m) => m.pid),
    [300],
  );
});

test('a child is not taken on when its parent is missing from the table', () => {
  // The parent died between two reads of /proc: its PID may already be someone else's.
  const known = members(st(100, 1, 1000));
  assert.equal(adoptChildren(known, [st(200, 100, 5100)]), []);
});

test('a process older than the member it names as parent is not taken on', () => {
  const known = members(st(100, 1, 1000));
  assert.equal(adoptChildren(known, [st(100, 1, 1000), st(50, 100, 900)]), []);
});

test.run();
