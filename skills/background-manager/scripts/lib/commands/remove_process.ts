// remove_process: forget finished processes and delete their logs.
import fs from 'node:fs';
import { makeParser, listHint } from '../cli/cli.ts';
import { openContext, type Context } from '../store/context.ts';
import { resolveAll } from '../process/resolve.ts';
import { stopProcess } from '../control/stop.ts';
import { isLive, liveLeftovers, liveStatus, supervisorAlive } from '../process/status.ts';
import { listSegments, logFileOf } from '../log/format/logset.ts';
import { waitFor } from '../util/wait.ts';
import { BgError, EXIT } from '../errors.ts';
import type { ProcessRecord } from '../store/state.ts';
import { oneLine } from '../util/format.ts';

/**
 * Forget `targets` and delete their logs (remove_process, MCP): refused (nothing removed) while
 * one runs, unless `force` stops it first. `exited`: the --exited sweep, which keeps, with a
 * `note`, the ones whose background jobs still run. One line per removed process.
 */
export async function removeTargets(
  ctx: Context,
  targets: ProcessRecord[],
  opts: { exited: boolean; force: boolean },
  note: (text: string) => void,
): Promise<string[]> {
  const jobsOf = new Map(targets.map((p) => [p.id, isLive(p) ? [] : liveLeftovers(p)])); // read from /proc once
  const jobs = (p: ProcessRecord) => jobsOf.get(p.id)!;
  const pids = (p: ProcessRecord) =>
    jobs(p)
      .map((st) => `PID ${st.pid}`)
      .join(', ');
  if (opts.exited && !opts.force) {
    for (const p of targets.filter((t) => jobs(t).length)) {
      note(
        `kept ${p.id}: it left ${pids(p)} running; stop_process ${p.id} ends ${jobs(p).length === 1 ? 'it' : 'them'} (or remove_process --exited --force).`,
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
      `${what}; stop ${running.length === 1 ? 'it' : 'them'} first, or pass --force. Nothing was removed.`,
    );
  }
  const stoppedBy = new Map<string, string>();
  for (const p of running) {
    if (liveStatus(p).status === 'unverified') continue; // cannot be proven ours: forgotten, not signalled
    const r = await stopProcess(ctx, p, 'SIGTERM', 5000, 'remove');
    if (!r.already && r.note) note(`${p.id}: ${r.note}.`);
    if (!r.already) stoppedBy.set(p.id, r.result.endedBy);
    else if (r.leftovers) stoppedBy.set(p.id, `${r.leftovers.endedBy}, what it left running`);
    await waitFor(() => !supervisorAlive(p), 10_000);
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

export async function main(argv: string[]): Promise<number> {
  const args = await makeParser(
    argv,
    'Usage: $0 <id|name>... [--force]\n       $0 --exited [--force]\n\nForgets processes that have ended and deletes their logs. A running process is\nrefused unless --force, which stops it first; so is an ended one whose background\njobs still run (--exited keeps it, unless --force). Nothing is removed if any is refused.',
  )
    .option('exited', { type: 'boolean', default: false, describe: 'Remove every process that has ended' })
    .option('force', {
      type: 'boolean',
      default: false,
      describe: 'Stop running ones (and background jobs ended ones left running) first, then remove them',
    })
    .example('$0 a1b2', 'Forget a1b2 and delete its log')
    .example('$0 --exited', 'Clean up everything that has ended')
    .parseAsync();
  const refs = args._.map(String);
  if (args.exited ? refs.length > 0 : refs.length === 0) {
    throw new BgError(
      'USAGE',
      args.exited ? '--exited takes no IDs.' : `give the process IDs or names to remove (${listHint()}), or --exited.`,
    );
  }
  const ctx = openContext({ create: false });
  const doc = ctx.store.read();
  // Background jobs an ended process left running: forgetting it would leave them with no
  // handle, so they count as running (stop_process ends them).
  const targets: ProcessRecord[] = args.exited
    ? doc.processes.filter((p) => !isLive(p) && liveStatus(p).status !== 'unverified')
    : [...new Map(resolveAll(doc, refs, 'removed').map((p) => [p.id, p])).values()];
  const removed = await removeTargets(ctx, targets, { exited: args.exited, force: args.force }, (note) =>
    process.stderr.write(`remove_process: note: ${note}\n`),
  );
  if (removed.length === 0) process.stdout.write('Nothing to remove.\n');
  for (const line of removed) process.stdout.write(`${line}\n`);
  return EXIT.OK;
}
