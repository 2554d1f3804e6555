// The supervisor's events (lib/store/events.ts): recordEvent is the one function every part
// calls to say what happened; the ports this run's tree listens on are polled (portPoller); the
// last output (output-tail.ts) gives an end its last error line.
import { appendEvent, type NewEvent, type StoredKind } from '../lib/store/events.ts';
import { listeningInodeSet, listeningPorts } from '../lib/process/ports.ts';
import { isPortable } from '../lib/process/proc.ts';
import type { Supervisor } from './state.ts';
import { describeExit, type Exit } from './policy.ts';

/** How often the ports are looked at: a read of /proc/net/tcp{,6}; the tree only when those changed. */
export const PORT_POLL_MS = 2_000;
/** The same on the portable layer, where each look runs lsof (15-40 ms of CPU here; more on macOS). */
export const PORTABLE_PORT_POLL_MS = 5_000;

/** Events written one after another (their order kept), none waited for by the run. */
const pending = new WeakMap<Supervisor, Promise<unknown>>();

/**
 * Record an event of this supervisor's process. Never throws: a failure is noted in the log.
 * `extra`: the event's fields beyond its kind and text.
 */
export function recordEvent(
  sv: Supervisor,
  event: StoredKind,
  text: string,
  extra: Partial<Omit<NewEvent, 'event' | 'text' | 'id'>> = {},
): Promise<unknown> {
  const ev: NewEvent = { ...extra, id: sv.id, event, text, at: new Date().toISOString() };
  if (sv.cfg.name) ev.name = sv.cfg.name;
  const next = (pending.get(sv) ?? Promise.resolve()).then(() =>
    appendEvent(sv.cfg.dataDir, sv.keys, ev).catch((err: Error) =>
      sv.out.event(`could not record the ${event} event: ${err.message}`),
    ),
  );
  pending.set(sv, next);
  return next;
}

/** Every event asked for so far is written (before the supervisor exits). */
export function eventsWritten(sv: Supervisor): Promise<unknown> {
  return pending.get(sv) ?? Promise.resolve();
}

/**
 * The waiting-input event (issue 26, part 1's transition, waiting.ts setWaiting, calls it when
 * the command starts to wait): its prompt is the last line it printed (one with no newline yet).
 */
export function recordWaitingInput(sv: Supervisor, detail: string | undefined): void {
  const prompt = sv.tail.lastLine();
  void recordEvent(sv, 'waiting-input', prompt ?? `(no prompt printed${detail ? `; ${detail}` : ''})`, {
    pid: sv.child.pid,
    ...(prompt ? { line: prompt } : {}),
  });
}

/** An end event's text: the status, what the policy's note adds, the last error line. */
export function endText(exit: Exit, note: string, line: string | undefined): string {
  const how = exit.signal ?? `code ${exit.exitCode}`;
  const said = describeExit(exit);
  const rest = note.startsWith(said)
    ? note
        .slice(said.length)
        .replace(/^; /, ', ')
        .replace(/^ \((.*)\)$/, ', $1')
    : '';
  const failed = exit.signal !== null || exit.exitCode !== 0;
  return `${how}${rest}${line && failed ? `: ${line}` : ''}`;
}

/** How a run's end is named as an event. */
export function endKind(exit: Exit, stopping: boolean): StoredKind {
  if (stopping) return 'stopped';
  if (exit.signal) return 'killed';
  return exit.exitCode === 0 ? 'exited' : 'failed';
}

/**
 * Poll the ports the current run's tree listens on, every PORT_POLL_MS (portable layer:
 * PORTABLE_PORT_POLL_MS), and record each one
 * that opens or closes. Cheap while idle: the LISTEN sockets of the whole machine are read
 * (two small files) and the tree is walked only when that set changed. Returns the stop.
 */
export function portPoller(sv: Supervisor): () => void {
  let known: number[] = [];
  let inodes = '';
  let pid = 0;
  const look = () => {
    try {
      lookNow();
    } catch {
      /* ps or lsof failed twice (portable layer): the next look tries again */
    }
  };
  const lookNow = () => {
    if (!sv.childRunning || sv.ended) return;
    const set = listeningInodeSet();
    if (set === inodes && pid === sv.child.pid) return;
    inodes = set;
    pid = sv.child.pid;
    const now = listeningPorts(sv.child.pid);
    for (const p of now)
      if (!known.includes(p)) void recordEvent(sv, 'port-opened', `listening on port ${p}`, { port: p, pid });
    for (const p of known)
      if (!now.includes(p)) void recordEvent(sv, 'port-closed', `port ${p} closed`, { port: p, pid });
    known = now;
  };
  const timer = setInterval(look, isPortable() ? PORTABLE_PORT_POLL_MS : PORT_POLL_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    // Ports still open when the process ended closed with it: said once, by the end event.
    known = [];
  };
}
