// get_logs --grep with context (-A, -B, -C), as grep prints it: each matching line with up to
// `before` lines before it and `after` lines after it, overlapping groups joined, and a
// separator (`--`) between groups that are not adjacent. Lines come in the order read (all the
// lines of the read, matching or not); what goes out is handed to `out` as it is decided.
// -n counts matches here, not lines: `keep` holds back the groups of the last `keep` matches
// until end() (a tail); 0 passes every group on at once (--new, --since, following).
import type { FormatOptions, Line } from './lines.ts';
import { matches } from './logquery.ts';
import type { ReadPlan } from './read-plan.ts';

/** A line to show (`context`: shown for a match near it, not a match itself), or the separator. */
export type ContextItem = { line: Line; context: boolean } | { separator: true };

export interface ContextOptions {
  before: number;
  after: number;
  /** Whether a line is a match (the --grep pattern). */
  isMatch: (line: Line) => boolean;
  /** Matches to show, the last ones (0: all, passed on as they come). */
  keep: number;
}

/** One group: a match with the lines before it and after it (up to the next group). */
interface Group {
  items: { line: Line; context: boolean }[];
  /** It does not follow the group before it directly: a separator goes between them. */
  apart: boolean;
  /** The `before` lines before its match, whatever they were: its context when it is shown first. */
  lead: Line[];
  /** Of `items`, how many are context before the match. */
  ahead: number;
}

export class GrepContext {
  private readonly held: Line[] = []; // up to `before` lines not shown yet, the newest last
  private afterLeft = 0;
  private index = 0; // of the next line pushed
  private lastShown = -1; // index of the last line shown (or held in a group); -1: none yet
  private readonly groups: Group[] = []; // held back while keeping the last `keep`
  private dropped = false; // a group was dropped to keep the last `keep`
  private readonly recent: Line[] = []; // while keeping: the last `before` lines, shown or not
  private holding: boolean;
  /** Matches seen so far. */
  matches = 0;

  constructor(
    private readonly o: ContextOptions,
    private readonly out: (item: ContextItem) => void,
  ) {
    this.holding = o.keep > 0;
  }

  /** Whether lines after the last match are still to be shown as its context. */
  get afterPending(): boolean {
    return this.afterLeft > 0;
  }

  push(line: Line): void {
    const i = this.index++;
    if (this.o.isMatch(line)) {
      this.matches++;
      const first = i - this.held.length;
      const apart = this.lastShown >= 0 && first > this.lastShown + 1;
      const items = this.held.map((l) => ({ line: l, context: true }));
      const ahead = items.length;
      this.held.length = 0;
      items.push({ line, context: false });
      this.lastShown = i;
      this.afterLeft = this.o.after;
      this.begin({ items, apart, lead: this.holding ? [...this.recent] : [], ahead });
      this.remember(line);
      return;
    }
    this.remember(line);
    if (this.afterLeft > 0) {
      this.afterLeft--;
      this.lastShown = i;
      this.add({ line, context: true });
      return;
    }
    if (this.o.before === 0) return;
    this.held.push(line);
    if (this.held.length > this.o.before) this.held.shift();
  }

  /**
   * The read so far is over: the groups held back go out; from now on each goes out as it comes.
   * The first of them, when earlier ones were dropped, shows the `before` lines before its match
   * whatever they were (an earlier match among them too, as context).
   */
  end(): void {
    if (!this.holding) return;
    this.holding = false;
    this.groups.forEach((g, n) => {
      if (n === 0 && this.dropped)
        g.items = [...g.lead.map((l) => ({ line: l, context: true })), ...g.items.slice(g.ahead)];
      this.emit(g, n > 0 && g.apart);
    });
    this.groups.length = 0;
    this.recent.length = 0;
  }

  private remember(line: Line): void {
    if (!this.holding || this.o.before === 0) return;
    this.recent.push(line);
    if (this.recent.length > this.o.before) this.recent.shift();
  }

  private begin(g: Group): void {
    if (!this.holding) return this.emit(g, g.apart);
    this.groups.push(g);
    if (this.groups.length > this.o.keep) {
      this.groups.shift();
      this.dropped = true;
    }
  }

  private add(item: { line: Line; context: boolean }): void {
    if (!this.holding) return this.out(item);
    this.groups[this.groups.length - 1]!.items.push(item);
  }

  private emit(g: Group, separator: boolean): void {
    if (separator) this.out({ separator: true });
    for (const item of g.items) this.out(item);
  }
}

/** What separates two groups: `--` as grep prints it; with --json an object of its own. */
export function separatorOf(fmt: Pick<FormatOptions, 'json'>): string {
  return fmt.json ? '{"separator":true}\n' : '--\n';
}

/**
 * The context window of a plan with context (ReadPlan.context): lines to `line` (a context line
 * marked `context`), separators to `separator`. `following`: lines the first read leaves open
 * are left out of it, as following goes on with them and shows them once they end.
 */
export function grepContextOf(
  plan: ReadPlan & { context: NonNullable<ReadPlan['context']> },
  line: (l: Line) => void,
  separator: () => void,
  following = false,
): GrepContext {
  const q = { streams: plan.query.streams, grep: plan.context.grep, raw: plan.query.raw, lines: 0 };
  const window = new GrepContext(
    {
      before: plan.context.before,
      after: plan.context.after,
      isMatch: (l) => matches(q, l),
      keep: plan.context.matches,
    },
    (item) => ('separator' in item ? separator() : line(item.context ? { ...item.line, context: true } : item.line)),
  );
  if (!following) return window;
  const push = window.push.bind(window);
  const end = window.end.bind(window);
  window.push = (l) => (l.complete || l.stream === 'input' ? push(l) : undefined);
  window.end = () => {
    window.push = push;
    end();
  };
  return window;
}
