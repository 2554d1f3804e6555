// The PTY child adapter: the command under a pseudo-terminal (@lydell/node-pty), its output
// into the log, input through the terminal's line discipline, and its output read to the very
// end after it exits (readTerminalToTheEnd).
import fs from 'node:fs';
import type net from 'node:net';
import { createRequire } from 'node:module';
import type * as pty from '@lydell/node-pty';
import type { OutputLog } from '../lib/log/write/outputlog.ts';
import type { SupervisorConfig } from '../lib/control/supervisor-config.ts';
import { type ProcStat, allStats, isPortable, readStat, sameStart, signalName } from '../lib/process/proc.ts';
import { piecesForTty, readTtyMode } from '../lib/process/ttyinput.ts';
import type { Child } from './child-type.ts';
import type { Exit } from './policy.ts';
import { checkSpawnHelper } from '../lib/process/spawn-helper.ts';

/** Quiet time after the child's exit (and its last output) that ends a terminal's stream. */
const QUIET_MS = 50;

/**
 * Read a terminal's output to the end. When the child exits, the terminal hangs up, and
 * libuv takes a short read plus the hang-up for the end of the stream, so the last few KiB
 * still in the kernel's buffer were lost. So: hold the terminal's other end open (no hang-up
 * while we hold it); once the child has exited, read on until 50 ms pass with no output, and
 * while other processes of its session live (background jobs that may still print) for up to
 * 1 s, as with pipes; at most 5 s if output goes on. Then let go of the other end and end the
 * stream, which makes node-pty report the exit.
 *
 * node-pty learns of the exit on a native thread and then adds a 'close' listener to the
 * stream (it reports the exit when the stream closes), else it waits 200 ms and destroys the
 * stream. That listener is our first sign of the exit: draining starts there, checked against
 * the child's /proc entry, so the exit is recorded about 200 ms sooner.
 */
function readTerminalToTheEnd(
  term: pty.IPty,
  lastOutput: () => number,
  childGone: () => boolean,
  othersHold: () => boolean,
): void {
  const sock = (term as unknown as { _socket?: net.Socket })._socket;
  const pts = (term as unknown as { ptsName?: string }).ptsName;
  if (!sock || typeof sock.destroy !== 'function' || !pts) return;
  let held: number | undefined;
  try {
    held = fs.openSync(pts, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
  } catch {
    return; // cannot hold it: node-pty's own handling applies
  }
  const release = () => {
    if (held === undefined) return;
    fs.closeSync(held);
    held = undefined;
  };
  const realDestroy = sock.destroy.bind(sock);
  let draining = false;
  const drain = (deadline = Date.now() + 5000, grace = Date.now() + 1000) => {
    draining = true;
    const poll = setInterval(() => {
      const seen = lastOutput();
      const now = Date.now();
      const quiet = now - seen >= QUIET_MS && (now >= grace || !othersHold());
      if (!quiet && now < deadline) return;
      // One more pass of the event loop first: output the kernel already holds (we may have
      // been descheduled for a while) is read in its I/O phase, before setImmediate runs.
      clearInterval(poll);
      setImmediate(() => {
        if (lastOutput() !== seen && Date.now() < deadline) return drain(deadline, grace);
        release();
        realDestroy();
      });
    }, 20);
  };
  sock.once('close', release);
  sock.on('newListener', (event: string | symbol) => {
    if (event === 'close' && !draining && childGone()) drain();
  });
  sock.destroy = ((err?: Error) => {
    if (err || sock.readableEnded) {
      release();
      return realDestroy(err);
    }
    if (!draining) drain(); // node-pty's 200 ms timer, when the listener went unnoticed
    return sock;
  }) as typeof sock.destroy;
}

/** Start the command under a terminal of cfg.cols x cfg.rows. */
export function startPtyChild(cfg: SupervisorConfig, out: OutputLog): Child {
  // Loaded here, not as the supervisor loads: a --no-pty supervisor never needs it, and its
  // native module and wrappers cost every start (issue 25, item 8).
  const req = createRequire(import.meta.url);
  checkSpawnHelper(req); // macOS: node-pty's spawn-helper must be executable (lib/process/spawn-helper.ts)
  const { spawn } = req('@lydell/node-pty') as typeof pty;
  const term = spawn(cfg.argv[0]!, cfg.argv.slice(1), {
    name: cfg.env.TERM ?? 'xterm-256color',
    cols: cfg.cols,
    rows: cfg.rows,
    cwd: cfg.cwd,
    env: cfg.env,
    encoding: null,
  });
  const exited = new Promise<Exit>((resolve) =>
    term.onExit(({ exitCode, signal }) =>
      resolve(signal ? { exitCode: null, signal: signalName(signal) } : { exitCode, signal: null }),
    ),
  );
  let lastOutput = Date.now();
  term.onData((d) => {
    lastOutput = Date.now();
    out.push('stdout', d as unknown as Buffer);
  });
  out.setSource({ pause: () => term.pause(), resume: () => term.resume() });
  const startTicks = readStat(term.pid)?.startTicks;
  const gone = () => {
    const st = readStat(term.pid);
    return !st || st.state === 'Z' || !sameStart(st.startTicks, startTicks);
  };
  // After the exit: whether processes of the child's session (it leads one) still live. The
  // portable layer has no session IDs: its process group, or its terminal as controlling one.
  const tty = (term as unknown as { ptsName?: string }).ptsName?.replace(/^\/dev\//, '');
  const inSession = (st: ProcStat) =>
    isPortable() ? st.pgid === term.pid || (!!tty && st.tty === tty) : st.sid === term.pid;
  const othersHold = () => allStats().some((st) => inSession(st) && st.pid !== term.pid && st.state !== 'Z');
  // While back-pressure holds the output, the terminal is not quiet: there is more to read.
  readTerminalToTheEnd(term, () => (out.paused ? Date.now() : lastOutput), gone, othersHold);
  let exitedFlag = false;
  void exited.then(() => (exitedFlag = true));
  return {
    pid: term.pid,
    hasExited: () => exitedFlag || gone(),
    exited,
    write: (data) => writeToTerminal(term, data),
    closeInput: () => term.write('\x04'),
    resize: (cols, rows) => {
      if (!exitedFlag) term.resize(cols, rows);
    },
    inputPath: () => (term as unknown as { ptsName?: string }).ptsName,
  };
}

// Input as the terminal takes it (pieces the line discipline will not cut), resolved once the
// terminal has taken it: big input (send_input --file) goes on piece by piece, as with pipes.
function writeToTerminal(term: pty.IPty, data: Buffer): Promise<void> {
  const writer = term as unknown as { write(d: Buffer): void };
  const pts = (term as unknown as { ptsName?: string }).ptsName;
  for (const piece of piecesForTty(data, () => (pts ? readTtyMode(pts) : undefined))) writer.write(piece);
  const sock = (term as unknown as { _socket?: net.Socket })._socket;
  if (!sock?.writableNeedDrain) return Promise.resolve();
  return new Promise<void>((res) => {
    const done = () => (sock.off('drain', done).off('close', done), res());
    sock.on('drain', done).on('close', done);
  });
}
