// The portable process layer's readers (lib/process/portable.ts, issue 29): ps lines in procps'
// and macOS's forms, the environment marker as a whole word, lsof's -F output; and, on this
// Linux machine, that what ps, lsof and sysctl say agrees with what /proc says of the same live
// processes. The end-to-end tier with BG_PLATFORM=portable: tests/portable.test.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  bootId as portableBoot,
  list,
  listeningByPid,
  parseLsof,
  parseMarked,
  parsePsLine,
  START_SLACK_S,
} from '../../skills/background-manager/scripts/lib/process/portable.ts';
import {
  bootId,
  readStat,
  sameStart,
  treeMembers,
  type ProcStat,
} from '../../skills/background-manager/scripts/lib/process/proc.ts';
import { useLayer } from '../../skills/background-manager/scripts/lib/util/platform.ts';
import { waitFor } from '../helpers.ts';

const at = (iso: string) => Date.parse(iso) / 1000;

test('a procps line: fields, start time in UTC seconds, the terminal', () => {
  const st = parsePsLine(' 2150  2109  2150  2150 Ss+  Mon Dec  7 03:04:34 2026 pts/0    python3');
  assert.equal(st, {
    pid: 2150,
    ppid: 2109,
    pgid: 2150,
    sid: -1,
    tpgid: 2150,
    state: 'S',
    startTicks: at('2026-12-07T03:04:34Z'),
    tty: 'pts/0',
    comm: 'python3',
  });
  assert.is(parsePsLine('    1     0     0    -1 S<Ll Sun Dec  6 14:41:09 2026 ?        process api')?.tty, undefined);
});

test("a macOS line: no terminal is '??', tpgid 0, comm a full path with spaces (kept last)", () => {
  const st = parsePsLine(
    '  812     1   812     0 S    Fri Jan  2 23:59:59 2026 ??       /Applications/Visual Studio Code.app/Contents/MacOS/Code Helper',
  );
  assert.ok(st);
  assert.is(st.tty, undefined);
  assert.is(st.tpgid, 0);
  assert.is(st.comm, 'Code Helper');
  assert.is(st.startTicks, at('2026-01-02T23:59:59Z'));
  assert.is(parsePsLine('  90  1  90  90 Ss+  Mon Dec  7 03:04:34 2026 ttys003  -zsh')?.tty, 'ttys003');
});

test('lines that do not fit are not taken: a header, a locale month, garbage', () => {
  assert.is(parsePsLine('  PID  PPID  PGID TPGID STAT STARTED TTY COMMAND'), undefined);
  assert.is(parsePsLine(' 2150  2109  2150  2150 Ss+  Lun Déc  7 03:04:34 2026 pts/0 python3'), undefined);
  assert.is(parsePsLine(' 2150  2109  2150  2150 Ss+  Mon Dex  7 03:04:34 2026 pts/0 python3'), undefined);
  assert.is(parsePsLine(''), undefined);
});

const row = (pid: number, start: number): ProcStat => ({
  pid,
  ppid: 1,
  pgid: pid,
  sid: -1,
  state: 'S',
  startTicks: start,
});

test('the environment marker: a whole word, at the start time the table has', () => {
  const t = at('2026-12-07T03:04:34Z');
  const stats = [row(10, t), row(11, t), row(12, t), row(13, t + 5)];
  const out = [
    '   10 Mon Dec  7 03:04:34 2026 sleep 100 HOME=/root BACKGROUND_MANAGER_TREE=abc PATH=/bin',
    '   11 Mon Dec  7 03:04:35 2026 sleep 100 BACKGROUND_MANAGER_TREE=abc', // one second later: the same
    '   12 Mon Dec  7 03:04:34 2026 sleep 100 BACKGROUND_MANAGER_TREE=abcd', // another mark
    '   13 Mon Dec  7 03:04:34 2026 sleep 100 BACKGROUND_MANAGER_TREE=abc', // PID reused since the table
    '   14 Mon Dec  7 03:04:34 2026 sleep 100 BACKGROUND_MANAGER_TREE=abc', // not in the table
  ].join('\n');
  assert.equal(
    parseMarked(out, 'BACKGROUND_MANAGER_TREE=abc', stats).map((s) => s.pid),
    [10, 11],
  );
});

test("lsof's -F pn output: ports per PID, IPv4, IPv6 and any address", () => {
  const out = 'p123\nf5\nn*:8080\nf6\nn[::1]:8080\nf7\nn[::]:9090\np456\nf3\nn127.0.0.1:3000\n';
  assert.equal(
    [...parseLsof(out)],
    [
      [123, [8080, 9090]],
      [456, [3000]],
    ],
  );
  assert.equal([...parseLsof('')], []);
});

test("a tree without session IDs: the leader's group, its terminal, its descendants", () => {
  const s = (pid: number, ppid: number, pgid: number, tty?: string): ProcStat => ({
    pid,
    ppid,
    pgid,
    sid: -1,
    state: 'S',
    startTicks: 1,
    tty,
  });
  const stats = [
    s(100, 1, 100, 'ttys001'), // the leader
    s(101, 100, 101, 'ttys001'), // a job in its own group, same terminal
    s(102, 1, 102, 'ttys001'), // re-parented, same terminal: same session
    s(103, 1, 103), // setsid'd away, parent gone: not found by the table (the marker finds it)
    s(104, 101, 104), // setsid'd child of a member: a descendant
    s(200, 1, 200, 'ttys002'), // another terminal
  ];
  assert.equal(
    treeMembers(100, stats)
      .map((m) => m.pid)
      .sort(),
    [100, 101, 102, 104],
  );
});

test('start times: equal on the linux layer, within a second on the portable one', () => {
  assert.ok(sameStart(500, 500));
  assert.not.ok(sameStart(500, 501));
  useLayer('portable');
  try {
    assert.ok(sameStart(500, 500 + START_SLACK_S));
    assert.not.ok(sameStart(500, 502));
    assert.not.ok(sameStart(undefined, 500));
  } finally {
    useLayer('linux');
  }
});

// Linux only (this machine): the portable layer and /proc, side by side on live processes.
const btime = () => Number(/^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'latin1'))![1]);

test('on Linux, ps agrees with /proc: parent, group, state, start time (within a second)', async () => {
  const kids: ChildProcess[] = [];
  try {
    const leader = spawn('sh', ['-c', 'sleep 300 & exec sleep 301'], { detached: true, stdio: 'ignore' });
    kids.push(leader);
    await waitFor('the leader in /proc', () => readStat(leader.pid!), 10_000);
    const rows = list();
    const mine = rows.filter((r) => r.pid === leader.pid || r.ppid === leader.pid);
    assert.ok(mine.length >= 1, 'the leader is in the table');
    for (const r of mine) {
      const linux = readStat(r.pid)!;
      assert.is(r.ppid, linux.ppid);
      assert.is(r.pgid, linux.pgid);
      assert.is(r.pgid, leader.pid);
      assert.is(r.state, linux.state);
      const seconds = btime() + linux.startTicks / 100;
      assert.ok(Math.abs(r.startTicks - seconds) <= START_SLACK_S + 0.01, `${r.startTicks} vs ${seconds}`);
    }
    assert.is(portableBoot(), bootId(), 'sysctl kernel.random.boot_id is /proc/sys/kernel/random/boot_id');
  } finally {
    for (const k of kids) {
      try {
        process.kill(-k.pid!, 'SIGKILL');
      } catch {}
    }
  }
});

test('on Linux, lsof finds the port a process of ours listens on', async () => {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const port = (server.address() as net.AddressInfo).port;
    assert.ok(listeningByPid().get(process.pid)?.includes(port), `port ${port} of PID ${process.pid}`);
  } finally {
    server.close();
  }
});

test.run();
