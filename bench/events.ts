// The events rows (issue 26, part 2; BENCH_ONLY=events): what the event stream costs while
// nothing happens (the CPU time a supervisor with a listening port takes over an idle period,
// with its port poll; the same for a watch_processes --new), and how long an event takes to
// reach its line (the event's own time, taken by the supervisor as it decides, to the moment
// the watcher's line is read by this process).
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { running, waitFor } from './lib.ts';

const CLK_TCK = 100; // Linux's USER_HZ: /proc/<pid>/stat's times are in these ticks

/** CPU time (user + system) of `pid` so far, in ms. */
export function cpuMs(pid: number): number {
  const text = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
}

/** The CPU time `pid` takes over `seconds` of wall time, in ms. */
export async function idleCpuMs(pid: number, seconds: number): Promise<number> {
  const before = cpuMs(pid);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  return cpuMs(pid) - before;
}

export interface Watcher {
  pid: number;
  lines: { at: number; text: string }[];
  stop: () => void;
}

/** A watch_processes run whose lines are kept with the wall time each was read. */
export function startWatcher(node: string, script: string, args: string[], env: NodeJS.ProcessEnv): Watcher {
  const child = spawn(node, [script, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  running.add(child.pid!);
  const lines: Watcher['lines'] = [];
  let buf = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    const now = Date.now();
    buf += d;
    const parts = buf.split('\n');
    buf = parts.pop()!;
    for (const text of parts) lines.push({ at: now, text });
  });
  return {
    pid: child.pid!,
    lines,
    stop: () => {
      child.kill('SIGTERM');
      running.delete(child.pid!);
    },
  };
}

/** Wait for a --json line of `event` for `name`; its delay: read time minus the event's own time. */
export async function eventDelay(w: Watcher, name: string, event: string): Promise<number> {
  const hit = await waitFor(
    `${name} ${event}`,
    () =>
      w.lines.find((l) => {
        if (!l.text.startsWith('{')) return false;
        const e = JSON.parse(l.text) as { name?: string; event?: string };
        return e.name === name && e.event === event;
      }),
    30_000,
  );
  const e = JSON.parse(hit.text) as { at: string };
  return hit.at - Date.parse(e.at);
}
