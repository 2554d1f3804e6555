// start_process / restart_process --wait-for / --wait-port: wait until the process is ready,
// or say why not (ops/ready.ts decides what to wait for; each front end prints the outcome).
import { LogSetReader, logFileOf, type Cursor } from '../log/format/logset.ts';
import { waitForLine } from '../log/read/wait-for.ts';
import { lineText, type Line } from '../log/read/lines.ts';
import { selectLines } from '../log/read/logquery.ts';
import { screenLines } from '../log/read/screen-watch.ts';
import { listeningPorts } from '../process/ports.ts';
import { isPortable, pollingLook } from '../process/proc.ts';
import { isLive, liveStatus } from '../process/status.ts';
import { waitFor } from '../util/wait.ts';
import type { Hints } from '../install/hints.ts';
import type { Context } from '../store/context.ts';
import type { ProcessRecord, Readiness } from '../store/state.ts';
import { findRecord } from '../store/state.ts';
import { oneLine } from '../util/format.ts';

/** How often --wait-port looks on the portable layer, where each look runs ps and lsof (50 ms on Linux). */
const PORTABLE_PORT_LOOK_MS = 250;

/** `screen`: a wait that failed while the program showed the alternate screen: its rows then. */
export type ReadyResult =
  | { ready: true; detail: string }
  | { ready: false; why: 'timeout' | 'ended'; screen?: string[] };

function current(ctx: Context, id: string): ProcessRecord | undefined {
  return findRecord(ctx.store.read(), id);
}

/**
 * `from`: where in the log this run's output starts (a restart continues the log). `signal`:
 * the wait ends early (as if the process had ended) once it is aborted, say by an MCP client
 * that cancelled the call or went away; the caller tells the two apart.
 */
export async function waitReady(
  ctx: Context,
  id: string,
  opts: { pattern?: RegExp; port?: number; timeoutMs: number; from?: Cursor; signal?: AbortSignal },
): Promise<ReadyResult> {
  const deadline = Date.now() + opts.timeoutMs;
  const alive = () => {
    if (opts.signal?.aborted) return false;
    const rec = current(ctx, id);
    return !!rec && isLive(rec);
  };
  if (opts.pattern) {
    const rec = current(ctx, id)!;
    const activeFile = logFileOf(ctx.dataDir, rec);
    // get_logs --wait-for's wait, on this run's output (from `from`), stdout and stderr only.
    const res = await waitForLine({
      reader: new LogSetReader(activeFile, ctx.unlocked!.keys, id),
      activeFile,
      query: { streams: new Set(['stdout', 'stderr']), raw: false, lines: 0, from: opts.from ?? null },
      pattern: opts.pattern,
      running: alive,
      timeoutMs: opts.timeoutMs,
      statusEveryMs: 100,
      // A prompt ("Password: ") has no newline: it counts once it has stood still a moment.
      openLinesAtOnce: false,
      screen: rec.pty, // a full-screen program's rows count too
    });
    const hit = res.hit;
    if (!hit) return { ready: false, why: res.end === 'timeout' ? 'timeout' : 'ended', screen: res.screen };
    if (opts.port === undefined) return { ready: true, detail: lineText(hit, false) };
  }
  const port = opts.port!;
  let ended = false;
  const ok = await waitFor(
    () => {
      const rec = current(ctx, id);
      if (opts.signal?.aborted || !rec || !pollingLook(() => isLive(rec))) return (ended = true);
      return listeningPorts(rec.pid).includes(port);
    },
    Math.max(0, deadline - Date.now()),
    isPortable() ? PORTABLE_PORT_LOOK_MS : 50,
  );
  if (ok && !ended) return { ready: true, detail: `listening on port ${port}` };
  return { ready: false, why: ended ? 'ended' : 'timeout' };
}

/** The end of a process's log now: what a restart prints comes after it. */
export function logEnd(ctx: Context, rec: ProcessRecord): Cursor | undefined {
  const reader = new LogSetReader(logFileOf(ctx.dataDir, rec), ctx.unlocked!.keys, rec.id);
  reader.backward(() => false);
  return reader.lastCursor;
}

/**
 * Why a readiness wait failed, in words, and the last `lines` lines of the run (start/restart,
 * MCP); `hints`: how the caller is told to stop a process that runs on; of a program showing
 * the alternate screen (`screen`), that screen's non-blank rows.
 */
export function notReady(
  ctx: Context,
  id: string,
  ready: Readiness,
  pattern: RegExp | undefined,
  why: 'timeout' | 'ended',
  lines: number,
  hints: Hints,
  from?: Cursor,
  screen?: string[],
): { message: string; tail: Line[] } {
  const { port, timeoutSec } = ready;
  const rec = findRecord(ctx.store.read(), id)!;
  // The last lines of this run only (a restart continues the log after `from`).
  const tail = screen
    ? screenLines(screen)
    : selectLines(new LogSetReader(logFileOf(ctx.dataDir, rec), ctx.unlocked!.keys, rec.id), {
        streams: new Set(['stdout', 'stderr']),
        raw: false,
        lines,
        ...(from ? { from } : {}),
      }).lines;
  const last = screen ? 'Its screen:' : tail.length ? 'Its last lines:' : 'It printed nothing.';
  const st = liveStatus(rec);
  const missed = [
    pattern ? `no ${screen ? 'line or screen row' : 'line'} matched /${oneLine(ready.pattern!)}/` : '',
    port !== undefined ? `nothing listened on port ${port}` : '',
  ]
    .filter(Boolean)
    .join(' and ');
  const before = [
    pattern ? `a line matched /${oneLine(ready.pattern!)}/` : '',
    port !== undefined ? `anything listened on port ${port}` : '',
  ]
    .filter(Boolean)
    .join(' or ');
  const message =
    why === 'timeout'
      ? `${missed} within ${timeoutSec} s; process ${id} is still running (stop it with ${hints.call('stop_process', { ref: rec.name ?? id })}). ${last}`
      : `process ${id} ended (${st.label}) before ${before}. ${last}`;
  return { message, tail };
}
