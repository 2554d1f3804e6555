// The supervisor: one per managed process, run as plain JavaScript (bundled to
// dist/supervisor.mjs) in its own session. It owns the child: spawns it, encrypts its output
// into the log as it arrives, writes input to it, stops it on request, and records how it
// ended. It exits once the child has exited and the last output is on disk.
import { spawn as spawnPipe, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import * as pty from '@lydell/node-pty';
import { subKeys, type SubKeys } from './lib/crypto.ts';
import type { StreamName } from './lib/logfile.ts';
import { CappedLogWriter } from './lib/logset.ts';
import { StateStore, type ProcessRecord } from './lib/state.ts';
import { newSocketName, serveControl, type Reply, type Request, type StopResult } from './lib/protocol.ts';
import { bootId, readStat, signalName, signalTree, stillAlive, treeMembers, type ProcStat } from './lib/proc.ts';
import { FLUSH_BYTES, FLUSH_DELAY_MS, type SupervisorConfig, type SupervisorHello } from './lib/supervisor-config.ts';
import { BgError } from './lib/errors.ts';
import { ensureDir } from './lib/fsutil.ts';

interface Exit {
  exitCode: number | null;
  signal: string | null;
}

interface Child {
  pid: number;
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

/** Buffers output briefly and appends it as records: few, large records under load. */
class OutputLog {
  private segments: { stream: StreamName; chunks: Buffer[] }[] = [];
  private pending = 0;
  private timer: NodeJS.Timeout | undefined;
  writer: CappedLogWriter | undefined;
  failed = false;
  onDrop: (() => void) | undefined; // the cap dropped old output: record the totals

  push(stream: StreamName, chunk: Buffer): void {
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
    this.pending = 0;
    for (const s of segs) {
      try {
        if (this.writer.append(s.stream, s.chunks.length === 1 ? s.chunks[0]! : Buffer.concat(s.chunks))) this.onDrop?.();
      } catch {
        this.failed = true; // e.g. disk full: keep the child running; issue 6 records the gap
      }
    }
  }
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
    term.onData((d) => out.push('stdout', d as unknown as Buffer));
    return Promise.resolve({
      pid: term.pid,
      exited,
      write: (data) => {
        (term as unknown as { write(d: Buffer): void }).write(data);
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

async function main(): Promise<void> {
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
  const stat = readStat(child.pid);
  const socketName = newSocketName();
  let stopping: Promise<StopResult> | undefined;
  let ended: Exit | undefined;
  let server: net.Server | undefined;
  let id = '';
  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));

  // Record how the child ended, once its output is all in the log. Stop replies wait for it.
  const finished = (async () => {
    const exit = await child.exited;
    await ready;
    ended = exit;
    out.flush();
    out.event(`${exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.exitCode}`}${stopping ? ' (stopped by stop_process)' : ''}`);
    try {
      out.writer?.sync();
    } catch {
      /* the records are written; fsync is best effort */
    }
    await store
      .update((doc) => {
        const rec = doc.processes.find((p) => p.id === id);
        if (!rec) return;
        rec.ended = true;
        rec.exitCode = exit.exitCode;
        rec.signal = exit.signal;
        rec.endedAt = new Date().toISOString();
      })
      .catch((err: Error) => out.event(`could not record the exit in the state: ${err.message}`));
  })();

  const handle = async (req: Request): Promise<Reply> => {
    if (req.type === 'status') return { ok: true, pid: child.pid };
    if (req.type === 'stop') {
      stopping ??= stopChild(req.signal, req.timeoutMs);
      return { ok: true, stop: await stopping };
    }
    if (ended || stopping) return { ok: false, code: 'NOT_RUNNING', message: 'the process has ended; it takes no more input.' };
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

  const stopChild = async (sigName: string, timeoutMs: number): Promise<StopResult> => {
    const sig = (sigName.startsWith('SIG') ? sigName : `SIG${sigName}`) as NodeJS.Signals;
    if (!ended) {
      await store.update((doc) => {
        const rec = doc.processes.find((p) => p.id === id);
        if (rec) rec.stopRequest = { signal: sig, at: new Date().toISOString() };
      });
      out.event(`stop requested: ${sig}`);
    }
    const members = new Map<number, ProcStat>();
    for (const m of signalTree(child.pid, sig, stat?.startTicks)) members.set(m.pid, m);
    const deadline = Date.now() + timeoutMs;
    let endedBy = sig as string;
    let killedLeftovers = 0;
    for (;;) {
      for (const m of treeMembers(child.pid)) if (!members.has(m.pid)) members.set(m.pid, m);
      const alive = stillAlive([...members.values()]);
      if (ended && alive.length === 0) break;
      if (Date.now() >= deadline) {
        if (!ended) endedBy = 'SIGKILL';
        killedLeftovers = alive.filter((m) => m.pid !== child.pid).length;
        for (const m of alive) process.kill(m.pid, 'SIGKILL');
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
      let newId: string;
      do newId = randomBytes(4).toString('hex');
      while (doc.processes.some((p) => p.id === newId));
      const rec: ProcessRecord = {
        id: newId,
        command: cfg.command,
        argv: cfg.argv,
        cwd: cfg.cwd,
        pty: cfg.pty,
        pid: child.pid,
        startTicks: stat?.startTicks,
        bootId: bootId(),
        supervisorPid: process.pid,
        supervisorStartTicks: readStat(process.pid)?.startTicks,
        socket: socketName,
        startedAt: new Date().toISOString(),
        logFile: path.join('logs', `${newId}.log.enc`),
      };
      out.writer = new CappedLogWriter(path.join(cfg.dataDir, rec.logFile), keys, newId, cfg.maxLogSize);
      // First in the log, before any output that arrived while the log was being set up.
      out.writer.append('event', Buffer.from(`started: ${cfg.command} (PID ${child.pid}${cfg.pty ? ', pty' : ''})`));
      rec.maxLogSize = cfg.maxLogSize;
      doc.processes.push(rec);
      return newId;
    });
  } catch (err) {
    process.kill(child.pid, 'SIGKILL');
    const e = err as BgError;
    hello({ ok: false, code: e.code === 'DAMAGED' || e.code === 'STORAGE' ? e.code : 'SUPERVISOR', message: e.message });
    server?.close();
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
      return store
        .update((doc) => {
          const rec = doc.processes.find((p) => p.id === id);
          if (rec && out.writer) rec.logDropped = { ...out.writer.dropped };
        })
        .catch(() => undefined);
    });
  };
  markReady();
  hello({ ok: true, id, pid: child.pid });
  process.stdout.end();

  await finished;
  await dropUpdate;
  out.writer?.close();
  server.close();
}
main().catch((err) => {
  hello({ ok: false, code: 'SUPERVISOR', message: String((err as Error)?.stack ?? err) });
  process.exitCode = 1;
});
