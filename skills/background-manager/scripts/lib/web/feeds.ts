// What the dashboard streams to the page as server-sent events: the process list as it
// changes, one process's output lines as they arrive, and a PTY process's terminal bytes. All
// of it is read with the scripts' own functions (listed() is list_processes's listing,
// selectLines/follow are get_logs's reads, outputSinceReset is get_logs --screen's replay), so
// the page shows what the scripts would print. The server watches the data dir (inotify, as
// follow.ts does): a browser never polls the whole state.
import fs from 'node:fs';
import type http from 'node:http';
import type { Context } from '../store/context.ts';
import type { ProcessRecord } from '../store/state.ts';
import { STATE_FILE } from '../store/state.ts';
import { listed, type Listed } from '../ops/list.ts';
import { waitingOf } from '../process/input-state.ts';
import { type LogSetReader, logFileOf, type Cursor } from '../log/format/logset.ts';
import { selectLines } from '../log/read/logquery.ts';
import { follow } from '../log/read/follow.ts';
import { type Redactor, recordRedactor } from '../util/redact.ts';
import { lineText, type Line } from '../log/read/lines.ts';
import { replaySinceReset } from '../log/read/screen.ts';
import { sizeChange } from '../log/read/term-size.ts';
import { STREAMS } from '../log/format/logfile.ts';
import { isLogging } from '../process/status.ts';
import { findRecord } from '../store/state.ts';
import { readerOf } from '../log/read/read-modes.ts';
import { RecentEvents } from './event-feed.ts';
import { EVENTS_FILE } from '../store/events.ts';

// Ports and statuses also change without a state write (a server starts listening, a process
// is lost): looked at again this often while a page is open.
const RECHECK_MS = 1000;

/** One event on an open SSE response. */
export function sendEvent(res: http.ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

/** A process as the page shows it: what list_processes shows, nothing internal. */
function viewOf({ p, s, ports, stale }: Listed) {
  return {
    id: p.id,
    name: p.name ?? null,
    pid: p.pid,
    status: s.status,
    label: s.label,
    command: p.command,
    pty: p.pty,
    ports,
    restarts: p.restarts ?? 0,
    startedAt: p.startedAt,
    endedAt: p.endedAt ?? null,
    provenance: p.provenance ?? null,
    stale: stale ?? null,
    waitingForInput: waitingOf(p, s), // the row's input mark (web/app.ts)
  };
}

/** The process list, pushed to every open page when it changes. */
export class ProcessFeed {
  private readonly clients = new Set<http.ServerResponse>();
  private last = '';
  private lastSnap: ReturnType<ProcessFeed['snapshot']> = { processes: [] };
  private watcher: fs.FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pending: NodeJS.Timeout | undefined;
  /** The event log's latest, sent as `lifecycle` (event-feed.ts). */
  private readonly events: RecentEvents;

  constructor(private readonly ctx: Context) {
    this.events = new RecentEvents(ctx);
  }

  /** The state as it is now; a damaged state is an error the page shows. */
  snapshot(): { processes: ReturnType<typeof viewOf>[] } | { error: string } {
    try {
      return { processes: listed(this.ctx.store.read(), undefined, { stale: true }).map(viewOf) };
    } catch (err) {
      return { error: (err as Error).message };
    }
  }

  add(res: http.ServerResponse): void {
    if (!this.timer) this.start();
    this.push(); // the pages already open get any change first, so that `last` is what all have
    sendEvent(res, 'processes', this.lastSnap);
    sendEvent(res, 'lifecycle', this.events.current());
    this.clients.add(res);
    res.on('close', () => {
      this.clients.delete(res);
      if (this.clients.size === 0) this.stop();
    });
  }

  private start(): void {
    this.last = '';
    try {
      // The state is replaced by rename: the folder's events name the file.
      this.watcher = fs.watch(this.ctx.dataDir, (_e, name) => {
        if (!name || String(name).startsWith(STATE_FILE) || String(name).startsWith(EVENTS_FILE)) this.soon();
      });
    } catch {
      /* no inotify: the recheck below still sees every change, a second late */
    }
    this.timer = setInterval(() => this.push(), RECHECK_MS);
  }

  private stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  // A burst of events (temp file, rename) makes one read.
  private soon(): void {
    this.pending ??= setTimeout(() => {
      this.pending = undefined;
      this.push();
    }, 15);
  }

  push(): void {
    const events = this.events.poll();
    if (events) for (const res of this.clients) sendEvent(res, 'lifecycle', events);
    const snap = this.snapshot();
    const text = JSON.stringify(snap);
    if (text === this.last) return;
    this.last = text;
    this.lastSnap = snap;
    for (const res of this.clients) sendEvent(res, 'processes', snap);
  }

  close(): void {
    this.stop();
    clearTimeout(this.pending);
    for (const res of this.clients) res.end();
  }
}

// Whether the process may still write to its log (as get_logs decides it); false if it is gone.
function stillWriting(ctx: Context, id: string): boolean {
  try {
    const rec = findRecord(ctx.store.read(), id);
    return !!rec && isLogging(rec);
  } catch {
    return false;
  }
}

/**
 * A line for the page: its text with secrets shown as [REDACTED:kind] (util/redact.ts), and in
 * `r` the values they stand for, in order, which the page shows when the person clicks a
 * marker (issue 27). The page is the person's: its token is never given to an agent.
 */
const lineJson = (l: Line, red: Redactor) => {
  const { text, values } = red.withValues(lineText(l, false), l.stream);
  return {
    t: l.time,
    s: l.stream,
    x: text,
    ...(values.length ? { r: values } : {}),
    ...(l.complete || l.stream === 'input' ? {} : { p: true }),
  };
};

/**
 * A process's last `n` lines (every stream: the page filters), then each new one as it
 * arrives, until the process ends or the page goes. A line without a newline yet (a prompt)
 * is sent as partial each time it grows, then whole.
 */
export async function streamLog(ctx: Context, rec: ProcessRecord, n: number, res: http.ServerResponse): Promise<void> {
  let gone = false;
  res.on('close', () => (gone = true));
  const reader = readerOf(ctx, rec, logFileOf(ctx.dataDir, rec));
  const sel = selectLines(reader, { streams: new Set(STREAMS), lines: n, raw: false });
  const red = recordRedactor(rec);
  sendEvent(
    res,
    'lines',
    sel.lines.map((l) => lineJson(l, red)),
  );
  for (const issue of sel.issues) sendEvent(res, 'issue', issue.message);
  const send = (l: Line) => {
    if (!gone) sendEvent(res, 'lines', [lineJson(l, red)]);
    return !gone;
  };
  const end = await follow({
    activeFile: logFileOf(ctx.dataDir, rec),
    reader,
    from: sel.end,
    open: sel.open,
    shown: sel.open,
    running: () => !gone && stillWriting(ctx, rec.id),
    onLine: send,
    onPartial: send,
    partialQuietMs: 0,
    onRecord: (r) => {
      const change = sizeChange(r);
      if (change && !gone) sendEvent(res, 'resize', change.now);
    },
  });
  if (!gone) sendEvent(res, 'end', end.end);
}

/** `reader` as outputSinceReset sees it, noting where the log ended when it was read. */
function endNoting(reader: LogSetReader): { reader: LogSetReader; end: () => Cursor | undefined } {
  let end: Cursor | undefined;
  const wrapped = Object.create(reader) as LogSetReader;
  wrapped.backward = (visit) =>
    reader.backward((rec) => {
      end ??= reader.lastCursor; // the first record visited is the newest
      return visit(rec);
    });
  return { reader: wrapped, end: () => end };
}

/**
 * A PTY process's terminal: the output since the last full-screen reset (what get_logs
 * --screen replays), then every byte it prints, for the page's terminal emulator to draw.
 */
export async function streamTerminal(ctx: Context, rec: ProcessRecord, res: http.ServerResponse): Promise<void> {
  let gone = false;
  res.on('close', () => (gone = true));
  const reader = readerOf(ctx, rec, logFileOf(ctx.dataDir, rec));
  const noted = endNoting(reader);
  // At the sizes in force (term-size.ts): the size it starts at, and where in the data it changed.
  // Secrets drawn as [REDACTED:kind] in the terminal too (read as --raw reads them).
  const replay = replaySinceReset(noted.reader, rec.ptySize);
  const red = recordRedactor(rec);
  const hide = (b: Buffer) => {
    const text = b.toString('utf8');
    const shown = red.raw(text, 'terminal');
    return shown === text ? b : Buffer.from(shown);
  };
  const data: Buffer[] = [];
  const resizes: { at: number; cols: number; rows: number }[] = [];
  let at = 0;
  for (const p of replay.parts) {
    if (!Buffer.isBuffer(p)) resizes.push({ at, ...p });
    else {
      const shown = hide(p);
      data.push(shown);
      at += shown.length;
    }
  }
  sendEvent(res, 'reset', { ...replay.start, data: Buffer.concat(data).toString('base64'), resizes });
  // Lines back to bytes: what of an open line was sent already, so only what it grew by goes.
  let sentOpen = 0;
  const out = (bytes: Buffer) => {
    if (!gone && bytes.length) sendEvent(res, 'out', hide(bytes).toString('base64'));
  };
  const end = await follow({
    activeFile: logFileOf(ctx.dataDir, rec),
    reader,
    from: noted.end(),
    running: () => !gone && stillWriting(ctx, rec.id),
    onLine: (l) => {
      if (l.stream !== 'stdout') return !gone;
      out(Buffer.concat([l.bytes.subarray(sentOpen), l.complete ? Buffer.from('\n') : Buffer.alloc(0)]));
      sentOpen = 0;
      return !gone;
    },
    onPartial: (l) => {
      if (l.stream !== 'stdout') return !gone;
      out(l.bytes.subarray(sentOpen));
      sentOpen = l.bytes.length;
      return !gone;
    },
    partialQuietMs: 0,
    onRecord: (r) => {
      const change = sizeChange(r);
      if (change && !gone) sendEvent(res, 'resize', change.now);
    },
  });
  if (!gone) sendEvent(res, 'end', end.end);
}
