// The live part of a watch (watch_processes): it watches the data dir folder itself (the state
// and the event log are replaced or appended there; a watch on a file goes stale once the file
// is replaced by rename), with a slow poll as a fallback, reads the new events, and prints each
// one the watch wants through the Folder (ops/watch.ts). With --match it also follows the logs
// of the processes it watches, read only when a log changed and at most every MATCH_READ_MS.
import fs from 'node:fs';
import path from 'node:path';
import type { Context } from '../store/context.ts';
import { EventReader, lastEventSeq, type BgEvent } from '../store/events.ts';
import { readViewSeq, saveViewSeq } from '../store/event-views.ts';
import type { ProcessRecord } from '../store/state.ts';
import { logFileOf, type Cursor } from '../log/format/logset.ts';
import { selectLines } from '../log/read/logquery.ts';
import { lineText } from '../log/read/lines.ts';
import { readerOf } from '../log/read/read-modes.ts';
import { logEnd } from '../control/ready.ts';
import { resolveAll } from '../process/resolve.ts';
import { isLive } from '../process/status.ts';
import type { Hints } from '../install/hints.ts';
import { type Redactor, recordRedactor } from '../util/redact.ts';
import { EventRedactor } from './event-redact.ts';
import {
  Folder,
  idle,
  inScope,
  jsonLine as jsonLineOf,
  MATCH_EVERY_MS,
  plainLine as plainLineOf,
  scopeOf,
  summarize,
  type Scope,
  type Shown,
  type Watch,
} from './watch.ts';

/** The fallback poll (a missed folder notification, a supervisor that died unrecorded). */
export const FALLBACK_POLL_MS = 2_000;
/** A changed log is read at most this often for --match. */
const MATCH_READ_MS = 250;
/** A --new view's place is saved this long after the last line shown (and when the watch ends). */
const SAVE_AFTER_MS = 200;

export type WatchEnd = 'idle' | 'timeout' | 'stopped';

interface MatchFollower {
  rec: ProcessRecord;
  cursor: Cursor | null | undefined;
  /** Secrets hidden in what --match sees and shows; undefined with --reveal. */
  redact?: Redactor;
  timer?: NodeJS.Timeout;
  lastShownAt: number;
  held?: { line: string; count: number };
  flushTimer?: NodeJS.Timeout;
}

/**
 * Run a watch until `signal` aborts it (the caller's SIGTERM), nothing it follows runs
 * (--until-idle) or its --timeout passes. `write` prints one line.
 */
export async function runWatch(
  ctx: Context,
  w: Watch,
  write: (line: string) => void,
  hints: Hints,
  signal: AbortSignal,
  pollMs = FALLBACK_POLL_MS,
): Promise<WatchEnd> {
  const dir = ctx.dataDir;
  let doc = ctx.store.read();
  const scope: Scope = scopeOf(resolveAll(doc, w.refs, 'watch', hints), w.refs);
  const keys = ctx.unlocked!.keys; // there is a key: made for a watch of all, or a named process was found
  const viewSeq = w.view === undefined ? undefined : readViewSeq(dir, keys, w.view);
  // A --new view seen before continues after its last event; otherwise the watch starts now.
  const reader = new EventReader(dir, keys, viewSeq ?? lastEventSeq(dir));

  let savedSeq = viewSeq ?? 0;
  let shownSeq = reader.lastSeq;
  let saveTimer: NodeJS.Timeout | undefined;
  let saving: Promise<unknown> = Promise.resolve();
  const save = () => {
    saveTimer = undefined;
    if (w.view === undefined || shownSeq <= savedSeq) return;
    const seq = shownSeq;
    saving = saving.then(() =>
      saveViewSeq(dir, keys, w.view!, seq).then(
        () => void (savedSeq = Math.max(savedSeq, seq)),
        () => undefined, // kept in memory: saved with the next line, or at the end
      ),
    );
  };
  const show = (s: Shown) => {
    write(w.json ? jsonLineOf(s) : plainLineOf(s));
    const seq = s.kind === undefined ? s.seq : s.kind === 'folded' ? s.seq : undefined;
    if (seq !== undefined && seq > shownSeq) shownSeq = seq;
    if (w.view !== undefined) saveTimer ??= setTimeout(save, SAVE_AFTER_MS);
  };
  const folder = new Folder(show);
  // Secrets hidden as get_logs hides them, at read time (the event log holds them as they were).
  const hide = w.reveal ? undefined : new EventRedactor(() => ctx.store.read().processes);

  if (w.view !== undefined) show(summarize(doc, scope));

  const followers = new Map<string, MatchFollower>();
  const follow = (rec: ProcessRecord, fromStart: boolean) => {
    if (!w.match || followers.has(rec.id) || !isLive(rec)) return;
    followers.set(rec.id, {
      rec,
      cursor: fromStart ? null : logEnd(ctx, rec),
      lastShownAt: 0,
      ...(w.reveal ? {} : { redact: recordRedactor(rec) }),
    });
  };
  for (const rec of doc.processes) if (inScope(scope, rec)) follow(rec, false);

  const readEvents = () => {
    const { events, dropped, damage } = reader.poll();
    for (const message of damage) folder.push({ kind: 'damaged', at: new Date().toISOString(), message });
    if (dropped) folder.push({ kind: 'dropped', at: new Date().toISOString(), count: dropped });
    let sawStart = false;
    for (const ev of events) {
      if (!inScope(scope, ev)) {
        // Not shown, but seen: a --new view continues after it.
        if (ev.seq > shownSeq && !folder.pending) shownSeq = ev.seq;
        continue;
      }
      if (ev.event === 'started' || ev.event === 'restarted') sawStart = true;
      if (w.kinds.has(ev.event)) folder.push(hide ? hide.event(ev as BgEvent) : (ev as BgEvent));
      else if (ev.seq > shownSeq && !folder.pending) shownSeq = ev.seq;
    }
    if (sawStart && w.match) {
      doc = ctx.store.read();
      for (const rec of doc.processes) if (inScope(scope, rec)) follow(rec, true);
    }
  };

  const readMatches = (f: MatchFollower) => {
    f.timer = undefined;
    const rec = doc.processes.find((p) => p.id === f.rec.id) ?? f.rec;
    const sel = selectLines(readerOf(ctx, rec, logFileOf(dir, rec)), {
      streams: new Set(['stdout', 'stderr']),
      raw: false,
      lines: 0,
      grep: w.match,
      from: f.cursor ?? null,
      redact: f.redact,
    });
    if (sel.end) f.cursor = sel.end;
    for (const line of sel.lines) matched(f, lineText(line, false, f.redact));
  };
  const matched = (f: MatchFollower, line: string) => {
    const now = Date.now();
    if (now - f.lastShownAt >= MATCH_EVERY_MS && !f.held) {
      f.lastShownAt = now;
      folder.push({ kind: 'output', at: new Date(now).toISOString(), id: f.rec.id, name: f.rec.name, line, more: 0 });
      return;
    }
    f.held = { line, count: (f.held?.count ?? 0) + 1 };
    f.flushTimer ??= setTimeout(() => flushMatch(f), Math.max(0, f.lastShownAt + MATCH_EVERY_MS - now));
  };
  const flushMatch = (f: MatchFollower) => {
    f.flushTimer = undefined;
    const held = f.held;
    if (!held) return;
    f.held = undefined;
    f.lastShownAt = Date.now();
    const at = new Date(f.lastShownAt).toISOString();
    folder.push({ kind: 'output', at, id: f.rec.id, name: f.rec.name, line: held.line, more: held.count - 1 });
  };
  const logChanged = (name: string | undefined) => {
    for (const f of followers.values()) {
      if (name && !name.startsWith(path.basename(f.rec.logFile))) continue;
      f.timer ??= setTimeout(() => readMatches(f), MATCH_READ_MS);
    }
  };

  return new Promise<WatchEnd>((resolve) => {
    let done = false;
    let pollTimer: NodeJS.Timeout | undefined;
    const watchers: fs.FSWatcher[] = [];
    const finish = (why: WatchEnd) => {
      if (done) return;
      done = true;
      for (const x of watchers) x.close();
      clearTimeout(pollTimer);
      clearTimeout(timeout);
      for (const f of followers.values()) {
        clearTimeout(f.timer);
        clearTimeout(f.flushTimer);
        if (f.held) flushMatch(f);
      }
      folder.flush();
      clearTimeout(saveTimer);
      save();
      void saving.then(() => resolve(why));
    };
    const check = () => {
      if (done) return;
      try {
        readEvents();
        if (w.untilIdle) {
          doc = ctx.store.read();
          // Idle once every event up to now was read (an end recorded in the state before its event).
          if (idle(doc, scope)) {
            readEvents();
            return finish('idle');
          }
        }
      } catch (err) {
        write(`watch_processes: ${(err as Error).message}`);
      }
    };
    let queued = false;
    const changed = () => {
      if (queued) return;
      queued = true;
      setImmediate(() => {
        queued = false;
        check();
      });
    };
    watchers.push(
      fs.watch(dir, (_e, name) => {
        const n = name ? String(name) : '';
        if (!n || n.startsWith('events.enc') || n.startsWith('processes.json.enc')) changed();
      }),
    );
    if (w.match) {
      const logs = path.join(dir, 'logs');
      try {
        watchers.push(fs.watch(logs, (_e, name) => logChanged(name ? String(name) : undefined)));
      } catch {
        /* no logs folder yet: the fallback poll reads them */
      }
    }
    const poll = () => {
      check();
      if (w.match) logChanged(undefined);
      if (!done) pollTimer = setTimeout(poll, pollMs);
    };
    const timeout = w.timeoutSec === undefined ? undefined : setTimeout(() => finish('timeout'), w.timeoutSec * 1000);
    signal.addEventListener('abort', () => finish('stopped'), { once: true });
    poll();
  });
}
