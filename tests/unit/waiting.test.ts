// The input watch's pure parts (lib/process/waiting.ts, input-state.ts, ops/wait-input.ts):
// /proc/<pid>/syscall, an epoll set's fdinfo, select's fd_set and poll's pollfd array, a stat
// line's terminal fields, the wchan cross-check, what the record's answer shows, and the
// --wait-input checks. Real processes: tests/waiting-input.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  fdSetMembers,
  parseEpollTargets,
  parseSyscall,
  parseTtyStat,
  pollReadFds,
  SYSCALLS,
  wchanFits,
} from '../../skills/background-manager/scripts/lib/process/waiting.ts';
import { waitingCell, waitingOf } from '../../skills/background-manager/scripts/lib/process/input-state.ts';
import { checkWaitInput } from '../../skills/background-manager/scripts/lib/ops/wait-input.ts';
import type { FrontEnd } from '../../skills/background-manager/scripts/lib/ops/checks.ts';
import type { ProcessRecord } from '../../skills/background-manager/scripts/lib/store/state.ts';
import { SHELL_HINTS } from '../../skills/background-manager/scripts/lib/install/hints.ts';
import { compileRegex } from '../../skills/background-manager/scripts/lib/util/regex.ts';

test('/proc/<pid>/syscall: a blocked syscall with its arguments, running, or blocked outside one', () => {
  // A python REPL (x86_64 pselect6 with nfds 1), as the kernel writes it.
  const s = parseSyscall('270 0x1 0x7ffed6a913e0 0x0 0x0 0x0 0x7ffed6a91350 0x7ffed6a91338 0x7f1f53d162ad\n');
  assert.equal(s, { nr: 270, args: [1n, 0x7ffed6a913e0n, 0n, 0n, 0n, 0x7ffed6a91350n] });
  assert.is(parseSyscall('running\n'), 'running');
  assert.is(parseSyscall('-1 0x7ffd1 0x7f2\n'), 'none');
  assert.is(parseSyscall('garbage'), undefined);
  assert.is(parseSyscall('0 0x0'), undefined);
});

test('the syscall tables: x86_64 and arm64 numbers of read, select, poll and epoll_wait', () => {
  assert.equal(SYSCALLS.x64!.read, [0, 19]);
  assert.ok(SYSCALLS.x64!.select.includes(270) && SYSCALLS.x64!.epoll.includes(281) && SYSCALLS.x64!.poll.includes(7));
  assert.ok(SYSCALLS.arm64!.read.includes(63) && SYSCALLS.arm64!.select.includes(72));
  assert.ok(SYSCALLS.arm64!.epoll.includes(22) && SYSCALLS.arm64!.poll.includes(73));
});

test("an epoll set's fdinfo: the fds it watches (tfd lines)", () => {
  const info =
    'pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1057\n' +
    'tfd:       20 events:       19 data:               14  pos:0 ino:3 sdev:17\n' +
    'tfd:        9 events:       19 data:                9  pos:0 ino:1 sdev:e\n';
  assert.equal(parseEpollTargets(info), [20, 9]);
  assert.equal(parseEpollTargets('pos:\t0\nflags:\t02\n'), []);
});

test("select's fd_set and poll's pollfd array: the fds asked to be read", () => {
  const bits = Buffer.alloc(8);
  bits[0] = 0b1001; // fds 0 and 3
  bits[1] = 0b1; // fd 8
  assert.equal(fdSetMembers(bits, 9), [0, 3, 8]);
  assert.equal(fdSetMembers(bits, 4), [0, 3]);
  const arr = Buffer.alloc(24);
  arr.writeInt32LE(5, 0);
  arr.writeInt16LE(1, 4); // POLLIN
  arr.writeInt32LE(0, 8);
  arr.writeInt16LE(4, 12); // POLLOUT only: not a read
  arr.writeInt32LE(-1, 16);
  arr.writeInt16LE(1, 20); // a negative fd is ignored
  assert.equal(pollReadFds(arr), [5]);
});

test("a stat line's terminal fields, with spaces and parentheses in the command's name", () => {
  const st = parseTtyStat(42, '42 (a) b) (c) S 1 42 42 34816 42 4194560 0 0 0 0 0 0 0 0 20 0 1 0 123');
  assert.equal(st, { pid: 42, state: 'S', ppid: 1, pgid: 42, sid: 42, ttyNr: 34816, tpgid: 42 });
});

test('wchan: a sleep for something else rules a wait out; an unknown or hidden one does not', () => {
  for (const w of ['n_tty_read', 'wait_woken', 'do_select', 'ep_poll', 'poll_schedule_timeout.constprop.0', '0', ''])
    assert.ok(wchanFits(w), w);
  assert.ok(wchanFits(undefined));
  for (const w of ['hrtimer_nanosleep', 'futex_wait_queue', 'do_wait']) assert.not.ok(wchanFits(w), w);
});

test("the record's answer: only a running process with a watching supervisor can wait; else false or unknown", () => {
  const rec = (w?: boolean | null) => ({ waitingForInput: w }) as ProcessRecord;
  const running = { status: 'running' as const, label: 'running' };
  assert.is(waitingOf(rec(true), running), true);
  assert.is(waitingOf(rec(null), running), null);
  assert.is(waitingOf(rec(undefined), running), null, 'a supervisor of an earlier version');
  assert.is(waitingOf(rec(true), { status: 'exited', label: 'exited(0)' }), false);
  assert.is(waitingOf(rec(true), { status: 'orphaned', label: 'orphaned' }), null);
  assert.equal([waitingCell(true), waitingCell(false), waitingCell(null)], ['wait', '-', '?']);
});

test('--wait-input: its timeout, the default, and what it is refused beside', () => {
  const fe: FrontEnd = { style: 'flag', regex: compileRegex, hints: SHELL_HINTS };
  const mcp: FrontEnd = { ...fe, style: 'field' };
  assert.is(checkWaitInput({}, fe, 60), undefined);
  assert.is(checkWaitInput({ waitInput: true }, fe, 60), 60);
  assert.is(checkWaitInput({ waitInput: true, waitTimeout: 5 }, fe, 60), 5);
  assert.throws(() => checkWaitInput({ waitInput: true, waitFor: 'x' }, fe, 60), /--wait-input and --wait-for/);
  assert.throws(() => checkWaitInput({ waitInput: true, waitPort: 80 }, mcp, 30), /wait_input and wait_port/);
  assert.throws(() => checkWaitInput({ waitTimeout: 3 }, fe, 60), /add --wait-input/);
  assert.throws(() => checkWaitInput({ waitInput: true, waitTimeout: -1 }, fe, 60), /--wait-timeout must be/);
});

test.run();
