// What a supervisor knows while it runs, in one object the other parts share (main.ts makes it):
// the current run's child, the stop under way, how the last run ended, the jobs runs left
// behind. Who writes what: the run loop (run.ts, ending.ts) the child, the leftovers and the
// end; a stop request (handlers.ts) or the --timeout (main.ts) the stop, once.
import type { SubKeys } from '../lib/store/crypto.ts';
import type { OutputLog } from '../lib/log/write/outputlog.ts';
import type { Leftover, ProcessRecord, StateStore, StopReason } from '../lib/store/state.ts';
import { findRecord } from '../lib/store/state.ts';
import type { SupervisorConfig } from '../lib/control/supervisor-config.ts';
import type { StopResult } from '../lib/control/protocol.ts';
import { readStat, stillAlive, ticksFloor, type ProcStat } from '../lib/process/proc.ts';
import { startChild, type Child } from './child.ts';
import type { Exit } from './policy.ts';
import { Viewers } from './viewers.ts';

export class Supervisor {
  /** The record's ID: known once the run is registered (or given, for restart_process). */
  id: string;
  child!: Child;
  /** The child's stat when it started: undefined if it was gone before it could be read. */
  childStat: ProcStat | undefined;
  /** A lower bound of the child's start time, taken before the spawn. */
  private spawnFloor = 0;
  /** False from the child's exit until the next run starts. */
  childRunning = false;
  /** The stop under way (stop_process, --timeout): one per supervisor, later requests share it. */
  stop: { reason: StopReason; result: Promise<StopResult> } | undefined;
  /** The last run's end, once no run follows. */
  ended: Exit | undefined;
  /** Background jobs that outlived a run. */
  readonly leftovers: Leftover[] = [];
  /** Ends the back-off between runs early (a stop came). */
  wakeBackoff: (() => void) | undefined;
  /** The run loop: resolves once the end is recorded (run.ts). */
  finished: Promise<void> = Promise.resolve();
  /** The people attached (attach_process, the page). */
  readonly viewers: Viewers;

  constructor(
    readonly cfg: SupervisorConfig,
    readonly keys: SubKeys,
    readonly store: StateStore,
    readonly out: OutputLog,
    readonly treeMark: string,
  ) {
    this.id = cfg.reuseId ?? '';
    this.viewers = new Viewers(this);
  }

  /** Start a run of the command. */
  async spawn(): Promise<void> {
    this.spawnFloor = ticksFloor();
    this.child = await startChild(this.cfg, this.out);
    this.childStat = readStat(this.child.pid);
    this.childRunning = true;
  }

  /** Members of the child's session started after it: when it was reaped before its start time could be read, after the spawn. */
  since(): number {
    return this.childStat?.startTicks ?? this.spawnFloor;
  }

  /** The leftovers still running (same PID and start time). */
  liveLeftovers(): ProcStat[] {
    return stillAlive(
      this.leftovers.map((l) => ({ pid: l.pid, startTicks: l.startTicks, state: 'S', ppid: 0, pgid: 0, sid: 0 })),
    );
  }

  /** Change this process's record; a failure is noted in the log, not thrown. */
  updateRecord(fn: (rec: ProcessRecord) => void): Promise<unknown> {
    return this.store
      .update((doc) => {
        const rec = findRecord(doc, this.id);
        if (rec) fn(rec);
      })
      .catch((err: Error) => this.out.event(`could not update the state: ${err.message}`));
  }
}
