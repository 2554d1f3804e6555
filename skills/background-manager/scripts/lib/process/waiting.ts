// Whether a process waits for input, as the kernel tells it (issue 26, part 1): a process of
// the terminal's foreground group (--no-pty: a holder of the command's stdin pipe) blocked in
// `read` on an fd that refers to that terminal or pipe, in `select`/`poll` over such an fd, or
// in `epoll_wait` on an epoll set that holds one (its fdinfo `tfd:` lines). No prompt text is
// looked at. /proc/<pid>/syscall (and /proc/<pid>/mem, for a poll's fd list) need ptrace
// rights: where they are refused (Yama ptrace_scope >= 2, a non-dumpable program such as
// sudo without CAP_SYS_PTRACE), or the reader is not a descendant of the one asking (what Yama
// ptrace_scope=1 refuses; answered the same on machines without Yama), the answer is null:
// unknown, never "waiting". Only the supervisor, the command's ancestor, asks (supervisor/
// waiting.ts). Pure readers of /proc; the parsing is exported for the unit tests.
import fs from 'node:fs';
import { readProcFile } from './proc.ts';

/** Syscall numbers of one architecture (`process.arch`): only those the detector looks at. */
interface SyscallTable {
  read: number[]; // read(fd, ...), readv(fd, ...)
  select: number[]; // select/pselect6(nfds, readfds, ...)
  poll: number[]; // poll/ppoll(fds, nfds, ...)
  epoll: number[]; // epoll_wait/epoll_pwait/epoll_pwait2(epfd, ...)
}

/** From the kernel's tables: arch/x86/entry/syscalls/syscall_64.tbl, include/uapi/asm-generic/unistd.h (arm64). */
export const SYSCALLS: Record<string, SyscallTable> = {
  x64: { read: [0, 19], select: [23, 270], poll: [7, 271], epoll: [232, 281, 441] },
  arm64: { read: [63, 65], select: [72], poll: [73], epoll: [22, 441] },
};

/** What /proc/<pid>/syscall says: blocked in syscall `nr` with these arguments, or running. */
export type SyscallState = { nr: number; args: bigint[] } | 'running' | 'none';

/** Parse /proc/<pid>/syscall: "nr arg1..arg6 sp pc", "running", or "-1 sp pc" (blocked, not in a syscall). */
export function parseSyscall(text: string): SyscallState | undefined {
  const t = text.trim();
  if (t === 'running') return 'running';
  const f = t.split(/\s+/);
  const nr = Number(f[0]);
  if (!Number.isInteger(nr)) return undefined;
  if (nr < 0) return 'none';
  const args = f.slice(1, 7).map((a) => {
    try {
      return BigInt(a);
    } catch {
      return -1n;
    }
  });
  if (args.length < 6) return undefined;
  return { nr, args };
}

/** The fds an epoll set watches, from its /proc/<pid>/fdinfo/<epfd> ("tfd:  5 events: ..."). */
export function parseEpollTargets(fdinfo: string): number[] {
  const out: number[] = [];
  for (const m of fdinfo.matchAll(/^tfd:\s+(\d+)\s/gm)) out.push(Number(m[1]));
  return out;
}

/** The fds of an fd_set bitmap (select's readfds) below nfds; little-endian longs. */
export function fdSetMembers(bits: Buffer, nfds: number): number[] {
  const out: number[] = [];
  for (let fd = 0; fd < nfds && fd >> 3 < bits.length; fd++) if (bits[fd >> 3]! & (1 << (fd & 7))) out.push(fd);
  return out;
}

/** The fds of a pollfd array (poll's fds: int fd, short events, short revents) that ask to read (POLLIN|POLLPRI). */
export function pollReadFds(arr: Buffer): number[] {
  const out: number[] = [];
  for (let off = 0; off + 8 <= arr.length; off += 8) {
    const fd = arr.readInt32LE(off);
    if (fd >= 0 && arr.readInt16LE(off + 4) & 0x3) out.push(fd);
  }
  return out;
}

/** Kernel functions a process sleeps in while it waits in read/select/poll/epoll (/proc/<pid>/wchan). */
const WAIT_CHANNELS =
  /^(0|n_tty_read|tty_read|wait_woken|pipe_read|anon_pipe_read|pipe_wait|pipe_wait_readable|do_select|core_sys_select|do_sys_poll|poll_schedule_timeout.*|ep_poll|do_epoll_wait|schedule_hrtimeout_range.*|__skb_wait_for_more_packets)$/;

/** Whether a wchan fits a wait for input (a cross-check of the syscall, read a moment apart): "0" and unknown names say nothing against it. */
export function wchanFits(wchan: string | undefined): boolean {
  if (wchan === undefined || wchan === '') return true;
  return WAIT_CHANNELS.test(wchan) || !/sleep|futex|wait4|do_wait|sigsuspend|sigtimedwait/.test(wchan);
}

/** What the input of a command is: its terminal (PTY) or the pipe its stdin is. */
export type InputTarget = { kind: 'tty'; pts: string; ttyNr: number } | { kind: 'pipe'; link: string };

/** How one process stands. */
export type Verdict = { waiting: true; pid: number; how: string } | { waiting: false } | { waiting: null; why: string };

const NOT: Verdict = { waiting: false };

function fdLink(pid: number, fd: number): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
  } catch {
    return undefined;
  }
}

/** Whether fd `fd` of `pid` refers to the input (its terminal by path or as /dev/tty of the same terminal, or the pipe). */
function isInput(pid: number, fd: number, target: InputTarget, ttyNr: number): boolean {
  const link = fdLink(pid, fd);
  if (link === undefined) return false;
  if (target.kind === 'pipe') return link === target.link;
  return link === target.pts || (link === '/dev/tty' && ttyNr === target.ttyNr);
}

/** Read `len` bytes at `addr` of `pid`'s memory (ptrace rights, as for syscall); undefined if refused. */
function readMem(pid: number, addr: bigint, len: number): Buffer | undefined {
  if (len <= 0 || len > 65536 || addr <= 0n) return undefined;
  let fd: number;
  try {
    fd = fs.openSync(`/proc/${pid}/mem`, 'r');
  } catch {
    return undefined;
  }
  try {
    const buf = Buffer.alloc(len);
    const n = fs.readSync(fd, buf, 0, len, addr as unknown as number);
    return n === len ? buf : undefined;
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

/** The process's own fds that refer to the input (for select/poll read from its memory only when that is refused). */
function inputFds(pid: number, target: InputTarget, ttyNr: number): number[] {
  let names: string[];
  try {
    names = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
  return names.map(Number).filter((fd) => isInput(pid, fd, target, ttyNr));
}

/**
 * Whether `pid` (state `state`, controlling terminal `ttyNr`) is blocked reading the input.
 * `table`: this machine's syscall numbers.
 */
export function readerVerdict(
  pid: number,
  state: string,
  ttyNr: number,
  target: InputTarget,
  table: SyscallTable | undefined = SYSCALLS[process.arch],
): Verdict {
  if (!table) return { waiting: null, why: `no syscall table for ${process.arch}` };
  if (state !== 'S') return NOT; // running, stopped (a background read: SIGTTIN), in disk sleep
  const text = readProcFile(`/proc/${pid}/syscall`);
  if (text === undefined) {
    if (!fs.existsSync(`/proc/${pid}`)) return NOT;
    return { waiting: null, why: `/proc/${pid}/syscall cannot be read (no ptrace rights over it)` };
  }
  const sc = parseSyscall(text);
  if (sc === undefined) return { waiting: null, why: `/proc/${pid}/syscall unreadable: ${text.trim()}` };
  if (sc === 'running' || sc === 'none') return NOT;
  const { nr, args } = sc;
  let how: string | undefined;
  if (table.read.includes(nr)) {
    if (isInput(pid, Number(args[0]), target, ttyNr)) how = `read on fd ${args[0]}`;
  } else if (table.select.includes(nr)) {
    const nfds = Number(args[0]);
    const bits = readMem(pid, args[1]!, Math.ceil(nfds / 64) * 8);
    const fds = bits ? fdSetMembers(bits, nfds) : inputFds(pid, target, ttyNr).filter((fd) => fd < nfds);
    const fd = fds.find((f) => isInput(pid, f, target, ttyNr));
    if (fd !== undefined) how = `select on fd ${fd}`;
  } else if (table.poll.includes(nr)) {
    const nfds = Number(args[1]);
    const arr = readMem(pid, args[0]!, nfds * 8);
    const fds = arr ? pollReadFds(arr) : nfds > 0 ? inputFds(pid, target, ttyNr) : [];
    const fd = fds.find((f) => isInput(pid, f, target, ttyNr));
    if (fd !== undefined) how = `poll on fd ${fd}`;
  } else if (table.epoll.includes(nr)) {
    const info = readProcFile(`/proc/${pid}/fdinfo/${Number(args[0])}`);
    const fd = info ? parseEpollTargets(info).find((f) => isInput(pid, f, target, ttyNr)) : undefined;
    if (fd !== undefined) how = `epoll_wait watching fd ${fd}`;
  }
  if (!how) return NOT;
  const wchan = readProcFile(`/proc/${pid}/wchan`);
  if (!wchanFits(wchan)) return NOT;
  return { waiting: true, pid, how };
}

/** A process's fields from /proc/<pid>/stat that the detector needs. */
export interface TtyStat {
  pid: number;
  state: string;
  ppid: number;
  pgid: number;
  sid: number;
  ttyNr: number;
  tpgid: number;
}

/** /proc/<pid>/stat with its terminal fields (tty_nr, tpgid); undefined if gone. */
export function readTtyStat(pid: number): TtyStat | undefined {
  const text = readProcFile(`/proc/${pid}/stat`);
  return text === undefined ? undefined : parseTtyStat(pid, text);
}

/** Parse /proc/<pid>/stat after the last ')' (the command name may hold both). */
export function parseTtyStat(pid: number, text: string): TtyStat {
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return {
    pid,
    state: f[0]!,
    ppid: Number(f[1]),
    pgid: Number(f[2]),
    sid: Number(f[3]),
    ttyNr: Number(f[4]),
    tpgid: Number(f[5]),
  };
}

/** Every process's terminal fields (one pass over /proc). */
function allTtyStats(): TtyStat[] {
  const out: TtyStat[] = [];
  for (const name of fs.readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const st = readTtyStat(pid);
    if (st) out.push(st);
  }
  return out;
}

/** Whether `pid` descends from `ancestor` (by the ppid chain; a link not in `byPid` is read). */
function descends(pid: number, ancestor: number, byPid: Map<number, TtyStat>): boolean {
  const parent = (p: number) => (byPid.get(p) ?? readTtyStat(p))?.ppid;
  for (let p = parent(pid), n = 0; p && n < 1000; p = parent(p), n++) if (p === ancestor) return true;
  return false;
}

/** What the detector is asked: the command (the supervisor's child), its input, who asks. */
export interface DetectRequest {
  childPid: number;
  target: InputTarget;
  /** The asking process (the supervisor): readers that do not descend from it are unknown. */
  ancestor: number;
  /** Whether the command's tree listens on a TCP port (asked only of a tree found waiting). */
  listens: (stats: TtyStat[]) => boolean;
  /**
   * The PIDs of the command's session as a full look found them: only those are read again
   * (a re-check while nothing happened). Undefined: every process is read (/proc walked).
   */
  known?: number[];
}

/** The answer: waiting (who, how), not waiting, or unknown (why); with the session's PIDs as read. */
export type Detection = Verdict & { listening?: boolean; session?: number[] };

/**
 * Whether the command waits for input now. The readers looked at: under a PTY the terminal's
 * foreground process group (tpgid, as the child sees it), with --no-pty the processes of the
 * command's session that hold its stdin pipe. One of them waiting: waiting, unless one of them
 * cannot be judged (unknown). A tree that listens on a TCP port is a server that reads keys
 * (Vite's `h + enter`, jest/vitest watch, nodemon's `rs`): not reported as waiting.
 */
export function detectWaiting(req: DetectRequest): Detection {
  const child = readTtyStat(req.childPid);
  if (!child || child.state === 'Z') return NOT;
  const stats = req.known ? knownStats(req.known, child) : allTtyStats();
  const session = stats.filter((s) => s.sid === child.sid).map((s) => s.pid);
  return { ...judge(req, child, stats), session };
}

/** The stats of `pids` still alive, and the child's. */
function knownStats(pids: number[], child: TtyStat): TtyStat[] {
  const out = [child];
  for (const pid of pids) {
    if (pid === child.pid) continue;
    const st = readTtyStat(pid);
    if (st) out.push(st);
  }
  return out;
}

function judge(req: DetectRequest, child: TtyStat, stats: TtyStat[]): Detection {
  const byPid = new Map(stats.map((s) => [s.pid, s]));
  let readers: TtyStat[];
  if (req.target.kind === 'tty') {
    if (child.tpgid <= 0) return NOT;
    readers = stats.filter((s) => s.pgid === child.tpgid && s.state !== 'Z');
  } else {
    const sid = child.sid;
    readers = stats.filter(
      (s) =>
        (s.sid === sid || s.pid === req.childPid) && s.state !== 'Z' && inputFds(s.pid, req.target, s.ttyNr).length,
    );
  }
  let unknown: Verdict | undefined;
  let found: Verdict | undefined;
  for (const r of readers) {
    if (r.pid !== req.childPid && !descends(r.pid, req.ancestor, byPid)) {
      unknown ??= { waiting: null, why: `PID ${r.pid} reads the input but is not a descendant of the supervisor` };
      continue;
    }
    const v = readerVerdict(r.pid, r.state, r.ttyNr, req.target);
    if (v.waiting === null) unknown ??= v;
    else if (v.waiting) found ??= v;
  }
  if (found) return req.listens(stats) ? { waiting: false, listening: true } : found;
  return unknown ?? NOT;
}
