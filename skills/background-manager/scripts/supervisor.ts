// The supervisor: one per managed process, run as plain JavaScript (bundled to
// dist/supervisor.mjs) in its own session. It owns the child: spawns it, encrypts its output
// into the log as it arrives, writes input to it, stops it on request, and records how it
// ended. It exits once the child has exited and the last output is on disk.
import { spawn as spawnPipe, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import * as pty from '@lydell/node-pty';
import { subKeys, type SubKeys } from './lib/crypto.ts';
import type { StreamName } from './lib/logfile.ts';
import { CappedLogWriter } from './lib/logset.ts';
import { StateStore, type ProcessRecord, type StopReason } from './lib/state.ts';
import { isLive } from './lib/status.ts';
import { newSocketName, serveControl, type Reply, type Request, type StopResult } from './lib/protocol.ts';
import { allStats, bootId, readStat, signalName, signalTree, stillAlive, treeMembers, trySignal, type ProcStat } from './lib/proc.ts';
import { FLUSH_BYTES, FLUSH_DELAY_MS, type SupervisorConfig, type SupervisorHello } from './lib/supervisor-config.ts';
import { BgError } from './lib/errors.ts';
import { ensureDir } from './lib/fsutil.ts';
import { waitFor } from './lib/wait.ts';
import { piecesForTty, readTtyMode } from './lib/ttyinput.ts';

interface Exit {
  exitCode: number | null;
  signal: string | null;
}

interface Child {
  pid: number;
  /** The process itself has exited (its output may still be draining). */
  hasExited(): boolean;
  write(data: Buffer): Promise<void>;
  closeInput(): void;
  exited: Promise<Exit>;
}

function readConfig(): Promise<SupervisorConfig> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (c: Buffer) => chunks.push(c));
    process.stdin.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (err) {
        reject(err);
      }
    });
    process.stdin.on('error', reject);
  });
}

function hello(msg: SupervisorHello): void {
  try {
    process.stdout.write(JSON.stringify(msg) + '\n');
  } catch {
    /* start_process went away; the process runs on */
  }
}

/** Output held while the log is being set up, at most; the rest is counted as dropped. */
const MAX_EARLY_BYTES = 16 << 20;

/**
 * Every this many bytes appended, a minor garbage collection. Each byte ingested allocates
 * about four (read buffers, the joined batch, ciphertext, record), garbage at once; but V8
 * frees a buffer's memory only when it collects the small object that owns it, which under
 * load came late enough for the supervisor to peak at 79-87 MB. A scavenge every 4 MiB (about
 * 0.2 ms) keeps the peak near 34 MB. `gc` exists because start_process passes --expose-gc.
 */
const COLLECT_EVERY = 4 << 20;
const collectGarbage = (globalThis as { gc?: (o: { type: 'minor' }) => void }).gc;

/** Buffers output briefly and appends it as records: few, large records under load. */
class OutputLog {
  private sinceCollect = 0;
  private segments: { stream: StreamName; chunks: Buffer[] }[] = [];
  private pending = 0;
  private timer: NodeJS.Timeout | undefined;
  writer: CappedLogWriter | undefined;
  onDrop: (() => void) | undefined; // the cap dropped old output: record the totals

  push(stream: StreamName, chunk: Buffer): void {
    if (!this.writer && this.pending >= MAX_EARLY_BYTES) {
      this.lose(chunk); // the log is not set up yet (state lock contended): bounded, and said
      return;
    }
    const last = this.segments[this.segments.length - 1];
    if (last && last.stream === stream) last.chunks.push(chunk);
    else this.segments.push({ stream, chunks: [chunk] });
    this.pending += chunk.length;
    if (this.pending >= FLUSH_BYTES) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_DELAY_MS);
  }

  event(text: string): void {
    this.push('event', Buffer.from(text, 'utf8'));
    this.flush();
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.writer) return; // held until the log exists
    const segs = this.segments;
    this.segments = [];
    this.sinceCollect += this.pending;
    this.pending = 0;
    if (this.sinceCollect >= COLLECT_EVERY && collectGarbage) {
      this.sinceCollect = 0;
      collectGarbage({ type: 'minor' });
    }
    for (const s of segs) {
      const data = s.chunks.length === 1 ? s.chunks[0]! : Buffer.concat(s.chunks);
      // After a failed write (disk full), first say what was lost, then go on.
      if (this.lost.bytes > 0) {
        const note = `output dropped: ${this.lost.bytes} bytes in ${this.lost.chunks} pieces could not be written (${this.lost.reason})`;
        if (!this.tryAppend('event', Buffer.from(note))) {
          this.lose(data);
          continue;
        }
        this.lost = { bytes: 0, chunks: 0, reason: '' };
      }
      if (!this.tryAppend(s.stream, data)) this.lose(data);
    }
  }

  /** Output that could not be written, counted so the log can say so once it can. */
  private lost = { bytes: 0, chunks: 0, reason: '' };

  private lose(data: Buffer): void {
    this.lost.bytes += data.length;
    this.lost.chunks++;
    this.lost.reason ||= 'output arrived faster than the log could be set up';
  }

  private tryAppend(stream: StreamName, data: Buffer): boolean {
    try {
      if (this.writer!.append(stream, data)) this.onDrop?.();
      return true;
    } catch (err) {
      this.lost.reason = (err as NodeJS.ErrnoException).code ?? (err as BgError).message ?? 'write failed';
      return false;
    }
  }
}

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
function readTerminalToTheEnd(term: pty.IPty, lastOutput: () => number, childGone: () => boolean, othersHold: () => boolean): void {
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

function startChild(cfg: SupervisorConfig, out: OutputLog): Promise<Child> {
  if (cfg.pty) {
    const term = pty.spawn(cfg.argv[0]!, cfg.argv.slice(1), {
      name: cfg.env.TERM ?? 'xterm-256color',
      cols: cfg.cols,
      rows: cfg.rows,
      cwd: cfg.cwd,
      env: cfg.env,
      encoding: null,
    });
    const exited = new Promise<Exit>((resolve) =>
      term.onExit(({ exitCode, signal }) => resolve(signal ? { exitCode: null, signal: signalName(signal) } : { exitCode, signal: null })),
    );
    let lastOutput = Date.now();
    term.onData((d) => {
      lastOutput = Date.now();
      out.push('stdout', d as unknown as Buffer);
    });
    const startTicks = readStat(term.pid)?.startTicks;
    const gone = () => {
      const st = readStat(term.pid);
      return !st || st.state === 'Z' || st.startTicks !== startTicks;
    };
    // After the exit: whether processes of the child's session (it leads one) still live.
    const othersHold = () => allStats().some((st) => st.sid === term.pid && st.pid !== term.pid && st.state !== 'Z');
    readTerminalToTheEnd(term, () => lastOutput, gone, othersHold);
    let exitedFlag = false;
    void exited.then(() => (exitedFlag = true));
    return Promise.resolve({
      pid: term.pid,
      hasExited: () => exitedFlag || gone(),
      exited,
      write: (data) => {
        const writer = term as unknown as { write(d: Buffer): void };
        const pts = (term as unknown as { ptsName?: string }).ptsName;
        for (const piece of piecesForTty(data, () => (pts ? readTtyMode(pts) : undefined))) writer.write(piece);
        return Promise.resolve();
      },
      closeInput: () => term.write('\x04'),
    });
  }
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
    // The exit status comes with 'exit'; output is complete at 'close'. A background
    // grandchild may hold the pipes open for ever, so the drain is bounded.
    const exited = new Promise<Exit>((res) =>
      child.once('exit', (code, sig) => {
        const drain = setTimeout(() => {
          child.stdout!.destroy();
          child.stderr!.destroy();
        }, 1000);
        child.once('close', () => {
          clearTimeout(drain);
          res({ exitCode: code, signal: sig });
        });
      }),
    );
    child.once('spawn', () => {
      child.off('error', reject);
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
      });
    });
  });
}

const STOP_NOTES: Record<StopReason, string> = {
  stop: 'stopped by stop_process',
  timeout: 'stopped: --timeout reached',
  replace: 'stopped: replaced by a new process of the same name',
  restart: 'stopped by restart_process',
  remove: 'stopped by remove_process',
};

/** Back-off before restart n of a streak of quick failures: 0.5 s, 1 s, 2 s ... up to 30 s. */
function restartDelayMs(streak: number): number {
  return Math.min(30_000, 500 * 2 ** Math.max(0, streak - 1));
}

async function main(): Promise<void> {
  // start_process may be gone before the hello (interrupted): an EPIPE must not end us.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined); // read by start_process only until the hello
  process.on('SIGHUP', () => undefined);
  process.on('SIGINT', () => undefined);
  const cfg = await readConfig();
  const dataKey = Buffer.from(cfg.dataKey, 'base64');
  const keys: SubKeys = subKeys(dataKey);
  const store = new StateStore({ dataDir: cfg.dataDir, keys });
  const out = new OutputLog();

  let child: Child;
  try {
    child = await startChild(cfg, out);
  } catch (err) {
    hello({ ok: false, code: 'CANNOT_START', message: `cannot run ${cfg.argv[0]}: ${(err as Error).message}` });
    return;
  }
  let childStat = readStat(child.pid);
  let childRunning = true;
  const socketName = newSocketName();
  let stop: { reason: StopReason; result: Promise<StopResult> } | undefined;
  let ended: Exit | undefined; // the last run's end, once no run follows
  let server: net.Server | undefined;
  let id = cfg.reuseId ?? '';
  let droppedBefore = { bytes: 0, records: 0 }; // by the cap in earlier runs (restart_process)
  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));
  let wakeBackoff: (() => void) | undefined;

  const updateRecord = (fn: (rec: ProcessRecord) => void) =>
    store
      .update((doc) => {
        const rec = doc.processes.find((p) => p.id === id);
        if (rec) fn(rec);
      })
      .catch((err: Error) => out.event(`could not update the state: ${err.message}`));

  const finish = async (exit: Exit, note: string) => {
    ended = exit;
    out.event(note);
    try {
      out.writer?.sync();
    } catch {
      /* the records are written; fsync is best effort */
    }
    // The end must reach the state (else the process shows as lost): retry while the disk
    // is full or the lock is contended, for about a minute.
    for (let attempt = 0; ; attempt++) {
      try {
        await store.update((doc) => {
          const rec = doc.processes.find((p) => p.id === id);
          if (!rec) return;
          rec.ended = true;
          rec.exitCode = exit.exitCode;
          rec.signal = exit.signal;
          rec.endedAt = new Date().toISOString();
          delete rec.restartingAt;
        });
        return;
      } catch (err) {
        if (attempt >= 12) return out.event(`could not record the end in the state: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, Math.min(10_000, 250 * 2 ** attempt)));
      }
    }
  };

  // Each run: wait for the exit, record it, and restart while the policy and budget allow.
  // Stop replies wait for this to finish, so the end is in the state when they arrive.
  const finished = (async () => {
    await ready;
    let restarts = 0;
    let streak = 0;
    for (;;) {
      const runStart = Date.now();
      const exit = await child.exited;
      childRunning = false;
      out.flush();
      const how = exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.exitCode}`;
      const failed = exit.signal !== null || exit.exitCode !== 0;
      const wanted = !stop && (cfg.restart.mode === 'always' || (cfg.restart.mode === 'on-failure' && failed));
      if (!wanted || restarts >= cfg.restart.max) {
        if (wanted) await updateRecord((rec) => void (rec.gaveUp = true));
        const why = stop ? ` (${STOP_NOTES[stop.reason]})` : wanted ? `; not restarted: all ${cfg.restart.max} restarts used` : '';
        return finish(exit, `${how}${why}`);
      }
      restarts++;
      streak = Date.now() - runStart < 30_000 ? streak + 1 : 1;
      const delay = restartDelayMs(streak);
      out.event(`${how}; restarting in ${delay / 1000} s (restart ${restarts} of ${cfg.restart.max})`);
      const at = new Date().toISOString();
      await updateRecord((rec) => {
        rec.lastExit = { exitCode: exit.exitCode, signal: exit.signal, at };
        rec.restartingAt = new Date(Date.now() + delay).toISOString();
      });
      if (!stop) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, delay);
          wakeBackoff = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
      wakeBackoff = undefined;
      if (stop) return finish(exit, `${how}; not restarted (${STOP_NOTES[stop.reason]})`);
      try {
        child = await startChild(cfg, out);
      } catch (err) {
        return finish(exit, `${how}; restart failed: ${(err as Error).message}`);
      }
      childStat = readStat(child.pid);
      childRunning = true;
      out.event(`restarted: PID ${child.pid} (restart ${restarts} of ${cfg.restart.max})`);
      await updateRecord((rec) => {
        rec.restarts = restarts; // counted once it has happened, not while waiting for it
        rec.pid = child.pid;
        rec.startTicks = childStat?.startTicks;
        delete rec.restartingAt;
      });
    }
  })();

  const handle = async (req: Request): Promise<Reply> => {
    if (req.type === 'status') return { ok: true, pid: child.pid };
    if (req.type === 'stop') {
      stop ??= { reason: req.reason ?? 'stop', result: stopChild(req.signal, req.timeoutMs, req.reason ?? 'stop') };
      return { ok: true, stop: await stop.result };
    }
    if (ended || stop || !childRunning) return { ok: false, code: 'NOT_RUNNING', message: 'the process is not running; it takes no input now.' };
    if (req.type === 'close-input') {
      child.closeInput();
      out.event('input closed');
      return { ok: true };
    }
    const data = Buffer.from(req.data, 'base64');
    await child.write(data);
    out.push('input', data);
    out.event(`input: ${data.length} byte${data.length === 1 ? '' : 's'}`);
    return { ok: true, bytes: data.length };
  };

  const stopChild = async (sigName: string, timeoutMs: number, reason: StopReason): Promise<StopResult> => {
    const sig = (sigName.startsWith('SIG') ? sigName : `SIG${sigName}`) as NodeJS.Signals;
    if (!ended) {
      await updateRecord((rec) => void (rec.stopRequest = { signal: sig, at: new Date().toISOString(), reason }));
      out.event(`stop requested: ${sig}${reason === 'stop' ? '' : ` (${reason})`}`);
    }
    wakeBackoff?.();
    if (!childRunning) {
      await finished;
      return { endedBy: 'exit', exitCode: ended!.exitCode, signal: ended!.signal, killedLeftovers: 0 };
    }
    const pid = child.pid;
    const members = new Map<number, ProcStat>();
    for (const m of signalTree(pid, sig, childStat?.startTicks)) members.set(m.pid, m);
    const deadline = Date.now() + timeoutMs;
    let endedBy = sig as string;
    let killedLeftovers = 0;
    for (;;) {
      // Only while the child is unreaped: after that its PID may belong to someone else.
      if (!child.hasExited()) for (const m of treeMembers(pid)) if (!members.has(m.pid)) members.set(m.pid, m);
      const alive = stillAlive([...members.values()]);
      if (ended && alive.length === 0) break;
      if (Date.now() >= deadline) {
        if (!child.hasExited()) endedBy = 'SIGKILL';
        killedLeftovers = alive.filter((m) => m.pid !== pid).length;
        for (const m of alive) trySignal(m.pid, 'SIGKILL');
        // A SIGKILLed process is gone only once the kernel has run it (slow under load): the
        // reply says they were killed, so they must be dead when it goes out.
        await waitFor(() => stillAlive(alive).length === 0, 5_000);
        break;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    await finished;
    return { endedBy, exitCode: ended!.exitCode, signal: ended!.signal, killedLeftovers };
  };

  try {
    server = await serveControl(socketName, keys.control, handle);
    ensureDir(path.join(cfg.dataDir, 'logs'));
    id = await store.update((doc) => {
      if (cfg.name) {
        const holder = doc.processes.find((p) => p.name === cfg.name && p.id !== cfg.reuseId && isLive(p));
        if (holder) {
          const fix = cfg.reuseId ? 'Stop it first, then restart this one.' : 'Stop it, pick another name, or pass --replace.';
          throw new BgError('CANNOT_START', `the name "${cfg.name}" belongs to running process ${holder.id}. ${fix}`);
        }
      }
      let rec: ProcessRecord;
      if (cfg.reuseId) {
        const old = doc.processes.find((p) => p.id === cfg.reuseId);
        if (!old) throw new BgError('NOT_FOUND', `process ${cfg.reuseId} is no longer recorded; it was removed.`);
        rec = old;
        droppedBefore = old.logDropped ?? droppedBefore;
        for (const k of ['ended', 'exitCode', 'signal', 'endedAt', 'stopRequest', 'restartingAt', 'gaveUp', 'lastExit', 'restarts'] as const) delete rec[k];
      } else {
        let newId: string;
        do newId = randomBytes(4).toString('hex');
        while (doc.processes.some((p) => p.id === newId));
        rec = { id: newId, command: '', argv: [], cwd: '', pty: true, pid: 0, startedAt: '', logFile: path.join('logs', `${newId}.log.enc`) };
        doc.processes.push(rec);
      }
      Object.assign(rec, {
        command: cfg.command,
        argv: cfg.argv,
        cwd: cfg.cwd,
        pty: cfg.pty,
        pid: child.pid,
        startTicks: childStat?.startTicks,
        bootId: bootId(),
        supervisorPid: process.pid,
        supervisorStartTicks: readStat(process.pid)?.startTicks,
        socket: socketName,
        startedAt: new Date().toISOString(),
        maxLogSize: cfg.maxLogSize,
        restart: cfg.restart,
      });
      if (cfg.name) rec.name = cfg.name;
      if (Object.keys(cfg.extraEnv).length) rec.env = cfg.extraEnv;
      if (cfg.timeoutSec !== undefined) rec.timeoutSec = cfg.timeoutSec;
      out.writer = new CappedLogWriter(path.join(cfg.dataDir, rec.logFile), keys, rec.id, cfg.maxLogSize);
      // First in the log, before any output that arrived while the log was being set up.
      const verb = cfg.reuseId ? 'restarted by restart_process' : 'started';
      out.writer.append('event', Buffer.from(`${verb}: ${cfg.command} (PID ${child.pid}${cfg.pty ? ', pty' : ''})`));
      return rec.id;
    });
  } catch (err) {
    server?.close();
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      /* it already exited */
    }
    const e = err as BgError;
    const code = e.code === 'DAMAGED' || e.code === 'STORAGE' || e.code === 'CANNOT_START' || e.code === 'NOT_FOUND' ? e.code : 'SUPERVISOR';
    hello({ ok: false, code, message: e.message });
    return;
  }
  out.flush();
  // Dropped totals go to the state, one update at a time (drops are rare: once per piece).
  let dropUpdate: Promise<unknown> = Promise.resolve();
  let dropQueued = false;
  out.onDrop = () => {
    if (dropQueued) return;
    dropQueued = true;
    dropUpdate = dropUpdate.then(() => {
      dropQueued = false;
      return updateRecord((rec) => {
        if (out.writer) rec.logDropped = { bytes: droppedBefore.bytes + out.writer.dropped.bytes, records: droppedBefore.records + out.writer.dropped.records };
      });
    });
  };
  const timeout =
    cfg.timeoutSec === undefined
      ? undefined
      : setTimeout(() => {
          stop ??= { reason: 'timeout', result: stopChild('SIGTERM', 5000, 'timeout') };
        }, cfg.timeoutSec * 1000);
  markReady();
  hello({ ok: true, id, pid: child.pid });
  process.stdout.end();

  await finished;
  clearTimeout(timeout);
  await dropUpdate;
  if (stop) await stop.result;
  out.writer?.close();
  server.close();
}

main().catch((err) => {
  hello({ ok: false, code: 'SUPERVISOR', message: String((err as Error)?.stack ?? err) });
  process.exitCode = 1;
});
