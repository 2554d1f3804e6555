// Ending a process tree: the one way every stop does it (the supervisor's stop and --timeout,
// stop_process around a dead or hung supervisor, the background jobs an ended process left, a
// run that could not be registered). The signal goes to each root's whole tree; during the
// grace period new members are looked for (children forked by members, what the caller
// discovers, and every 0.5 s whatever carries the tree's BACKGROUND_MANAGER_TREE mark, which
// finds jobs that left the session with setsid); then SIGKILL for what is left. Every member
// is identity-checked (PID and kernel start time, the roots' boot too) before each signal
// (proc.ts signalSame): a PID reused by a stranger is never signalled.
//
// The process table and the clock are parameters, so the escalation is unit-tested against a
// fake table in milliseconds (tests/unit/terminate.test.ts).
import {
  adoptChildren,
  isPortable,
  procTable,
  signalSame,
  signalTree,
  stillAlive,
  type ProcStat,
  type ProcTable,
} from './proc.ts';

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };

/** How often the members are checked during the grace period. */
const POLL_MS = 25;
/** How often the whole table is searched for the tree's mark (each search reads every environ). */
const MARK_SCAN_MS = 500;
/** How long SIGKILLed members may take to be gone (the kernel must run them: slow under load). */
const KILL_WAIT_MS = 5_000;

/** A process as recorded: its PID and its kernel start time; `leads`: it led its process group (the command). */
export type Member = Pick<ProcStat, 'pid' | 'startTicks'> & { leads?: boolean };

export interface TerminateOptions {
  /** Processes whose trees get the signal; one whose PID now belongs to another process is skipped. */
  roots: Member[];
  signal: NodeJS.Signals;
  graceMs: number;
  /** The boot the roots were recorded in: after a reboot none of them is ours, and nothing is signalled. */
  bootId?: string;
  /** The tree's BACKGROUND_MANAGER_TREE value (proc.ts markedWith): those carrying it get the signal too. */
  mark?: string;
  /** More members, from each look at the table: watched, not signalled, SIGKILLed if still there after the grace. */
  discover?: (stats: ProcStat[]) => ProcStat[];
  /** Also wait for this before the tree counts as ended (the supervisor: the run's end recorded). */
  settled?: () => boolean;
  table?: ProcTable;
  clock?: Clock;
}

export interface Termination {
  /** The members signalled at the start, before the grace period. */
  first: ProcStat[];
  /** The members still alive when the grace period ran out: they got SIGKILL and are gone. */
  killed: ProcStat[];
}

/** Signal the roots' trees, wait up to the grace period for every member to end, SIGKILL the rest. */
export async function terminateTree(o: TerminateOptions): Promise<Termination> {
  const table = o.table ?? procTable;
  const clock = o.clock ?? realClock;
  if (o.bootId !== undefined && o.bootId !== table.bootId()) return { first: [], killed: [] };
  const members = new Map<number, ProcStat>();
  const take = (found: ProcStat[]) => {
    for (const m of found) if (!members.has(m.pid)) members.set(m.pid, m);
  };
  const signalRoots = (roots: Member[]) => {
    for (const r of roots) if (!members.has(r.pid)) take(signalTree(r.pid, o.signal, r.startTicks, table, r.leads));
  };
  signalRoots(o.roots);
  if (o.mark) signalRoots(table.marked(o.mark, table.list()));
  const first = [...members.values()];
  const deadline = clock.now() + o.graceMs;
  let markScan = clock.now();
  for (;;) {
    const stats = table.list();
    if (o.discover) take(o.discover(stats));
    take(adoptChildren(members, stats)); // forked by members since they were found
    if (o.mark && clock.now() - markScan >= MARK_SCAN_MS) {
      markScan = clock.now();
      signalRoots(table.marked(o.mark, stats));
    }
    const alive = stillAlive([...members.values()], table);
    if (alive.length === 0 && (o.settled?.() ?? true)) return { first, killed: [] };
    if (clock.now() >= deadline) return { first, killed: await killNow(alive, table, clock) };
    await clock.sleep(POLL_MS);
  }
}

// SIGKILL each (still the same process), then wait until they are gone: callers report them
// as killed, so they must be dead when the report goes out.
async function killNow(alive: ProcStat[], table: ProcTable, clock: Clock): Promise<ProcStat[]> {
  // The portable layer answers each member's check from the last table read (this turn's): read
  // it now, so no slow look at the marks since stands between the check and the kill.
  if (isPortable()) table.list();
  for (const m of alive) signalSame(m, 'SIGKILL', table);
  const until = clock.now() + KILL_WAIT_MS;
  while (stillAlive(alive, table).length > 0 && clock.now() < until) await clock.sleep(POLL_MS);
  return alive;
}
