// watch_processes (and MCP get_events): which events a watch wants, its checks and their
// messages, how an event is shown (one short self-contained line, or JSON), the first line of a
// --new watch (the state now), and how a flood is folded. The live loop is ops/watch-loop.ts.
import { BgError } from '../errors.ts';
import { EVENT_KINDS, type BgEvent, type StoredKind } from '../store/events.ts';
import type { ProcessRecord, StateDoc } from '../store/state.ts';
import { isLive, liveStatus } from '../process/status.ts';
import { listeningPorts, type PortScan } from '../process/ports.ts';
import { oneLine } from '../util/format.ts';
import { type FrontEnd, optionName, seconds } from './checks.ts';

/** What a watch shows: the stored kinds, and 'output' (a --match line, read from the logs). */
export const WATCH_KINDS = [...EVENT_KINDS, 'output'] as const;
export type WatchKind = (typeof WATCH_KINDS)[number];

/** Lines a watch prints per FOLD_WINDOW_MS at most; the rest are folded into one line. */
export const MAX_LINES_PER_WINDOW = 4;
export const FOLD_WINDOW_MS = 1_000;
/** A process's --match lines: one per MATCH_EVERY_MS at most, the rest counted. */
export const MATCH_EVERY_MS = 1_000;

export interface WatchRequest {
  refs: string[]; // IDs or names; none: every process
  events?: string[]; // kinds; none: every kind (output only with match)
  match?: string; // a regular expression output lines are matched against
  json?: boolean;
  untilIdle?: boolean;
  timeoutSec?: number;
  new?: boolean;
  /** Show secrets as written (--reveal); else as [REDACTED:kind] (ops/event-redact.ts), and --match sees that. */
  reveal?: boolean;
}

export interface Watch {
  refs: string[];
  kinds: Set<WatchKind>;
  match?: RegExp;
  json: boolean;
  untilIdle: boolean;
  timeoutSec?: number;
  reveal: boolean;
  /** The --new view's key: what this watch shows (its refs, kinds and pattern). */
  view?: string;
}

/** The request checked: known kinds, a pattern that compiles, a duration. */
export function checkWatch(req: WatchRequest, fe: FrontEnd): Watch {
  const eventsName = optionName(fe, 'events');
  const asked = (req.events ?? [])
    .flatMap((e) => e.split(','))
    .map((e) => e.trim())
    .filter(Boolean);
  for (const k of asked)
    if (!(WATCH_KINDS as readonly string[]).includes(k))
      throw new BgError(
        'USAGE',
        `${eventsName}: unknown event "${oneLine(k)}". Give some of: ${WATCH_KINDS.join(', ')} (comma-separated).`,
      );
  const match = req.match === undefined ? undefined : fe.regex(optionName(fe, 'match'), req.match);
  if (asked.includes('output') && !match)
    throw new BgError('USAGE', `${eventsName} output needs ${optionName(fe, 'match')}: it says which lines count.`);
  const kinds = new Set<WatchKind>(asked.length ? (asked as WatchKind[]) : WATCH_KINDS);
  if (!match) kinds.delete('output');
  else if (!asked.length) kinds.add('output');
  const timeoutSec = seconds(fe, 'timeout', req.timeoutSec, false);
  const refs = [...new Set(req.refs)];
  const view = req.new
    ? JSON.stringify({ refs: [...refs].sort(), kinds: [...kinds].sort(), match: req.match ?? null })
    : undefined;
  return { refs, kinds, match, json: !!req.json, untilIdle: !!req.untilIdle, timeoutSec, reveal: !!req.reveal, view };
}

/** Which processes a watch follows: those named (by ID, or by name across runs), or all. */
export interface Scope {
  ids: Set<string>;
  names: Set<string>;
  all: boolean;
}

export function scopeOf(records: ProcessRecord[], refs: string[]): Scope {
  const ids = new Set(records.map((r) => r.id));
  const names = new Set(refs.filter((r) => records.some((p) => p.name === r && !refs.includes(p.id))));
  return { ids, names, all: refs.length === 0 };
}

export function inScope(scope: Scope, ev: { id: string; name?: string }): boolean {
  return scope.all || scope.ids.has(ev.id) || (ev.name !== undefined && scope.names.has(ev.name));
}

/** A shown event: a stored one, an output match, a fold of many, the state now, a drop, damage. */
export type Shown =
  | (BgEvent & { kind?: undefined })
  | { kind: 'output'; at: string; id: string; name?: string; line: string; more: number }
  | { kind: 'folded'; at: string; count: number; kinds: Record<string, number>; ended: string[]; seq?: number }
  | { kind: 'summary'; at: string; running: SummaryRow[]; ended: SummaryRow[] }
  | { kind: 'dropped'; at: string; count: number }
  | { kind: 'damaged'; at: string; message: string };

export interface SummaryRow {
  id: string;
  name?: string;
  status: string;
  ports?: number[];
}

function clock(iso: string): string {
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

const who = (e: { id: string; name?: string }) => oneLine(e.name ?? e.id);

/** One line, self-contained: `12:03:04 web ready: listening on port 8080`. */
export function plainLine(s: Shown): string {
  const t = clock(s.at);
  switch (s.kind) {
    case 'output':
      return `${t} ${who(s)} output: ${oneLine(s.line)}${s.more ? ` (+${s.more} more matching line${s.more === 1 ? '' : 's'})` : ''}`;
    case 'folded': {
      const kinds = Object.entries(s.kinds)
        .map(([k, n]) => `${n} ${k}`)
        .join(', ');
      const few = s.ended.length > 5 ? [...s.ended.slice(0, 5), `+${s.ended.length - 5} more`] : s.ended;
      const ended = s.ended.length ? `; ended: ${few.join(', ')}` : '';
      return `${t} ${s.count} more event${s.count === 1 ? '' : 's'} folded (${kinds}${ended}); list_processes shows the state`;
    }
    case 'summary':
      return `${t} now: ${summaryText(s.running, s.ended)}`;
    case 'dropped':
      return `${t} ${s.count} older event${s.count === 1 ? '' : 's'} were dropped by the event log's size bound before this watch read them`;
    case 'damaged':
      return `${t} ${oneLine(s.message)}`;
    default:
      return `${t} ${who(s)} ${s.event}: ${oneLine(s.text)}`;
  }
}

/** The same as one JSON object (stored events as stored; the others with "event" naming them). */
export function jsonLine(s: Shown): string {
  if (s.kind === undefined) return JSON.stringify(s);
  const { kind, ...rest } = s;
  return JSON.stringify({ event: kind, ...rest });
}

function rowText(r: SummaryRow): string {
  const ports = r.ports?.length ? ` :${r.ports.join(',:')}` : '';
  return `${oneLine(r.name ?? r.id)}${ports}`;
}

function summaryText(running: SummaryRow[], ended: SummaryRow[]): string {
  const few = (rows: SummaryRow[], f: (r: SummaryRow) => string) =>
    rows.length > 6 ? `${rows.slice(0, 6).map(f).join(', ')}, +${rows.length - 6} more` : rows.map(f).join(', ');
  const run = running.length ? `${running.length} running (${few(running, rowText)})` : 'nothing running';
  const end = ended.length
    ? `; ${ended.length} ended (${few(ended, (r) => `${oneLine(r.name ?? r.id)} ${r.status}`)})`
    : '';
  return run + end;
}

/** The first line of a --new watch: what runs now (with its ports) and what has ended. */
export function summarize(doc: StateDoc, scope: Scope, now = new Date()): Shown {
  const running: SummaryRow[] = [];
  const ended: SummaryRow[] = [];
  const scan: PortScan = {};
  for (const rec of doc.processes) {
    if (!inScope(scope, rec)) continue;
    const st = liveStatus(rec);
    const row: SummaryRow = { id: rec.id, ...(rec.name ? { name: rec.name } : {}), status: st.label };
    if (isLive(rec)) {
      const ports = listeningPorts(rec.pid, undefined, scan);
      if (ports.length) row.ports = ports;
      running.push(row);
    } else ended.push(row);
  }
  return { kind: 'summary', at: now.toISOString(), running, ended };
}

/** Whether nothing the watch follows runs (or is about to restart): --until-idle ends then. */
export function idle(doc: StateDoc, scope: Scope): boolean {
  return !doc.processes.some((rec) => inScope(scope, rec) && isLive(rec));
}

/**
 * At most MAX_LINES_PER_WINDOW lines per FOLD_WINDOW_MS: the rest of a window's events are
 * held and shown as one "folded" line when it closes (with the processes that ended among
 * them, which a monitor should not miss). `now` and the timer are injected for unit tests.
 */
export class Folder {
  private windowStart = -Infinity;
  private shown = 0;
  private held: Shown[] = [];
  private timer: { cancel: () => void } | undefined;

  constructor(
    private readonly emit: (s: Shown) => void,
    private readonly now: () => number = Date.now,
    private readonly later: (fn: () => void, ms: number) => { cancel: () => void } = (fn, ms) => {
      const t = setTimeout(fn, ms);
      return { cancel: () => clearTimeout(t) };
    },
  ) {}

  push(s: Shown): void {
    const t = this.now();
    if (t - this.windowStart >= FOLD_WINDOW_MS && !this.held.length) {
      this.windowStart = t;
      this.shown = 0;
    }
    if (this.shown < MAX_LINES_PER_WINDOW && !this.held.length) {
      this.shown++;
      this.emit(s);
      return;
    }
    this.held.push(s);
    this.timer ??= this.later(() => this.close(), Math.max(0, this.windowStart + FOLD_WINDOW_MS - t));
  }

  /** Show what is held now (a watch that ends). */
  flush(): void {
    this.timer?.cancel();
    this.close();
  }

  /** Whether events wait to be shown. */
  get pending(): boolean {
    return this.held.length > 0;
  }

  private close(): void {
    this.timer = undefined;
    const held = this.held;
    this.held = [];
    this.windowStart = this.now();
    this.shown = 1;
    if (held.length === 1) return this.emit(held[0]!);
    if (!held.length) return;
    const kinds: Record<string, number> = {};
    const ended: string[] = [];
    let seq: number | undefined;
    for (const s of held) {
      if (s.kind === undefined) seq = Math.max(seq ?? 0, s.seq);
      const k = s.kind === undefined ? s.event : s.kind;
      kinds[k] = (kinds[k] ?? 0) + (s.kind === 'folded' ? s.count : 1);
      if (s.kind === undefined && isEnd(s.event)) ended.push(`${who(s)} ${s.event}`);
    }
    const at = new Date(this.now()).toISOString();
    this.emit({ kind: 'folded', at, count: held.length, kinds, ended, ...(seq === undefined ? {} : { seq }) });
  }
}

export function isEnd(k: StoredKind): boolean {
  return k === 'exited' || k === 'failed' || k === 'stopped' || k === 'killed';
}
