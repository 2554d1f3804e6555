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
import { subKeys, type SubKeys } from './lib/store/crypto.ts';
import { OutputLog } from './lib/log/outputlog.ts';
import { logNextSeq } from './lib/log/logset.ts';
import type { Dropped } from './lib/log/logsink.ts';
import { StateStore, type Leftover, type ProcessRecord, type StopReason } from './lib/store/state.ts';
import { isLive } from './lib/process/status.ts';
import { newSocketPath, serveControl, type Reply, type Request, type StopResult } from './lib/control/protocol.ts';
import { allStats, bootId, commOf, markedWith, readStat, sessionMembersOf, signalName, stillAlive, ticksFloor, treeMembers, TREE_MARK_ENV } from './lib/process/proc.ts';
import { terminateTree } from './lib/process/terminate.ts';
import { readHandoff, type SupervisorConfig, type SupervisorHello } from './lib/control/supervisor-config.ts';
import { BgError } from './lib/cli/errors.ts';
import { ensureDir } from './lib/store/fsutil.ts';
import { setLongTimeout } from './lib/cli/timer.ts';
import { closeInheritedFds } from './lib/process/fds.ts';
import { piecesForTty, readTtyMode } from './lib/process/ttyinput.ts';

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

function hello(msg: SupervisorHello): void {
  try {
    process.stdout.write(JSON.stringify(msg) + '\n');
  } catch {
    /* start_process went away; the process runs on */
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
    out.setSource({ pause: () => term.pause(), resume: () => term.resume() });
    const startTicks = readStat(term.pid)?.startTicks;
    const gone = () => {
      const st = readStat(term.pid);
      return !st || st.state === 'Z' || st.startTicks !== startTicks;
    };
    // After the exit: whether processes of the child's session (it leads one) still live.
    const othersHold = () => allStats().some((st) => st.sid === term.pid && st.pid !== term.pid && st.state !== 'Z');
    // While back-pressure holds the output, the terminal is not quiet: there is more to read.
    readTerminalToTheEnd(term, () => (out.paused ? Date.now() : lastOutput), gone, othersHold);
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
        // Big input (send_input --file) goes on once the terminal has taken this piece, as with pipes.
        const sock = (term as unknown as { _socket?: import('node:net').Socket })._socket;
        if (!sock?.writableNeedDrain) return Promise.resolve();
        return new Promise<void>((res) => {
          const done = () => (sock.off('drain', done).off('close', done), res());
          sock.on('drain', done).on('close', done);
        });
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
    out.setSource({
      pause: () => (child.stdout!.pause(), child.stderr!.pause()),
      resume: () => (child.stdout!.resume(), child.stderr!.resume()),
    });
    // The exit status comes with 'exit'; output is complete at 'close'. A background
    // grandchild may hold the pipes open for ever, so the drain is bounded (not counting
    // time when back-pressure holds the output: that part is there to be read).
    const exited = new Promise<Exit>((res) =>
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
  // First: a caller's extra fds must not stay open in here or reach the command (lib/process/fds.ts).
  closeInheritedFds();
  // start_process may be gone before the hello (interrupted): an EPIPE must not end us.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined); // read by start_process only until the hello
  process.on('SIGHUP', () => undefined);
  process.on('SIGINT', () => undefined);
  const { dataKey, cfg } = await readHandoff();
  // Marks every process the command's tree starts, wherever it moves (see markedWith).
  const treeMark = randomBytes(16).toString('hex');
  cfg.env = { ...cfg.env, [TREE_MARK_ENV]: treeMark };
  const keys: SubKeys = subKeys(dataKey);
  // Only the sub-keys are used from here on: the data key itself need not stay in memory.
  dataKey.fill(0);
  (globalThis as { gc?: () => void }).gc?.();
  const store = new StateStore({ dataDir: cfg.dataDir, keys });
  let id = cfg.reuseId ?? '';
  // Drop totals go to the state, one update at a time (drops are rare: once per piece).
  let dropUpdate: Promise<unknown> = Promise.resolve();
  let dropTotals: Dropped | undefined;
  let dropQueued = false;
  // A log thread only under a PTY (see logsink.ts).
  const out = new OutputLog(cfg.pty ? new URL('./log-thread.mjs', import.meta.url) : undefined, (totals) => {
    dropTotals = totals;
    if (dropQueued) return;
    dropQueued = true;
    dropUpdate = dropUpdate.then(() => {
      dropQueued = false;
      return updateRecord((rec) => void (rec.logDropped = dropTotals));
    });
  });

  let child: Child;
  let spawnFloor = 0;
  try {
    spawnFloor = ticksFloor();
    child = await startChild(cfg, out);
  } catch (err) {
    hello({ ok: false, code: 'CANNOT_START', message: `cannot run ${cfg.argv[0]}: ${(err as Error).message}` });
    return;
  }
  let childStat = readStat(child.pid);
  // Its session's members started after it: when the command was gone (reaped) before its
  // start time could be read, after the spawn.
  const since = () => childStat?.startTicks ?? spawnFloor;
  let childRunning = true;
  const socketPath = newSocketPath(cfg.dataDir);
  let stop: { reason: StopReason; result: Promise<StopResult> } | undefined;
  let ended: Exit | undefined; // the last run's end, once no run follows
  let server: net.Server | undefined;
  let droppedBefore: Dropped = { bytes: 0, records: 0 }; // by the cap in earlier runs (restart_process)
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

  const leftovers: Leftover[] = []; // background jobs that outlived a run
  // Those still running (same PID and start time).
  const liveLeftovers = () => stillAlive(leftovers.map((l) => ({ pid: l.pid, startTicks: l.startTicks, state: 'S', ppid: 0, pgid: 0, sid: 0 })));
  const finish = async (exit: Exit, note: string) => {
    ended = exit;
    out.event(note);
    const logNext = await out.settle(); // every record written and on disk before the end is in the state
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
          // Where the log ends (every record is on disk now): a reader reports a log cut short.
          // As the writer counted, not read back: a segment deleted meanwhile must not lower it.
          const end = logNext ?? logNextSeq(path.join(cfg.dataDir, rec.logFile), keys, id);
          if (end !== undefined) rec.logEnd = end;
          else delete rec.logEnd;
          delete rec.restartingAt;
          // What outlived its runs, for stop_process to end (checked by start time there).
          const live = liveLeftovers();
          const kept = leftovers.filter((l) => live.some((st) => st.pid === l.pid));
          if (kept.length) rec.leftovers = kept;
          else delete rec.leftovers;
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
      // Background jobs that outlived it (they ignored the hang-up, or hold no pipe): kept for
      // a stop (now, or stop_process later) and named, so that nobody thinks they ended with
      // it. (Not named while a stop is under way: it ends them, and says how many.)
      const left = sessionMembersOf(child.pid, since(), !childStat);
      // And what left the session (setsid) on the way: found by the mark in its environment.
      for (const st of markedWith(treeMark)) if (st.pid !== child.pid && !left.some((l) => l.pid === st.pid) && !leftovers.some((l) => l.pid === st.pid)) left.push(st);
      for (const st of left) leftovers.push({ pid: st.pid, startTicks: st.startTicks, name: commOf(st.pid) ?? '?' });
      if (left.length && !stop) out.event(`still running after it ended, not stopped with it: ${left.map((st) => `PID ${st.pid} (${commOf(st.pid) ?? '?'})`).join(', ')}`);
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
        spawnFloor = ticksFloor();
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
    const wasBackoff = wakeBackoff !== undefined;
    wakeBackoff?.();
    const deadline = Date.now() + timeoutMs;
    // What earlier runs left running (checked by start time) is ended with the rest, and so is
    // every process that carries the tree's mark, wherever it moved (terminateTree).
    const earlier = () => liveLeftovers();
    if (!childRunning) {
      // Between runs, or ended while this stop was being recorded: what the runs left
      // running gets the signal, then SIGKILL after the grace period.
      await finished;
      const t = await terminateTree({ roots: earlier(), signal: sig, graceMs: Math.max(0, deadline - Date.now()), mark: treeMark });
      return { endedBy: wasBackoff ? 'exit' : 'exited', exitCode: ended!.exitCode, signal: ended!.signal, killedLeftovers: t.killed.length, endedLeftovers: t.first.length };
    }
    const pid = child.pid;
    const running = child;
    // The command may have exited already, its end not yet recorded (a background job still
    // holds its output open): then what it left in its session and group gets the signal.
    const exitedBefore = child.hasExited();
    // Its identity: recorded at the start; read now only if it cannot have been reaped yet.
    const ident = childStat?.startTicks ?? (exitedBefore ? undefined : readStat(pid)?.startTicks);
    const roots = [...(ident !== undefined ? [{ pid, startTicks: ident }] : []), ...sessionMembersOf(pid, ident ?? since(), ident === undefined), ...earlier()];
    const t = await terminateTree({
      roots,
      signal: sig,
      graceMs: Math.max(0, deadline - Date.now()),
      mark: treeMark,
      // Only while the child is unreaped: after that its PID may belong to someone else, so
      // only descendants of known members are taken on.
      discover: (stats) => (running.hasExited() ? [] : treeMembers(pid, stats)),
      settled: () => ended !== undefined,
    });
    const endedBy = t.killed.some((m) => m.pid === pid) ? 'SIGKILL' : exitedBefore ? 'exited' : (sig as string);
    const killedLeftovers = t.killed.filter((m) => m.pid !== pid).length;
    const signalledFirst = t.first.filter((m) => m.pid !== pid).length;
    await finished;
    return { endedBy, exitCode: ended!.exitCode, signal: ended!.signal, killedLeftovers, ...(exitedBefore ? { endedLeftovers: signalledFirst } : {}) };
  };

  try {
    server = await serveControl(socketPath, keys.control, handle);
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
        for (const k of ['ended', 'exitCode', 'signal', 'endedAt', 'stopRequest', 'restartingAt', 'gaveUp', 'lastExit', 'restarts', 'logEnd'] as const) delete rec[k];
      } else {
        let newId: string;
        do newId = randomBytes(4).toString('hex');
        while (doc.processes.some((p) => p.id === newId));
        // logVersion 2: every segment of this log is chained (a v1 segment would be a downgrade).
        rec = { id: newId, command: '', argv: [], cwd: '', pty: true, pid: 0, startedAt: '', logFile: path.join('logs', `${newId}.log.enc`), logVersion: 2 };
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
        socket: socketPath,
        treeMark,
        startedAt: new Date().toISOString(),
        maxLogSize: cfg.maxLogSize,
        restart: cfg.restart,
      });
      if (cfg.name) rec.name = cfg.name;
      if (Object.keys(cfg.extraEnv).length) rec.env = cfg.extraEnv;
      if (cfg.timeoutSec !== undefined) rec.timeoutSec = cfg.timeoutSec;
      if (cfg.ready) rec.ready = cfg.ready;
      out.open({ file: path.join(cfg.dataDir, rec.logFile), keys, procId: rec.id, maxBytes: cfg.maxLogSize, dropped: droppedBefore, lost: { bytes: 0, chunks: 0, reason: '' } });
      // First in the log, before any output that arrived while the log was being set up.
      const verb = cfg.reuseId ? 'restarted by restart_process' : 'started';
      out.appendNow('event', Buffer.from(`${verb}: ${cfg.command} (PID ${child.pid}${cfg.pty ? ', pty' : ''})`));
      return rec.id;
    });
  } catch (err) {
    server?.close();
    // Not registered, so nothing of it may be left: the command and all it started end now,
    // and so does this supervisor (output it held, or paused, has nowhere to go). Each by its
    // start time: the command may have exited while this waited, and its PID be reused.
    const roots = [...(childStat ? [childStat] : []), ...sessionMembersOf(child.pid, since(), !childStat)];
    await terminateTree({ roots, signal: 'SIGKILL', graceMs: 0, mark: treeMark });
    const e = err as BgError;
    const code = e.code === 'DAMAGED' || e.code === 'STORAGE' || e.code === 'CANNOT_START' || e.code === 'NOT_FOUND' ? e.code : 'SUPERVISOR';
    hello({ ok: false, code, message: e.message });
    process.exit(1);
  }
  out.flush();
  // --timeout may exceed one Node timer (24.8 days): a chain of them.
  const timeout =
    cfg.timeoutSec === undefined
      ? undefined
      : setLongTimeout(() => {
          stop ??= { reason: 'timeout', result: stopChild('SIGTERM', 5000, 'timeout') };
        }, cfg.timeoutSec * 1000);
  markReady();
  hello({ ok: true, id, pid: child.pid });
  process.stdout.end();

  await finished;
  timeout?.clear();
  if (stop) await stop.result;
  await out.close();
  await dropUpdate;
  server.close();
}

main().catch((err) => {
  hello({ ok: false, code: 'SUPERVISOR', message: String((err as Error)?.stack ?? err) });
  process.exitCode = 1;
});
