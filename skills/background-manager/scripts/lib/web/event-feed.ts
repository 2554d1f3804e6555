// The page's recent events (issue 26, part 2): the last RECENT_EVENTS of the event log as
// watch_processes prints them, kept by an incremental reader so that the feed's look every
// second reads only what was appended since.
import type { Context } from '../store/context.ts';
import { EventReader, type BgEvent } from '../store/events.ts';
import { plainLine } from '../ops/watch.ts';
import { EventRedactor } from '../ops/event-redact.ts';

export const RECENT_EVENTS = 20;

export interface PageEvent {
  seq: number;
  event: string;
  line: string;
}

export class RecentEvents {
  private reader: EventReader | undefined;
  private list: BgEvent[] = [];
  // Secrets hidden as get_logs hides them (ops/event-redact.ts), once per event as it is read.
  private readonly hide: EventRedactor;

  constructor(private readonly ctx: Context) {
    this.hide = new EventRedactor(() => this.ctx.store.read().processes);
  }

  /** The recent events if any came since the last call; undefined if none did. */
  poll(): PageEvent[] | undefined {
    if (!this.ctx.unlocked) return undefined;
    this.reader ??= new EventReader(this.ctx.dataDir, this.ctx.unlocked.keys);
    let events: BgEvent[];
    try {
      events = this.reader.poll().events.map((e) => this.hide.event(e));
    } catch {
      return undefined; // the list shows what it had; the next look tries again
    }
    if (!events.length && this.list.length) return undefined;
    this.list = [...this.list, ...events].slice(-RECENT_EVENTS);
    return this.current();
  }

  current(): PageEvent[] {
    return this.list.map((e) => ({ seq: e.seq, event: e.event, line: plainLine(e) }));
  }
}
