// get_logs --follow and --wait-for: read on from a cursor as the supervisor appends, woken by
// inotify (fs.watch) on the logs folder rather than by busy polling, until the process ends.
import fs from 'node:fs';
import path from 'node:path';
import type { LogRecord } from './logfile.ts';
import { LogSetReader, type Cursor } from './logset.ts';
import { LineAssembler, type Line } from './lines.ts';

export interface FollowOptions {
  activeFile: string;
  reader: LogSetReader;
  from: Cursor | undefined;
  /** Called with each new whole line; return false to stop following. */
  onLine: (line: Line) => boolean;
  /** True while the process can still write (checked at most every `statusEveryMs`). */
  running: () => boolean;
  timeoutMs?: number;
  statusEveryMs?: number;
}

export type FollowEnd = 'stopped' | 'ended' | 'timeout';

export function follow(o: FollowOptions): Promise<{ end: FollowEnd; cursor: Cursor | undefined }> {
  return new Promise((resolve) => {
    let cursor = o.from;
    const assembler = new LineAssembler();
    let done = false;
    let statusTimer: NodeJS.Timeout | undefined;
    let timeout: NodeJS.Timeout | undefined;
    let watcher: fs.FSWatcher | undefined;
    const base = path.basename(o.activeFile);

    const finish = (end: FollowEnd) => {
      if (done) return;
      done = true;
      watcher?.close();
      clearInterval(statusTimer);
      clearTimeout(timeout);
      resolve({ end, cursor });
    };
    // Read whatever is new; returns false when a line asked to stop.
    const drain = (final: boolean): boolean => {
      const fresh: Line[] = [];
      cursor = o.reader.forward(cursor, (rec: LogRecord) => assembler.push(rec, fresh));
      if (final) assembler.flush(fresh);
      for (const line of fresh) if (!o.onLine(line)) return false;
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
      timeout = setTimeout(() => {
        if (!drain(false)) return finish('stopped');
        finish('timeout');
      }, o.timeoutMs);
    }
  });
}
