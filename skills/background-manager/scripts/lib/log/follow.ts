// get_logs --follow and --wait-for: read on from a cursor as the supervisor appends, woken by
// inotify (fs.watch) on the logs folder rather than by busy polling, until the process ends.
import fs from 'node:fs';
import path from 'node:path';
import type { LogRecord } from './logfile.ts';
import { LogSetReader, type Cursor } from './logset.ts';
import { LineAssembler, type Line } from './lines.ts';
import { setLongTimeout, type LongTimer } from '../cli/timer.ts';

export interface FollowOptions {
  activeFile: string;
  reader: LogSetReader;
  from: Cursor | undefined;
  /** Called with each new whole line; return false to stop following. */
  onLine: (line: Line) => boolean;
  /**
   * Called with a line still open (no newline yet: a prompt, a progress bar) once no more of
   * it has come for `partialQuietMs`, or at once when that is 0; again each time it has grown
   * and gone quiet. The whole line still goes to onLine when it ends. Return false to stop.
   */
  onPartial?: (line: Line) => boolean;
  partialQuietMs?: number;
  /** Lines the read before `from` left open: what follows continues them. */
  open?: Line[];
  /** Those of `open` it showed: shown again only once they grow. */
  shown?: Line[];
  /** True while the process can still write (checked at most every `statusEveryMs`). */
  running: () => boolean;
  timeoutMs?: number;
  statusEveryMs?: number;
}

export type FollowEnd = 'stopped' | 'ended' | 'timeout';

/** How long a line without a newline must stand still to count as a prompt (get_logs, start_process). */
export const PROMPT_QUIET_MS = 200;

/**
 * `cursor`: where a later read goes on (just after the line onLine stopped at); `open`: lines
 * still open at that point (begun before it, on other streams), not handed to onLine whole.
 */
export function follow(o: FollowOptions): Promise<{ end: FollowEnd; cursor: Cursor | undefined; open: Line[] }> {
  return new Promise((resolve) => {
    let cursor = o.from;
    const assembler = new LineAssembler();
    let done = false;
    let statusTimer: NodeJS.Timeout | undefined;
    let timeout: LongTimer | undefined; // a user's --timeout: may exceed one Node timer
    let watcher: fs.FSWatcher | undefined;
    const base = path.basename(o.activeFile);

    let partialTimer: NodeJS.Timeout | undefined;
    const shownPartial = new Set<string>(); // stream:time:length of open lines already shown
    const keyOf = (line: Line) => `${line.stream}:${line.time}:${line.bytes.length}`;
    let stoppedAt: { line: Line; open: Line[] } | undefined; // the line a callback stopped at
    for (const line of o.open ?? []) assembler.reopen(line);
    for (const line of o.shown ?? []) shownPartial.add(keyOf(line));

    const finish = (end: FollowEnd) => {
      if (done) return;
      done = true;
      watcher?.close();
      clearInterval(statusTimer);
      timeout?.clear();
      clearTimeout(partialTimer);
      const open = stoppedAt ? stoppedAt.open : assembler.open();
      const at = stoppedAt?.line;
      resolve({ end, cursor, open: at ? open.filter((l) => !(l.stream === at.stream && l.time === at.time)) : open });
    };
    // Open lines not shown at their current length yet; false when one asked to stop.
    const showPartial = (): boolean => {
      for (const line of assembler.open()) {
        const key = keyOf(line);
        if (shownPartial.has(key)) continue;
        shownPartial.add(key);
        if (o.onPartial!(line)) continue;
        stoppedAt = { line, open: assembler.open() };
        return false;
      }
      return true;
    };
    // Read whatever is new; returns false when a line asked to stop.
    const drain = (final: boolean): boolean => {
      const fresh: Line[] = [];
      const ends: number[] = []; // where in its record each line of fresh ends
      const before = cursor;
      let stopAt: Cursor | undefined;
      // Lines go to onLine record by record, so a stop knows what was open at that point.
      const end = o.reader.forward(cursor, (rec: LogRecord) => {
        assembler.push(rec, fresh, ends);
        for (let i = 0; i < fresh.length && !stopAt; i++) {
          if (o.onLine(fresh[i]!)) continue;
          stopAt = o.reader.cursorAfter(rec, ends[i]!); // what came after that line stays unread
          stoppedAt = { line: fresh[i]!, open: assembler.open() };
        }
        fresh.length = 0;
        ends.length = 0;
        return !stopAt;
      });
      cursor = stopAt ?? end;
      if (stopAt) return false;
      if (final) {
        const open: Line[] = [];
        assembler.flush(open);
        const last = open.filter((l) => !shownPartial.has(keyOf(l))); // not again as it was shown
        for (const line of last) {
          if (o.onLine(line)) continue;
          stoppedAt = { line, open };
          return false;
        }
      }
      if (!o.onPartial || final) return true;
      if (!o.partialQuietMs) return showPartial();
      if (cursor?.offset !== before?.offset || cursor?.fileId !== before?.fileId || !partialTimer) {
        clearTimeout(partialTimer);
        partialTimer = setTimeout(() => {
          partialTimer = undefined;
          if (!done && !showPartial()) finish('stopped');
        }, o.partialQuietMs);
      }
      return true;
    };

    if (!drain(false)) return finish('stopped');
    try {
      watcher = fs.watch(path.dirname(o.activeFile), (_event, name) => {
        if (done || (name && !String(name).startsWith(base))) return;
        if (!drain(false)) finish('stopped');
      });
    } catch {
      /* no inotify: the status timer below still reads on */
    }
    statusTimer = setInterval(() => {
      if (done) return;
      const alive = o.running();
      if (!drain(!alive)) return finish('stopped');
      if (!alive) finish('ended');
    }, o.statusEveryMs ?? 250);
    if (o.timeoutMs !== undefined) {
      timeout = setLongTimeout(() => {
        // A line still waiting out its quiet time is shown now: following ends here.
        if (!drain(false) || (o.onPartial && !showPartial())) return finish('stopped');
        finish('timeout');
      }, o.timeoutMs);
    }
  });
}
