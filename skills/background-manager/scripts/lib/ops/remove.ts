// remove_process's use case, once for the scripts, the MCP server and the page: forget ended
// processes and delete their logs; refused while one runs (or left background jobs running)
// unless force stops it first.
import fs from 'node:fs';
import { stopProcess } from '../control/stop.ts';
import { BgError } from '../errors.ts';
import { listSegments, logFileOf } from '../log/format/logset.ts';
import { isLive, liveLeftovers, liveStatus, supervisorAlive } from '../process/status.ts';
import type { Hints } from '../install/hints.ts';
import type { Context } from '../store/context.ts';
import type { ProcessRecord } from '../store/state.ts';
import { oneLine } from '../util/format.ts';
import { waitFor } from '../util/wait.ts';
import { STOP_GRACE_SEC, STOP_SIGNAL } from './defaults.ts';
import { checkTargets, resolveTargets, type TargetWords } from './targets.ts';

/** How long a forced removal waits for a stopped process's supervisor to be gone. */
const SUPERVISOR_GONE_MS = 10_000;

/** What a caller asks remove_process for. */
export interface RemoveRequest {
  refs: string[]; // IDs, unique ID prefixes or names
  exited: boolean; // every process that has ended
  force: boolean; // stop running ones (and the jobs ended ones left running) first
}

/** A removal checked: with how its messages point to other calls (the caller's words). */
export interface RemoveOrder extends RemoveRequest {
  hints: Hints;
}

/** What remove_process says when there was nothing to remove. */
export const NOTHING_TO_REMOVE = 'Nothing to remove.';

/** Check a removal before anything is read: IDs or exited, not both. */
export function checkRemove(req: RemoveRequest, words: TargetWords): RemoveOrder {
  checkTargets(req.refs, req.exited, words);
  return { ...req, hints: words.hints };
}

/**
 * Remove what a checked request names: one line per removed process; `note` hears of the
 * ones the exited sweep keeps and of stops that went around a supervisor.
 */
export async function removeProcesses(ctx: Context, req: RemoveOrder, note: (text: string) => void): Promise<string[]> {
  const doc = ctx.store.read();
  // Background jobs an ended process left running: forgetting it would leave them with no
  // handle, so they count as running (stop_process ends them).
  const targets: ProcessRecord[] = req.exited
    ? doc.processes.filter((p) => !isLive(p) && liveStatus(p).status !== 'unverified')
    : resolveTargets(doc, req.refs, 'removed', req.hints);
  return removeTargets(ctx, targets, { exited: req.exited, force: req.force, hints: req.hints }, note);
}

/**
 * Forget `targets` and delete their logs: refused (nothing removed) while one runs, unless
 * `force` stops it first. `exited`: the exited sweep, which keeps, with a `note`, the ones
 * whose background jobs still run. `hints`: how the refusals point to other calls. One line per
 * removed process.
 */
export async function removeTargets(
  ctx: Context,
  targets: ProcessRecord[],
  opts: { exited: boolean; force: boolean; hints: Hints },
  note: (text: string) => void,
): Promise<string[]> {
  const { hints } = opts;
  const jobsOf = new Map(targets.map((p) => [p.id, isLive(p) ? [] : liveLeftovers(p)])); // read from /proc once
  const jobs = (p: ProcessRecord) => jobsOf.get(p.id)!;
  const pids = (p: ProcessRecord) =>
    jobs(p)
      .map((st) => `PID ${st.pid}`)
      .join(', ');
  if (opts.exited && !opts.force) {
    for (const p of targets.filter((t) => jobs(t).length)) {
      note(
        `kept ${p.id}: it left ${pids(p)} running; ${hints.call('stop_process', { ref: p.id })} ends ${jobs(p).length === 1 ? 'it' : 'them'} (or ${hints.call('remove_process', { options: { exited: true, force: true } })}).`,
      );
    }
    targets = targets.filter((t) => jobs(t).length === 0);
  }
  const running = targets.filter((p) => isLive(p) || liveStatus(p).status === 'unverified' || jobs(p).length);
  if (running.length && !opts.force) {
    const what = running
      .map((p) => (jobs(p).length ? `${p.id} left ${pids(p)} running` : `${p.id} is still running`))
      .join('; ');
    throw new BgError(
      'REFUSED',
      `${what}; stop ${running.length === 1 ? 'it' : 'them'} first, or pass ${hints.option('force', true)}. Nothing was removed.`,
    );
  }
  const stoppedBy = new Map<string, string>();
  for (const p of running) {
    if (liveStatus(p).status === 'unverified') continue; // cannot be proven ours: forgotten, not signalled
    const r = await stopProcess(ctx, p, STOP_SIGNAL, STOP_GRACE_SEC * 1000, 'remove');
    if (!r.already && r.note) note(`${p.id}: ${r.note}.`);
    if (!r.already) stoppedBy.set(p.id, r.result.endedBy);
    else if (r.leftovers) stoppedBy.set(p.id, `${r.leftovers.endedBy}, what it left running`);
    await waitFor(() => !supervisorAlive(p), SUPERVISOR_GONE_MS);
  }
  if (targets.length === 0) return [];
  const ids = new Set(targets.map((p) => p.id));
  await ctx.store.update((d) => {
    // Checked again under the lock: a restart_process meanwhile makes it live again.
    const revived = d.processes.filter((p) => ids.has(p.id) && isLive(p) && liveStatus(p).status !== 'unverified');
    if (revived.length)
      throw new BgError(
        'REFUSED',
        `${revived.map((p) => p.id).join(', ')} started again meanwhile; nothing was removed.`,
      );
    d.processes = d.processes.filter((p) => !ids.has(p.id));
  });
  return targets.map((p) => {
    for (const seg of listSegments(logFileOf(ctx.dataDir, p))) fs.rmSync(seg.file, { force: true });
    const how = stoppedBy.has(p.id) ? ` (stopped first by ${stoppedBy.get(p.id)})` : '';
    return `Removed process ${p.id}${p.name ? ` (${oneLine(p.name)})` : ''}${how}: ${oneLine(p.command)}`;
  });
}
