// Process identity and process trees. A recorded process is (pid, start time, boot id): a PID
// alone is not enough, because PIDs are reused. Two layers read them (issue 29): the Linux
// layer, here, from /proc (start time in kernel clock ticks since boot); the portable one
// (portable.ts: ps, lsof, sysctl; start time in seconds, read twice it may differ by one),
// chosen per call by BG_PLATFORM (platform.ts). Every function below asks the layer of the
// call; a record names the layer that made it (store/state.ts refuses the other's records).
import fs from 'node:fs';
import { constants } from 'node:os';
import { layerName } from '../util/platform.ts';
import * as portable from './portable.ts';
import type { ProcStat } from './procstat.ts';

export type { ProcStat };

let polling = 0;

/**
 * Runs a wait's look (is it still alive? does it listen yet?): on the portable layer a PID that
 * ps vouched for within the last second is then taken without another ps (kill(pid, 0) still
 * tells when it is gone), so a 100 ms poll does not run two ps each time. Never around a signal:
 * every check before one reads afresh.
 */
export function pollingLook<T>(look: () => T): T {
  polling++;
  try {
    return look();
  } finally {
    polling--;
  }
}

/** Whether this call uses the portable layer (BG_PLATFORM=portable, or not Linux). */
export function isPortable(): boolean {
  return layerName() === 'portable';
}

/**
 * Whether two reads of start times are of one process: equal on Linux (clock ticks); within a
 * second on the portable layer (ps lstart has whole seconds, and procps computes it from a boot
 * time that the clock's steps move).
 */
export function sameStart(a: number | undefined, b: number | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  return isPortable() ? Math.abs(a - b) <= portable.START_SLACK_S : a === b;
}

/** Whether start time `a` is not before `floor` (with the portable layer's slack). */
export function startedSince(a: number, floor: number): boolean {
  return isPortable() ? a >= floor - portable.START_SLACK_S : a >= floor;
}

// Parse /proc/<pid>/stat; the command name may hold spaces and parentheses, so split after
// the last ')'.
export function readStat(pid: number): ProcStat | undefined {
  if (isPortable()) return portable.stat(pid, polling > 0);
  const text = readProcFile(`/proc/${pid}/stat`);
  if (text === undefined) return undefined;
  const close = text.lastIndexOf(')');
  const f = text.slice(close + 2).split(' ');
  return { pid, state: f[0]!, ppid: Number(f[1]), pgid: Number(f[2]), sid: Number(f[3]), startTicks: Number(f[19]) };
}

// One buffer for every small /proc read: fs.readFileSync sizes a file by fstat first, which
// says 0 for /proc files, and then reads it in freshly allocated chunks; a list reads
// /proc/<pid>/stat of every process on the machine (about 5x faster this way, issue 25).
let procBuf = Buffer.allocUnsafe(4096);

/** A /proc file's whole text (latin1), or undefined if it cannot be read (gone, not ours). */
export function readProcFile(file: string): string | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    let got = 0;
    for (;;) {
      if (got === procBuf.length) {
        const bigger = Buffer.allocUnsafe(procBuf.length * 2);
        procBuf.copy(bigger, 0, 0, got);
        procBuf = bigger;
      }
      const n = fs.readSync(fd, procBuf, got, procBuf.length - got, null);
      if (n === 0) break;
      got += n;
    }
    return procBuf.toString('latin1', 0, got);
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

let bootIdCache: string | undefined;
export function bootId(): string {
  bootIdCache ??= isPortable()
    ? portable.bootId()
    : fs.readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim();
  return bootIdCache;
}

export interface Identity {
  pid: number;
  startTicks?: number;
  bootId?: string;
  /**
   * It leads its process group (the command and the supervisor lead their sessions, which no
   * later call can undo): checked on the portable layer, whose start times have whole seconds.
   */
  leader?: boolean;
}

/** The process's live stat if it is still the one recorded (same boot, same start time). */
export function matchIdentity(id: Identity, currentBoot = bootId()): ProcStat | undefined {
  if (!id.pid || id.startTicks === undefined || id.bootId === undefined) return undefined;
  if (id.bootId !== currentBoot) return undefined;
  const st = readStat(id.pid);
  if (!st || !sameStart(st.startTicks, id.startTicks)) return undefined;
  if (id.leader && isPortable() && st.pgid !== st.pid) return undefined;
  return st;
}

export function allStats(): ProcStat[] {
  if (isPortable()) return portable.list();
  const out: ProcStat[] = [];
  for (const name of fs.readdirSync('/proc')) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const st = readStat(Number(name));
    if (st) out.push(st);
  }
  return out;
}

/**
 * Every live process that belongs to the tree led by `leader`: its session, its process
 * group, and all descendants by parent link (which catches children that called setsid or
 * moved to another group while their parent lives).
 */
export function treeMembers(leader: number, stats = allStats()): ProcStat[] {
  const members = new Map<number, ProcStat>();
  // The portable layer has no session IDs: the leader's controlling terminal stands for its session.
  const tty = stats.find((st) => st.pid === leader)?.tty;
  for (const st of stats) {
    if (st.pid === leader || st.sid === leader || st.pgid === leader || (tty && st.tty === tty))
      members.set(st.pid, st);
  }
  let grew = true;
  while (grew) {
    grew = false;
    for (const st of stats) {
      if (!members.has(st.pid) && members.has(st.ppid) && st.pid !== 1) {
        members.set(st.pid, st);
        grew = true;
      }
    }
  }
  return [...members.values()];
}

/**
 * Processes in `stats` whose parent is one of `members`: the children a tree gained since
 * `members` was collected. The parent must be in the same table with the member's start time:
 * a member that ended may have its PID reused by a stranger, whose children are not ours.
 */
export function adoptChildren(members: Map<number, ProcStat>, stats = allStats()): ProcStat[] {
  const byPid = new Map(stats.map((st) => [st.pid, st]));
  return stats.filter((st) => {
    const member = members.get(st.ppid);
    if (!member || members.has(st.pid)) return false;
    const parent = byPid.get(st.ppid);
    return (
      parent !== undefined &&
      sameStart(parent.startTicks, member.startTicks) &&
      startedSince(st.startTicks, member.startTicks)
    );
  });
}

/**
 * The environment variable that marks every process of a command's tree: the supervisor puts
 * a random value in the command's environment, and children inherit it, wherever they move
 * (setsid, a new group, a parent that ended and left them to init). A process that replaces
 * its whole environment (env -i, sudo, su -) loses it; another user's processes cannot be
 * read (nor signalled).
 */
export const TREE_MARK_ENV = 'BACKGROUND_MANAGER_TREE';

/**
 * Live processes whose initial environment holds TREE_MARK_ENV=`mark`, each as its stat,
 * re-read after the environment so that a PID reused between the two reads is not taken.
 */
export function markedWith(mark: string, stats = allStats()): ProcStat[] {
  if (isPortable())
    return portable.marked(TREE_MARK_ENV, mark, stats).filter((st) => st.pid !== process.pid && st.state !== 'Z');
  const needle = `${TREE_MARK_ENV}=${mark}\0`;
  const out: ProcStat[] = [];
  for (const st of stats) {
    if (st.pid === process.pid || st.state === 'Z') continue;
    const env = readProcFile(`/proc/${st.pid}/environ`);
    if (env === undefined) continue; // gone, or another user's
    if (!env.startsWith(needle) && !env.includes(`\0${needle}`)) continue;
    if (sameStart(readStat(st.pid)?.startTicks, st.startTicks)) out.push(st);
  }
  return out;
}

export function signalNumber(name: string): number | undefined {
  const key = (name.startsWith('SIG') ? name : `SIG${name}`).toUpperCase() as keyof typeof constants.signals;
  return constants.signals[key];
}

export function signalName(num: number): string {
  for (const [k, v] of Object.entries(constants.signals)) if (v === num) return k;
  return `signal ${num}`;
}

// Send a signal, ignoring processes that are already gone.
export function trySignal(pid: number, signal: NodeJS.Signals | number): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Live (non-zombie) members among `pids`, each checked against its start time. */
export function stillAlive(members: ProcStat[], table: ProcTable = procTable): ProcStat[] {
  return members.filter((m) => sameProcess(m, table));
}

// Whether `m`'s PID still belongs to the process `m` was read from (the same start time), alive.
function sameProcess(m: ProcStat, table: ProcTable): boolean {
  const st = table.stat(m.pid);
  return st !== undefined && sameStart(st.startTicks, m.startTicks) && st.state !== 'Z' && st.state !== 'X';
}

/**
 * Signal `m` only if its PID is still the process it was read as: the PID-reuse rule that every
 * signal of a stop goes through (lib/process/terminate.ts).
 */
export function signalSame(m: ProcStat, signal: NodeJS.Signals, table: ProcTable = procTable): boolean {
  return sameProcess(m, table) && table.kill(m.pid, signal);
}

/**
 * What stopping a tree needs of the process table: /proc and kill(2) here (procTable), a fake
 * table in the unit tests of terminate.ts.
 */
export interface ProcTable {
  list(): ProcStat[];
  stat(pid: number): ProcStat | undefined;
  /** Processes in `stats` whose environment carries the tree mark `mark` (markedWith). */
  marked(mark: string, stats: ProcStat[]): ProcStat[];
  kill(pid: number, signal: NodeJS.Signals): boolean;
  bootId(): string;
}

export const procTable: ProcTable = {
  list: () => allStats(),
  stat: readStat,
  marked: (mark, stats) => markedWith(mark, stats),
  kill: trySignal,
  bootId,
};

/**
 * Signal a whole tree: stop it first (SIGSTOP) so nothing forks out from under us, send the
 * signal, then let it run (SIGCONT) so it can act on it. Re-collects members until stable.
 * Nothing if `leader`'s PID now belongs to another process than the one started at
 * `leaderStartTicks`.
 */
export function signalTree(
  leader: number,
  signal: NodeJS.Signals,
  leaderStartTicks?: number,
  table: ProcTable = procTable,
  leads = false,
): ProcStat[] {
  // The leader as the first table has it (read now, on either layer), and on the portable layer,
  // whose start times have whole seconds, still leading its group if it led one.
  const firstTable = table.list();
  const lst = firstTable.find((st) => st.pid === leader);
  if (!lst || (leaderStartTicks !== undefined && !sameStart(lst.startTicks, leaderStartTicks))) return [];
  if (leads && isPortable() && lst.pgid !== lst.pid) return [];
  const seen = new Map<number, ProcStat>();
  for (let round = 0; round < 5; round++) {
    const members = treeMembers(leader, round === 0 ? firstTable : table.list()).filter(
      (m) => !seen.has(m.pid) && m.pid !== process.pid,
    );
    if (members.length === 0) break;
    for (const m of members) {
      seen.set(m.pid, m);
      signalSame(m, 'SIGSTOP', table);
    }
  }
  const all = [...seen.values()];
  for (const m of all) signalSame(m, signal, table);
  if (signal !== 'SIGKILL') for (const m of all) signalSame(m, 'SIGCONT', table);
  return all;
}

/**
 * The processes of the session and process group that `leader` (started at `startTicks`)
 * led, itself left out, started after it. None if its PID now belongs to another process:
 * a reused PID must never make strangers look like ours. `gone`: the leader was already
 * gone when its start time was to be read, and `startTicks` is only a lower bound of it:
 * then any process on its PID now is a stranger.
 */
export function sessionMembersOf(
  leader: number,
  startTicks: number | undefined,
  gone = false,
  stats = allStats(),
): ProcStat[] {
  if (startTicks === undefined) return [];
  const now = stats.find((st) => st.pid === leader);
  if (now && (gone || !sameStart(now.startTicks, startTicks))) return [];
  return stats.filter(
    (st) =>
      (st.sid === leader || st.pgid === leader) &&
      st.pid !== leader &&
      st.state !== 'Z' &&
      startedSince(st.startTicks, startTicks),
  );
}

/**
 * A lower bound of the start time (in the layer's unit: /proc/<pid>/stat's clock ticks since
 * boot, or seconds) of a process started after this call: for one that may be gone before its
 * start time can be read.
 */
export function ticksFloor(): number {
  if (isPortable()) return portable.startFloor();
  try {
    return Math.floor(Number(fs.readFileSync('/proc/uptime', 'latin1').split(' ')[0]) * 100) - 2;
  } catch {
    return 0;
  }
}

/** The command name of a process (/proc/<pid>/comm), or undefined if it is gone. */
export function commOf(pid: number): string | undefined {
  if (isPortable()) return portable.comm(pid);
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'latin1').trim();
  } catch {
    return undefined;
  }
}
