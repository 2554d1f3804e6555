// Recording how the process ended, once no run follows: the end, where its log ends, and the
// background jobs still running (for stop_process to end). It must reach the state, else the
// process shows as lost: retried while the disk is full or the lock contended.
import path from 'node:path';
import { logNextSeq } from '../lib/log/format/logset.ts';
import type { ProcessRecord } from '../lib/store/state.ts';
import { recordEnd } from '../lib/store/records.ts';
import { findRecord } from '../lib/store/state.ts';
import type { Supervisor } from './state.ts';
import type { Exit } from './policy.ts';

/** How many times, about a minute in all (0.25 s doubling, at most 10 s apart). */
const END_ATTEMPTS = 12;

export async function finish(sv: Supervisor, exit: Exit, note: string): Promise<void> {
  sv.ended = exit;
  sv.out.event(note);
  const logNext = await sv.out.settle(); // every record written and on disk before the end is in the state
  for (let attempt = 0; ; attempt++) {
    try {
      await sv.store.update((doc) => {
        const rec = findRecord(doc, sv.id);
        if (rec) writeEnd(sv, rec, exit, logNext);
      });
      return;
    } catch (err) {
      if (attempt >= END_ATTEMPTS)
        return sv.out.event(`could not record the end in the state: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, Math.min(10_000, 250 * 2 ** attempt)));
    }
  }
}

function writeEnd(sv: Supervisor, rec: ProcessRecord, exit: Exit, logNext: number | undefined): void {
  recordEnd(rec, exit);
  delete rec.viewers; // nobody watches an ended process (its viewers are let go)
  // Where the log ends (every record is on disk now): a reader reports a log cut short.
  // As the writer counted, not read back: a segment deleted meanwhile must not lower it.
  const end = logNext ?? logNextSeq(path.join(sv.cfg.dataDir, rec.logFile), sv.keys, sv.id);
  if (end !== undefined) rec.logEnd = end;
  else delete rec.logEnd;
  // What outlived its runs, for stop_process to end (checked by start time there).
  const live = sv.liveLeftovers();
  const kept = sv.leftovers.filter((l) => live.some((st) => st.pid === l.pid));
  if (kept.length) rec.leftovers = kept;
  else delete rec.leftovers;
}
