// The portable process layer (BG_PLATFORM=portable; the default where /proc does not exist, as
// on macOS): what the Linux layer reads in /proc, asked of ps, lsof and sysctl instead, in the
// forms that macOS (adv_cmds' ps, Apple's lsof) and procps/lsof on Linux both take. Nothing here
// opens a /proc path itself (tests/portable-noproc.test.ts checks it with strace); the programs
// it runs may.
//
// What differs from the Linux layer, and how it is handled (REFERENCE.md, "Other systems"):
// - Start time: `lstart` (one-second resolution, local time and locale: ps runs with LC_ALL=C
//   TZ=UTC) instead of kernel clock ticks: ProcStat.startTicks holds whole seconds since 1970,
//   and two reads of one process may differ by a second (procps derives it from the boot time,
//   which moves when the clock is stepped): starts are compared with START_SLACK_S
//   (proc.ts sameStart). A recorded session leader (the command, the supervisor) must still
//   lead its process group (matchIdentity `leader`), a second check against a reused PID.
// - Sessions: macOS `ps -o sess` prints a kernel pointer (0 for unprivileged callers) and has
//   no `sid`: sid is not read (-1). The tree is the process group, the ppid descendants, the
//   processes whose controlling terminal is the leader's (`tty`: one terminal, one session),
//   and the environment marker.
// - Environment of other processes: `ps -E` (macOS; `ps eww` there means all processes) or
//   `ps e` (procps), with -ww, matched as a whole word.
// - Boot identity: `sysctl -n kern.bootsessionuuid` (macOS; not kern.boottime, which moves
//   when the clock is stepped), `kernel.random.boot_id` (Linux).
// - Ports: `lsof -nP -w -iTCP -sTCP:LISTEN -F pn` once per look (its LISTEN sockets, by PID).
// - Waiting for input: macOS fills no wait channel for ps (XNU's fill_externproc sets p_wmesg
//   to 0), and /proc/<pid>/syscall has no counterpart: unknown (null), never "waiting".
// The programs are run by absolute path (not through PATH, which a caller may point anywhere),
// with an environment of PATH, LC_ALL and TZ only (never BG_PASSWORD).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BgError } from '../errors.ts';
import type { ProcStat } from './procstat.ts';

/** How far apart two reads of one process's start time may be, in seconds. */
export const START_SLACK_S = 1;

const PROGRAMS: Record<string, string[]> = {
  ps: ['/bin/ps', '/usr/bin/ps'],
  lsof: ['/usr/sbin/lsof', '/usr/bin/lsof'],
  sysctl: ['/usr/sbin/sysctl', '/sbin/sysctl', '/usr/bin/sysctl'],
};
const INSTALL: Record<string, string> = {
  ps: 'procps on Linux',
  lsof: 'lsof',
  sysctl: 'procps on Linux',
};

const found = new Map<string, string>();
function program(name: string): string {
  let p = found.get(name);
  if (p) return p;
  p = PROGRAMS[name]!.find((c) => {
    try {
      fs.accessSync(c, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (!p) {
    throw new BgError(
      'CANNOT_START',
      `the portable process layer needs ${name} (${PROGRAMS[name]!.join(' or ')}), which is not there: install ${INSTALL[name]}.`,
    );
  }
  found.set(name, p);
  return p;
}

/**
 * Runs one of the programs to its end: its stdout. One that could not start, was
 * ended by a signal or ran past the time limit is asked once more, then is an error: a cut-off
 * table must not read as processes that are gone. (An exit status of 1 is an answer: ps -p of a
 * PID that is gone, lsof that found nothing.)
 */
export function run(name: string, args: string[]): string {
  for (let attempt = 1; ; attempt++) {
    const r = spawnSync(program(name), args, {
      env: { PATH: '/usr/bin:/bin:/usr/sbin:/sbin', LC_ALL: 'C', TZ: 'UTC' },
      encoding: 'latin1',
      maxBuffer: 256 << 20,
      timeout: 30_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    if (!r.error && !r.signal) return r.stdout ?? '';
    if (attempt === 2)
      throw new BgError('SUPERVISOR', `${name} did not finish: ${r.error?.message ?? `ended by ${r.signal}`}.`);
  }
}

const MONTHS = 'JanFebMarAprMayJunJulAugSepOctNovDec';

/** A PID, then an lstart ("Mon Dec  7 03:04:34 2026", LC_ALL=C TZ=UTC). */
const START = /^\s*(\d+)\s+[A-Z][a-z]{2}\s+([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d\d):(\d\d):(\d\d)\s+(\d{4})\s/;

/** Seconds since 1970 from an lstart's month, day, hours, minutes, seconds and year at m[at..at+5]; NaN for an unknown month. */
function startOf(m: RegExpExecArray, at: number): number {
  const mon = MONTHS.indexOf(m[at]!);
  if (mon < 0 || mon % 3) return Number.NaN;
  const n = (k: number) => Number(m[at + k]);
  return Date.UTC(n(5), mon / 3, n(1), n(2), n(3), n(4)) / 1000;
}

/** The fields every table read asks for: the start time has spaces, the command name comes last. */
const FIELDS = 'pid=,ppid=,pgid=,tpgid=,stat=,lstart=,tty=,comm=';
const LINE =
  /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(-?\d+)\s+(\S+)\s+[A-Z][a-z]{2}\s+([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d\d):(\d\d):(\d\d)\s+(\d{4})\s+(\S+)(?:\s(.*))?$/;

/** One line of `ps -o FIELDS` (LC_ALL=C TZ=UTC); undefined for a line that does not fit. */
export function parsePsLine(line: string): (ProcStat & { comm: string }) | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const start = startOf(m, 6);
  if (Number.isNaN(start)) return undefined;
  const tty = m[12]!;
  return {
    pid: Number(m[1]),
    ppid: Number(m[2]),
    pgid: Number(m[3]),
    sid: -1,
    tpgid: Number(m[4]),
    state: m[5]![0]!,
    startTicks: start,
    tty: /^\?+$|^-$/.test(tty) ? undefined : tty,
    comm: path.basename((m[13] ?? '').trim()),
  };
}

function parseTable(out: string): (ProcStat & { comm: string })[] {
  const rows: (ProcStat & { comm: string })[] = [];
  for (const line of out.split('\n')) {
    const st = parsePsLine(line);
    if (st) rows.push(st);
  }
  return rows;
}

// A table read answers stat() for the rest of this turn of the event loop: a stop's loop reads
// the table and then checks each member against it, which would otherwise cost one ps per member.
let turn: Map<number, ProcStat & { comm: string }> | undefined;

export function list(): ProcStat[] {
  const rows = parseTable(run('ps', ['-A', '-o', FIELDS]));
  // This process is always in a whole table: one without it was not read whole.
  if (!rows.some((r) => r.pid === process.pid))
    throw new BgError('SUPERVISOR', `ps -A listed ${rows.length} processes, not this one: its output cannot be read.`);
  if (!turn) queueMicrotask(() => (turn = undefined));
  turn = new Map(rows.map((r) => [r.pid, r]));
  return rows;
}

// What ps said of a PID, and when: a wait's look (proc.ts pollingLook; never a check before a
// signal) asks ps again only every CONFIRM_MS, and kill(pid, 0) in between (a process that ended
// is seen at once; one whose PID was handed to another within CONFIRM_MS is not, nor a zombie,
// until the next ps).
const confirmed = new Map<number, { row: ProcStat & { comm: string }; at: number }>();
const CONFIRM_MS = 1000;

export function stat(pid: number, polling = false): ProcStat | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const seen = turn?.get(pid);
  if (seen) return seen;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') {
      confirmed.delete(pid);
      return undefined; // gone: no ps needed
    }
  }
  const known = polling ? confirmed.get(pid) : undefined;
  if (known && Date.now() - known.at < CONFIRM_MS) return known.row;
  const row = parseTable(run('ps', ['-o', FIELDS, '-p', String(pid)])).find((r) => r.pid === pid);
  if (row) confirmed.set(pid, { row, at: Date.now() });
  else confirmed.delete(pid);
  return row;
}

export function comm(pid: number): string | undefined {
  return (stat(pid) as (ProcStat & { comm?: string }) | undefined)?.comm;
}

let boot: string | undefined;
export function bootId(): string {
  if (boot) return boot;
  const key =
    process.platform === 'darwin'
      ? 'kern.bootsessionuuid'
      : process.platform === 'linux'
        ? 'kernel.random.boot_id'
        : 'kern.boottime';
  const out = run('sysctl', ['-n', key]).trim();
  // kern.boottime (the BSDs): "{ sec = 1700000000, usec = 12345 } ...": the seconds and micro-seconds.
  const bsd = /sec = (\d+), usec = (\d+)/.exec(out);
  boot = bsd ? `boottime-${bsd[1]}.${bsd[2]}` : out;
  if (!boot) throw new BgError('SUPERVISOR', `sysctl -n ${key} said nothing: the boot cannot be told apart.`);
  return boot;
}

/** A lower bound, in startTicks' unit (seconds), of the start of a process started after this call. */
export function startFloor(): number {
  return Math.floor(Date.now() / 1000) - 2;
}

/**
 * Processes in `stats` whose initial environment holds `NAME=value` as a whole word, as ps
 * prints it after the command: `ps -E` on macOS, `ps e` with procps. Only processes of this
 * user are read (another user's environment is not shown anyway).
 */
export function marked(name: string, value: string, stats: ProcStat[]): ProcStat[] {
  const uid = String(process.getuid?.() ?? 0);
  const envFlag = process.platform === 'linux' ? 'e' : '-E';
  return parseMarked(run('ps', ['-U', uid, envFlag, '-ww', '-o', 'pid=,lstart=,command=']), `${name}=${value}`, stats);
}

/**
 * The rows of `stats` whose line of `ps -o pid=,lstart=,command=` with the environment holds
 * `pair` as a whole word, and whose start time there is the table's (a PID reused between the
 * two reads is not taken). A command line that holds the pair counts too: only a process that
 * knows the random value can print it.
 */
export function parseMarked(out: string, pair: string, stats: ProcStat[]): ProcStat[] {
  const needle = ` ${pair}`;
  const byPid = new Map(stats.map((s) => [s.pid, s]));
  const hits: ProcStat[] = [];
  for (const line of out.split('\n')) {
    const i = line.indexOf(needle);
    if (i < 0) continue;
    const after = line.charCodeAt(i + needle.length);
    if (!Number.isNaN(after) && after !== 32) continue; // a longer value: another mark
    const m = START.exec(line);
    if (!m) continue;
    const st = byPid.get(Number(m[1]));
    if (st && Math.abs(st.startTicks - startOf(m, 2)) <= START_SLACK_S) hits.push(st);
  }
  return hits;
}

/** TCP LISTEN sockets of the processes lsof can see, as PID -> ports. */
export function listeningByPid(): Map<number, number[]> {
  try {
    return parseLsof(run('lsof', ['-nP', '-w', '-iTCP', '-sTCP:LISTEN', '-F', 'pn']));
  } catch (err) {
    // Ports are what a listing shows, never what a stop decides on: none, rather than no listing.
    if (err instanceof BgError && err.code === 'SUPERVISOR') return new Map();
    throw err;
  }
}

/** lsof's -F pn output ("p<pid>", then "n<address>:<port>" per socket) as PID -> ports. */
export function parseLsof(text: string): Map<number, number[]> {
  const out = new Map<number, number[]>();
  let pid = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('p')) pid = Number(line.slice(1));
    else if (line.startsWith('n') && pid) {
      const port = Number(line.slice(line.lastIndexOf(':') + 1));
      if (!Number.isInteger(port) || port <= 0) continue;
      const ports = out.get(pid) ?? [];
      if (!ports.includes(port)) ports.push(port);
      out.set(pid, ports);
    }
  }
  return out;
}
