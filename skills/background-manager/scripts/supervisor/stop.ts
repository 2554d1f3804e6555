// A stop asked of the supervisor (stop_process, restart_process, remove_process, --replace,
// --timeout): recorded as asked, then the child's whole tree ended by terminateTree, with what
// earlier runs left running; the reply says how it went once the end is in the state.
import type { StopReason } from '../lib/store/state.ts';
import type { StopResult } from '../lib/control/protocol.ts';
import { readStat, sessionMembersOf, treeMembers } from '../lib/process/proc.ts';
import { terminateTree } from '../lib/process/terminate.ts';
import type { Supervisor } from './state.ts';

export async function stopChild(
  sv: Supervisor,
  sigName: string,
  timeoutMs: number,
  reason: StopReason,
): Promise<StopResult> {
  const sig = (sigName.startsWith('SIG') ? sigName : `SIG${sigName}`) as NodeJS.Signals;
  if (!sv.ended) {
    await sv.updateRecord((rec) => void (rec.stopRequest = { signal: sig, at: new Date().toISOString(), reason }));
    sv.out.event(`stop requested: ${sig}${reason === 'stop' ? '' : ` (${reason})`}`);
  }
  const wasBackoff = sv.wakeBackoff !== undefined;
  sv.wakeBackoff?.();
  const deadline = Date.now() + timeoutMs;
  return sv.childRunning ? stopRunning(sv, sig, deadline) : stopBetweenRuns(sv, sig, deadline, wasBackoff);
}

// Between runs, or ended while this stop was being recorded: what the runs left running gets
// the signal (and everything that carries the tree's mark), then SIGKILL after the grace period.
async function stopBetweenRuns(
  sv: Supervisor,
  sig: NodeJS.Signals,
  deadline: number,
  wasBackoff: boolean,
): Promise<StopResult> {
  await sv.finished;
  const t = await terminateTree({
    roots: sv.liveLeftovers(),
    signal: sig,
    graceMs: Math.max(0, deadline - Date.now()),
    mark: sv.treeMark,
  });
  return {
    endedBy: wasBackoff ? 'exit' : 'exited',
    exitCode: sv.ended!.exitCode,
    signal: sv.ended!.signal,
    killedLeftovers: t.killed.length,
    endedLeftovers: t.first.length,
  };
}

async function stopRunning(sv: Supervisor, sig: NodeJS.Signals, deadline: number): Promise<StopResult> {
  const child = sv.child;
  const pid = child.pid;
  // The command may have exited already, its end not yet recorded (a background job still
  // holds its output open): then what it left in its session and group gets the signal.
  const exitedBefore = child.hasExited();
  // Its identity: recorded at the start; read now only if it cannot have been reaped yet.
  const ident = sv.childStat?.startTicks ?? (exitedBefore ? undefined : readStat(pid)?.startTicks);
  const itself = ident !== undefined ? [{ pid, startTicks: ident, leads: true }] : [];
  // With it: its session's members, and what earlier runs left running (checked by start time).
  const roots = [...itself, ...sessionMembersOf(pid, ident ?? sv.since(), ident === undefined), ...sv.liveLeftovers()];
  const t = await terminateTree({
    roots,
    signal: sig,
    graceMs: Math.max(0, deadline - Date.now()),
    mark: sv.treeMark,
    // Only while the child is unreaped: after that its PID may belong to someone else, so
    // only descendants of known members are taken on.
    discover: (stats) => (child.hasExited() ? [] : treeMembers(pid, stats)),
    settled: () => sv.ended !== undefined,
  });
  const endedBy = t.killed.some((m) => m.pid === pid) ? 'SIGKILL' : exitedBefore ? 'exited' : (sig as string);
  await sv.finished;
  const others = (list: { pid: number }[]) => list.filter((m) => m.pid !== pid).length;
  return {
    endedBy,
    exitCode: sv.ended!.exitCode,
    signal: sv.ended!.signal,
    killedLeftovers: others(t.killed),
    ...(exitedBefore ? { endedLeftovers: others(t.first) } : {}),
  };
}
