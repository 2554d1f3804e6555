// get_logs --follow and --wait-for: read on from a cursor as the supervisor appends, woken by
// inotify (fs.watch) on the logs folder rather than by busy polling, until the process ends.
import fs from 'node:fs';
import path from 'node:path';
import type { LogRecord } from '../format/logfile.ts';
import type { LogSetReader, Cursor, Gap } from '../format/logset.ts';
import { LineAssembler, type Line } from './lines.ts';
import { setLongTimeout, type LongTimer } from '../../util/timer.ts';

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
  /**
   * The reader fell behind the size cap: these records were dropped before it read them. Lines
   * they cut go to onLine marked `cut`; the first line after the gap is left out (its start is gone).
   */
  onGap?: (gap: Gap) => void;
  /** Hold at most this many bytes of a line (the rest is counted in Line.more): MCP answers. */
  keepBytes?: number;
}

export type FollowEnd = 'stopped' | 'ended' | 'timeout';

/** How long a line without a newline must stand still to count as a prompt (get_logs, start_process). */
export const PROMPT_QUIET_MS = 200;

type FollowResult = { end: FollowEnd; cursor: Cursor | undefined; open: Line[] };

/**
 * `cursor`: where a later read goes on (just after the line onLine stopped at); `open`: lines
 * still open at that point (begun before it, on other streams), not handed to onLine whole.
 */
export function follow(o: FollowOptions): Promise<FollowResult> {
  return new Promise((resolve) => new Follower(o, resolve).start());
}

/** One follow: what it has read, what it showed, and the watcher and timers that wake it. */
class Follower {
  private cursor: Cursor | undefined;
  private readonly assembler: LineAssembler;
  private done = false;
  private statusTimer: NodeJS.Timeout | undefined;
  private timeout: LongTimer | undefined; // a user's --timeout: may exceed one Node timer
  private watcher: fs.FSWatcher | undefined;
  private partialTimer: NodeJS.Timeout | undefined;
  private readonly shownPartial = new Set<string>(); // stream:time:length of open lines already shown
  private stoppedAt: { line: Line; open: Line[] } | undefined; // the line a callback stopped at

  constructor(
    private readonly o: FollowOptions,
    private readonly resolve: (r: FollowResult) => void,
  ) {
    this.cursor = o.from;
    this.assembler = new LineAssembler([], { keepBytes: o.keepBytes });
    for (const line of o.open ?? []) this.assembler.reopen(line);
    for (const line of o.shown ?? []) this.shownPartial.add(keyOf(line));
  }

  start(): void {
    const o = this.o;
    if (!this.drain(false)) return this.finish('stopped');
    const base = path.basename(o.activeFile);
    try {
      this.watcher = fs.watch(path.dirname(o.activeFile), (_event, name) => {
        if (this.done || (name && !String(name).startsWith(base))) return;
        if (!this.drain(false)) this.finish('stopped');
      });
    } catch {
      /* no inotify: the status timer below still reads on */
    }
    this.statusTimer = setInterval(() => {
      if (this.done) return;
      const alive = o.running();
      if (!this.drain(!alive)) return this.finish('stopped');
      if (!alive) this.finish('ended');
    }, o.statusEveryMs ?? 250);
    if (o.timeoutMs !== undefined) {
      this.timeout = setLongTimeout(() => {
        // A line still waiting out its quiet time is shown now: following ends here.
        if (!this.drain(false) || (o.onPartial && !this.showPartial())) return this.finish('stopped');
        this.finish('timeout');
      }, o.timeoutMs);
    }
  }

  private finish(end: FollowEnd): void {
    if (this.done) return;
    this.done = true;
    this.watcher?.close();
    clearInterval(this.statusTimer);
    this.timeout?.clear();
    clearTimeout(this.partialTimer);
    const open = this.stoppedAt ? this.stoppedAt.open : this.assembler.open();
    const at = this.stoppedAt?.line;
    this.resolve({
      end,
      cursor: this.cursor,
      open: at ? open.filter((l) => !(l.stream === at.stream && l.time === at.time)) : open,
    });
  }

  /** Open lines not shown at their current length yet; false when one asked to stop. */
  private showPartial(): boolean {
    for (const line of this.assembler.open()) {
      const key = keyOf(line);
      if (this.shownPartial.has(key)) continue;
      this.shownPartial.add(key);
      if (this.o.onPartial!(line)) continue;
      this.stoppedAt = { line, open: this.assembler.open() };
      return false;
    }
    return true;
  }

  /** Read whatever is new; false when a line asked to stop. `final`: the process has ended. */
  private drain(final: boolean): boolean {
    const before = this.cursor;
    if (!this.readWhole()) return false;
    if (final && !this.flushLast()) return false;
    if (!this.o.onPartial || final) return true;
    if (!this.o.partialQuietMs) return this.showPartial();
    const moved = this.cursor?.offset !== before?.offset || this.cursor?.fileId !== before?.fileId;
    if (moved || !this.partialTimer) {
      clearTimeout(this.partialTimer);
      this.partialTimer = setTimeout(() => {
        this.partialTimer = undefined;
        if (!this.done && !this.showPartial()) this.finish('stopped');
      }, this.o.partialQuietMs);
    }
    return true;
  }

  /** The whole lines after the cursor to onLine, record by record, so a stop knows what was open then. */
  private readWhole(): boolean {
    const fresh: Line[] = [];
    const ends: number[] = []; // where in its record each line of fresh ends
    let stopAt: Cursor | undefined;
    const onGap = (gap: Gap) => {
      this.o.onGap?.(gap);
      const cut: Line[] = [];
      this.assembler.gap(cut);
      for (const line of cut) {
        if (stopAt || this.o.onLine(line)) continue;
        stopAt = this.cursor; // stopped before the gap: a later read meets it again
        this.stoppedAt = { line, open: this.assembler.open() };
      }
    };
    const end = this.o.reader.forward(
      this.cursor,
      (rec: LogRecord) => {
        if (stopAt) return false;
        this.assembler.push(rec, fresh, ends);
        for (let i = 0; i < fresh.length && !stopAt; i++) {
          if (this.o.onLine(fresh[i]!)) continue;
          stopAt = this.o.reader.cursorAfter(rec, ends[i]!); // what came after that line stays unread
          this.stoppedAt = { line: fresh[i]!, open: this.assembler.open() };
        }
        fresh.length = 0;
        ends.length = 0;
        return !stopAt;
      },
      onGap,
    );
    this.cursor = stopAt ?? end;
    return !stopAt;
  }

  /** The process ended: its open lines are whole now (those shown open, not again as they were). */
  private flushLast(): boolean {
    const open: Line[] = [];
    this.assembler.flush(open);
    for (const line of open.filter((l) => !this.shownPartial.has(keyOf(l)))) {
      if (this.o.onLine(line)) continue;
      this.stoppedAt = { line, open };
      return false;
    }
    return true;
  }
}

function keyOf(line: Line): string {
  return `${line.stream}:${line.time}:${line.bytes.length}`;
}
