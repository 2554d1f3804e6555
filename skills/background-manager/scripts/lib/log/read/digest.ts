// get_logs --budget's digest: the most useful view of a stream of lines in a bounded number of
// characters, in the order the lines were printed. One pass with bounded state, so a log of any
// size is digested without being held: the first lines (head), a ring of the last ones (tail),
// the blocks the classifier keeps (errors, warnings, stack traces, failed test reports) with
// their context, and a table of the other lines folded by template (exact repeats and lines
// that differ only in numbers, IDs, hex, UUIDs or times), capped. What to keep is ruled in
// ops/digest.ts (DigestRules); this file only applies the rules. The lines come from any
// source (an iterable, or push() as a read goes), already rendered: a secret redactor or any
// other filter runs on them before they get here.

/** One line of the digest's input: its text as shown (rendered), and when it arrived. */
export interface DigestLine {
  text: string;
  time?: number;
}

export type KeepKind = 'error' | 'warning';

/** The rules a digest applies (ops/digest.ts DIGEST_RULES, with the budget). */
export interface DigestRules {
  /** Characters the digest's lines may take, all told (newlines included). */
  chars: number;
  /** A line that starts (or joins) a kept block: an error or a warning; undefined: an ordinary line. */
  classify: (text: string) => KeepKind | undefined;
  /** A line that goes on a kept block just before it (a stack frame, a test report's detail). */
  continues: (text: string) => boolean;
  /** A section whose lines are all kept ('open', e.g. pytest's FAILURES), or its end ('close'). */
  section: (text: string) => 'open' | 'close' | undefined;
  /** What varies between near-repeats: the line's template (values as U+0000), its values pushed on `values`. */
  template: (text: string, values: string[]) => string;
  /** Lines kept at the start and the end. */
  head: number;
  tail: number;
  /** Lines of context kept before and after a kept block. */
  before: number;
  after: number;
  /** A line longer than this is cut (its length said). */
  lineChars: number;
  /** Lines of one block kept from its start and from its end; the middle is counted. */
  blockHead: number;
  blockTail: number;
  /** Characters of kept blocks held at most while reading (older blocks make way, errors last). */
  keptChars: number;
  /** Templates held at most; lines of new templates past it are counted, not folded. */
  templates: number;
  /** Distinct values listed per varying place of a template (more: first … last). */
  distinct: number;
}

/** What a digest found, for its closing note. */
export interface DigestStats {
  lines: number;
  /** Lines printed as themselves. */
  shown: number;
  /** Lines printed folded, and the folded lines printed. */
  folded: number;
  groups: number;
  /** Lines neither printed nor folded into a printed line. */
  omitted: number;
  errors: number;
  warnings: number;
  /** Kept blocks (errors and warnings) printed, and all of them. */
  blocksShown: number;
  blocks: number;
  /** The time of the first line of the first error block, and of the first line of all. */
  firstErrorTime?: number;
  firstTime?: number;
  /** The words that made lines kept, most frequent first (for a --grep). */
  found: string[];
}

export interface DigestResult {
  lines: string[];
  stats: DigestStats;
}

interface Entry {
  seq: number;
  text: string;
  time?: number;
}

interface Block {
  seq: number;
  kind: KeepKind;
  indent: number;
  head: Entry[];
  tail: Entry[];
  omitted: number;
  chars: number;
  lines: number;
  errors: number;
  warnings: number;
}

interface Slot {
  first: string;
  last: string;
  counts: Map<string, number> | undefined; // undefined once more than the rules' values_ distinct values came
}

interface Group {
  seq: number;
  count: number;
  parts: string[]; // the literal text between the varying places
  slots: Slot[];
}

/** Where in a line its text starts (tabs count as 4). */
function indentOf(text: string): number {
  let n = 0;
  for (const c of text) {
    if (c === ' ') n++;
    else if (c === '\t') n += 4;
    else return n;
  }
  return -1; // blank
}

/** A count as people read it: 100,000. */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** The digest, fed a line at a time (push) and read once (end). */
export class Digest {
  private seq = 0;
  private readonly head: Entry[] = [];
  private ring: Entry[] = [];
  private blocks: Block[] = [];
  private open: Block | undefined;
  private afterLeft = 0;
  private inSection = false;
  private traced = false; // the open block's last line went on it as a frame or detail
  private keptChars = 0;
  private readonly groups = new Map<string, Group>();
  private droppedBlocks = { errors: 0, warnings: 0, lines: 0 };
  private firstTime: number | undefined;
  private firstErrorTime: number | undefined;
  private readonly found = new Map<string, number>();
  private errors = 0;
  private warnings = 0;

  constructor(private readonly rules: DigestRules) {}

  push(line: DigestLine): void {
    const r = this.rules;
    const e: Entry = { seq: this.seq++, text: this.cut(line.text), time: line.time };
    if (this.firstTime === undefined) this.firstTime = line.time;
    const kind = r.classify(e.text);
    if (kind) this.note(kind, e);
    const section = r.section(e.text);
    if (section === 'open') this.inSection = true;
    const b = this.open;
    // The first lines as they are, until a kept block begins among them.
    if (this.head.length < r.head && !kind && !section && !b && !this.inSection && this.head.length === e.seq) {
      this.head.push(e);
      return;
    }
    const going = b !== undefined;
    if (kind || section === 'open' || this.inSection) {
      // One error, one block: a line kept for itself after another (not ending a trace) starts its own.
      if (going && kind && !this.inSection && section !== 'open' && !this.traced && !r.continues(e.text)) this.close();
      this.addToBlock(e, kind ?? b?.kind ?? 'error', kind);
      this.traced = false;
    } else if (going && this.continuesBlock(b!, e.text)) {
      this.addToBlock(e, b!.kind, undefined);
      this.traced = true;
    } else if (going && this.afterLeft > 0) {
      this.append(b!, e);
      this.afterLeft--;
      if (this.afterLeft === 0) this.close();
    } else {
      if (going) this.close();
      this.ring.push(e);
      const keep = Math.max(r.tail, r.before);
      if (this.ring.length > keep * 2) {
        for (const old of this.ring.splice(0, this.ring.length - keep)) this.fold(old);
      }
    }
    if (section === 'close') this.inSection = false;
  }

  end(): DigestResult {
    if (this.open) this.close();
    const r = this.rules;
    const tail = this.ring.slice(-r.tail);
    for (const old of this.ring.slice(0, this.ring.length - tail.length)) this.fold(old);
    this.ring = tail;
    return this.assemble();
  }

  private cut(text: string): string {
    const max = this.rules.lineChars;
    return text.length <= max ? text : `${text.slice(0, max)}… [+${count(text.length - max)} chars]`;
  }

  private note(kind: KeepKind, e: Entry): void {
    if (kind === 'error') this.errors++;
    else this.warnings++;
    const word =
      /\b[A-Za-z][\w.]*(?:Error|Exception)\b|\bnot ok\b|--- FAIL|\bFAILED\b|\bFAIL\b|\bpanic(?:ked)?\b|\bTraceback\b|\b(?:ERROR|FATAL|WARN(?:ING)?|CRITICAL)\b|\b[Ee]rror\b|\b[Ww]arn(?:ing)?\b/.exec(
        e.text,
      )?.[0];
    if (word && (this.found.size < 64 || this.found.has(word))) this.found.set(word, (this.found.get(word) ?? 0) + 1);
  }

  // A line goes on the open block when the rules say so or when it is indented past the block's first line.
  private continuesBlock(b: Block, text: string): boolean {
    if (this.rules.continues(text)) return true;
    // Once context lines follow the block, only a frame or detail (above) goes on it.
    if (this.afterLeft < this.rules.after) return false;
    const ind = indentOf(text);
    return ind > b.indent || (ind < 0 && this.afterLeft > 0);
  }

  private addToBlock(e: Entry, kind: KeepKind, own: KeepKind | undefined): void {
    let b = this.open;
    if (!b) {
      b = {
        seq: e.seq,
        kind,
        indent: Math.max(0, indentOf(e.text)),
        head: [],
        tail: [],
        omitted: 0,
        chars: 0,
        lines: 0,
        errors: 0,
        warnings: 0,
      };
      // Its context before: the lines just before it, if they are still in the ring (not in a block).
      let n = 0;
      while (n < this.rules.before && this.ring[this.ring.length - 1 - n]?.seq === e.seq - 1 - n) n++;
      const before = n > 0 ? this.ring.splice(-n) : [];
      if (before.length) b.seq = before[0]!.seq;
      for (const c of before) this.append(b, c);
      this.open = b;
    }
    if (own === 'error') {
      b.kind = 'error';
      b.errors++;
      if (this.firstErrorTime === undefined) this.firstErrorTime = e.time;
    } else if (own === 'warning') b.warnings++;
    this.append(b, e);
    this.afterLeft = this.rules.after;
  }

  private append(b: Block, e: Entry): void {
    b.lines++;
    if (b.head.length < this.rules.blockHead) b.head.push(e);
    else {
      b.tail.push(e);
      if (b.tail.length > this.rules.blockTail) {
        b.tail.shift();
        b.omitted++;
        return;
      }
    }
    b.chars += e.text.length + 1;
    this.keptChars += e.text.length + 1;
  }

  // A block ends: kept, and older blocks make way if the kept ones grow past the cap (the first
  // block stays; warnings go before errors).
  private close(): void {
    const b = this.open!;
    this.open = undefined;
    this.afterLeft = 0;
    this.traced = false;
    this.blocks.push(b);
    while (this.keptChars > this.rules.keptChars && this.blocks.length > 2) {
      let at = this.blocks.findIndex((x, i) => i > 0 && i < this.blocks.length - 1 && x.kind === 'warning');
      if (at < 0) at = 1;
      const [gone] = this.blocks.splice(at, 1);
      this.keptChars -= gone!.chars;
      this.droppedBlocks.lines += gone!.lines;
      if (gone!.kind === 'error') this.droppedBlocks.errors++;
      else this.droppedBlocks.warnings++;
    }
  }

  private last: { text: string; key: string; values: string[] } | undefined; // an exact repeat is not parsed again

  private fold(e: Entry): void {
    let values: string[] = [];
    let key: string;
    if (this.last?.text === e.text) ({ key, values } = this.last);
    else {
      key = this.rules.template(e.text, values);
      this.last = { text: e.text, key, values };
    }
    let g = this.groups.get(key);
    if (!g) {
      if (this.groups.size >= this.rules.templates) return; // counted as left out
      g = {
        seq: e.seq,
        count: 0,
        parts: key.split('\u0000'),
        slots: values.map((v) => ({ first: v, last: v, counts: new Map() })),
      };
      this.groups.set(key, g);
    }
    g.count++;
    for (let i = 0; i < values.length; i++) {
      const s = g.slots[i]!;
      const v = values[i]!;
      s.last = v;
      if (!s.counts) continue;
      s.counts.set(v, (s.counts.get(v) ?? 0) + 1);
      if (s.counts.size > this.rules.distinct) s.counts = undefined;
    }
  }

  private groupText(g: Group): { text: string; exact: boolean } {
    const varying = g.slots.filter((s) => !s.counts || s.counts.size > 1);
    const slot = (s: Slot) => {
      if (s.counts && s.counts.size === 1) return s.first;
      if (!s.counts) return `{${s.first} … ${s.last}}`;
      const listed = [...s.counts].sort((a, b) => b[1] - a[1]).map(([v, n]) => `${v} x${count(n)}`);
      return `{${listed.join(', ')}}`;
    };
    let text = g.parts[0]!;
    for (let i = 0; i < g.slots.length; i++) text += slot(g.slots[i]!) + g.parts[i + 1]!;
    const countsSaid = varying.length === 1 && varying[0]!.counts !== undefined;
    if (g.count === 1) return { text, exact: true };
    return { text: countsSaid ? text : `[x${count(g.count)}] ${text}`, exact: varying.length === 0 };
  }

  // The items that fit the budget, by priority, printed in the order their lines came.
  private assemble(): DigestResult {
    type Item = { seq: number; lines: string[]; size: number; shown: number; folded: number; block?: Block };
    const size = (lines: string[]) => lines.reduce((n, l) => n + l.length + 1, 0);
    const chosen: Item[] = [];
    let left = this.rules.chars;
    const take = (it: Item) => {
      if (it.size > left) return false;
      left -= it.size;
      chosen.push(it);
      return true;
    };
    const entryItem = (e: Entry): Item => ({
      seq: e.seq,
      lines: [e.text],
      size: e.text.length + 1,
      shown: 1,
      folded: 0,
    });
    const blockItem = (b: Block): Item => {
      const lines = [
        ...b.head.map((x) => x.text),
        ...(b.omitted ? [`[… ${count(b.omitted)} more lines of this block left out …]`] : []),
        ...b.tail.map((x) => x.text),
      ];
      return { seq: b.seq, lines, size: size(lines), shown: b.head.length + b.tail.length, folded: 0, block: b };
    };
    // A block too big for what is left: its first and last lines, as many as fit.
    const cutBlock = (b: Block): Item | undefined => {
      const all = [...b.head, ...b.tail];
      const room = left - 60;
      const first: string[] = [];
      const last: string[] = [];
      let used = 0;
      let i = 0;
      let j = all.length - 1;
      while (i <= j) {
        const pick = first.length <= last.length * 2 ? all[i]! : all[j]!;
        if (used + pick.text.length + 1 > room) break;
        used += pick.text.length + 1;
        if (pick === all[i]) first.push(all[i++]!.text);
        else last.unshift(all[j--]!.text);
      }
      if (!first.length) return undefined;
      const skipped = all.length - first.length - last.length + b.omitted;
      const lines = [...first, `[… ${count(skipped)} more lines of this block left out …]`, ...last];
      return { seq: b.seq, lines, size: size(lines), shown: first.length + last.length, folded: 0, block: b };
    };
    // The first and the last block first, then the second, the one before the last, and so on.
    const outsideIn = (bs: Block[]) => bs.map((_, i) => bs[i % 2 ? bs.length - 1 - (i >> 1) : i >> 1]!);
    const errors = outsideIn(this.blocks.filter((b) => b.kind === 'error'));
    const warnings = outsideIn(this.blocks.filter((b) => b.kind === 'warning'));
    const takeBlocks = (bs: Block[]) => {
      for (const [i, b] of bs.entries()) {
        if (take(blockItem(b))) continue;
        const c = i < 2 && cutBlock(b);
        if (c) take(c);
      }
    };
    takeBlocks(errors);
    // Head and tail, as many lines of each as fit, the ends first: the first two and last three
    // before the folded lines, the others after them.
    const headTail = [
      ...this.head.map((e, i) => ({ e, rank: i * 3 })),
      ...this.ring.map((e, i, a) => ({ e, rank: (a.length - 1 - i) * 2 })),
    ].sort((a, b) => a.rank - b.rank);
    const ends = headTail.filter((x) => x.rank < 6);
    for (const { e } of ends) take(entryItem(e));
    takeBlocks(warnings);
    const groups = [...this.groups.values()].sort((a, b) => b.count - a.count || a.seq - b.seq);
    const groupItem = (g: Group): Item => {
      const { text } = this.groupText(g);
      return {
        seq: g.seq,
        lines: [text],
        size: text.length + 1,
        shown: g.count === 1 ? 1 : 0,
        folded: g.count > 1 ? g.count : 0,
      };
    };
    for (const g of groups) if (g.count > 1) take(groupItem(g));
    for (const { e } of headTail.slice(ends.length)) take(entryItem(e));
    for (const g of groups) if (g.count === 1) take(groupItem(g));
    chosen.sort((a, b) => a.seq - b.seq);
    const shown = chosen.reduce((n, c) => n + c.shown, 0);
    const folded = chosen.reduce((n, c) => n + c.folded, 0);
    const foldGroups = chosen.filter((c) => c.folded > 0).length;
    const blocksShown = chosen.filter((c) => c.block).length;
    const found = [...this.found].sort((a, b) => b[1] - a[1]).map(([w]) => w);
    return {
      lines: chosen.flatMap((c) => c.lines),
      stats: {
        lines: this.seq,
        shown,
        folded,
        groups: foldGroups,
        omitted: this.seq - shown - folded,
        errors: this.errors,
        warnings: this.warnings,
        blocksShown,
        blocks: this.blocks.length + this.droppedBlocks.errors + this.droppedBlocks.warnings,
        firstErrorTime: this.firstErrorTime,
        firstTime: this.firstTime,
        found,
      },
    };
  }
}

/** The digest of `lines` under `rules`: a pure function of its input, whatever its size. */
export function digestLines(lines: Iterable<DigestLine>, rules: DigestRules): DigestResult {
  const d = new Digest(rules);
  for (const l of lines) d.push(l);
  return d.end();
}
