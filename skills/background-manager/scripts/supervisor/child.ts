// The child as the supervisor sees it, whether it runs under a terminal (pty-child.ts) or with
// pipes (here): its PID, its exit, input to it.
import fs from 'node:fs';
import { spawn as spawnPipe, type ChildProcess } from 'node:child_process';
import type { OutputLog } from '../lib/log/write/outputlog.ts';
import type { SupervisorConfig } from '../lib/control/supervisor-config.ts';
import { BgError } from '../lib/errors.ts';
import { isPortable } from '../lib/process/proc.ts';
import { startPtyChild } from './pty-child.ts';
import type { Exit } from './policy.ts';
import type { Child } from './child-type.ts';

export type { Child };

/** Start the command as cfg says (a terminal, or --no-pty pipes), its output going to `out`. */
export function startChild(cfg: SupervisorConfig, out: OutputLog): Promise<Child> {
  return cfg.pty ? Promise.resolve(startPtyChild(cfg, out)) : startPipeChild(cfg, out);
}

function startPipeChild(cfg: SupervisorConfig, out: OutputLog): Promise<Child> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawnPipe(cfg.argv[0]!, cfg.argv.slice(1), {
      cwd: cfg.cwd,
      env: cfg.env,
      detached: true, // setsid: the child leads its own session and process group
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.once('error', reject);
    child.stdin!.on('error', () => undefined); // EPIPE when the child closed its input
    child.stdout!.on('data', (d: Buffer) => out.push('stdout', d));
    child.stderr!.on('data', (d: Buffer) => out.push('stderr', d));
    out.setSource({
      pause: () => (child.stdout!.pause(), child.stderr!.pause()),
      resume: () => (child.stdout!.resume(), child.stderr!.resume()),
    });
    const exited = pipeExit(child, out);
    child.once('spawn', () => {
      child.off('error', reject);
      const input = stdinLink(child.pid!);
      resolve({
        pid: child.pid!,
        hasExited: () => child.exitCode !== null || child.signalCode !== null,
        exited,
        write: (data) =>
          new Promise((res, rej) => {
            if (!child.stdin!.writable) return rej(new BgError('NOT_RUNNING', 'the process has closed its input.'));
            child.stdin!.write(data, (err) => (err ? rej(err) : res()));
          }),
        closeInput: () => child.stdin!.end(),
        inputPath: () => input,
      });
    });
  });
}

// The child's stdin as /proc links name it (Node gives it one end of a socket pair:
// "socket:[ino]"), read as it starts, before the command can move it.
function stdinLink(pid: number): string | undefined {
  if (isPortable()) return undefined; // no /proc: the input watch says "cannot tell" (lib/process/waiting.ts)
  try {
    return fs.readlinkSync(`/proc/${pid}/fd/0`);
  } catch {
    return undefined;
  }
}

// The exit status comes with 'exit'; output is complete at 'close'. A background grandchild
// may hold the pipes open for ever, so the drain is bounded (not counting time when
// back-pressure holds the output: that part is there to be read).
function pipeExit(child: ChildProcess, out: OutputLog): Promise<Exit> {
  return new Promise<Exit>((res) =>
    child.once('exit', (code, sig) => {
      let drain: NodeJS.Timeout;
      const arm = () =>
        (drain = setTimeout(() => {
          if (out.paused) return arm();
          child.stdout!.destroy();
          child.stderr!.destroy();
        }, 1000));
      arm();
      child.once('close', () => {
        clearTimeout(drain);
        res({ exitCode: code, signal: sig });
      });
    }),
  );
}
