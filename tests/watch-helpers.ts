// A watch_processes run for tests: its lines as they come, a wait for one, a stop (SIGTERM).
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { ROOT, SCRIPTS, track, waitFor, type Sandbox } from './helpers.ts';

export interface Watcher {
  child: ChildProcess;
  lines: string[];
  stderr: () => string;
  exited: Promise<number | null>;
  /** The first line from index `from` on matching `re`. */
  line: (re: RegExp, timeoutMs?: number, from?: number) => Promise<string>;
  stop: () => Promise<number | null>;
}

export function watch(sb: Sandbox, args: string[], env: NodeJS.ProcessEnv = {}): Watcher {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(SCRIPTS, 'watch_processes.ts'), ...args], {
    env: { ...sb.env, ...env },
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(sb, child.pid!);
  const lines: string[] = [];
  let buf = '';
  let err = '';
  child.stdout!.on('data', (d) => {
    buf += d;
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return {
    child,
    lines,
    stderr: () => err,
    exited,
    line: (re, timeoutMs = 20_000, from = 0) =>
      waitFor(
        `a line matching ${re} (got:\n${lines.join('\n')}\n${err})`,
        () => lines.slice(from).find((l) => re.test(l)),
        timeoutMs,
      ),
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}
