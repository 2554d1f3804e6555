// start_process --wait-for / --wait-port: return once the process is ready, or say why not.
import { LogSetReader, logFileOf } from './logset.ts';
import { follow, PROMPT_QUIET_MS } from './follow.ts';
import { lineText, type Line } from './lines.ts';
import { listeningPorts } from './ports.ts';
import { isLive } from './status.ts';
import { waitFor } from './wait.ts';
import type { Context } from './context.ts';
import type { ProcessRecord } from './state.ts';

export type ReadyResult = { ready: true; detail: string } | { ready: false; why: 'timeout' | 'ended' };

function current(ctx: Context, id: string): ProcessRecord | undefined {
  return ctx.store.read().processes.find((p) => p.id === id);
}

export async function waitReady(ctx: Context, id: string, opts: { pattern?: RegExp; port?: number; timeoutMs: number }): Promise<ReadyResult> {
  const deadline = Date.now() + opts.timeoutMs;
  const alive = () => {
    const rec = current(ctx, id);
    return !!rec && isLive(rec);
  };
  if (opts.pattern) {
    const rec = current(ctx, id)!;
    const reader = new LogSetReader(logFileOf(ctx.dataDir, rec), ctx.unlocked!.keys, id);
    let hit: Line | undefined;
    const check = (l: Line) => {
      if (l.stream === 'event' || l.stream === 'input' || !opts.pattern!.test(lineText(l, false))) return true;
      hit = l;
      return false;
    };
    const res = await follow({
      activeFile: logFileOf(ctx.dataDir, rec),
      reader,
      from: undefined,
      running: alive,
      timeoutMs: opts.timeoutMs,
      statusEveryMs: 100,
      onLine: check,
      // A prompt ("Password: ") has no newline: it counts once it has stood still a moment.
      onPartial: check,
      partialQuietMs: PROMPT_QUIET_MS,
    });
    if (!hit) return { ready: false, why: res.end === 'timeout' ? 'timeout' : 'ended' };
    if (opts.port === undefined) return { ready: true, detail: lineText(hit, false) };
  }
  const port = opts.port!;
  let ended = false;
  const ok = await waitFor(
    () => {
      const rec = current(ctx, id);
      if (!rec || !isLive(rec)) return (ended = true);
      return listeningPorts(rec.pid).includes(port);
    },
    Math.max(0, deadline - Date.now()),
    50,
  );
  if (ok && !ended) return { ready: true, detail: `listening on port ${port}` };
  return { ready: false, why: ended ? 'ended' : 'timeout' };
}
