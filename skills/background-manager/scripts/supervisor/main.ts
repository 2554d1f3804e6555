// The supervisor: one per managed process, run as plain JavaScript (bundled to
// dist/supervisor.mjs) in its own session. It owns the child: spawns it, encrypts its output
// into the log as it arrives, writes input to it, stops it on request, and records how it
// ended. It exits once the child has exited and the last output is on disk.
//
// The parts: child.ts and pty-child.ts (the child, with pipes or under a terminal), state.ts
// (what the parts share), run.ts (the run loop around policy.ts's nextStep), ending.ts
// (recording the end), handlers.ts (control requests), stop.ts (a stop, by terminateTree).
import { layerName, useLayer } from '../lib/util/platform.ts';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import { subKeys } from '../lib/store/crypto.ts';
import { OutputLog } from '../lib/log/write/outputlog.ts';
import type { Dropped } from '../lib/log/write/logsink.ts';
import { StateStore } from '../lib/store/state.ts';
import { registerRun } from '../lib/store/records.ts';
import { findRecord } from '../lib/store/state.ts';
import { liveNameHolder } from '../lib/process/status.ts';
import { newSocketPath, serveControl } from '../lib/control/protocol.ts';
import { bootId, readStat, sessionMembersOf, TREE_MARK_ENV } from '../lib/process/proc.ts';
import { terminateTree } from '../lib/process/terminate.ts';
import { readHandoff, type SupervisorHello } from '../lib/control/supervisor-config.ts';
import { BgError } from '../lib/errors.ts';
import { ensureDir } from '../lib/store/fsutil.ts';
import { setLongTimeout } from '../lib/util/timer.ts';
import { closeInheritedFds } from '../lib/process/fds.ts';
import { Supervisor } from './state.ts';
import { runLoop } from './run.ts';
import { watchInput } from './waiting.ts';
import { handleRequest } from './handlers.ts';
import { stopChild } from './stop.ts';
import { eventsWritten, portPoller, recordEvent } from './events.ts';
import { tapOutput } from './output-tail.ts';
import { STOP_GRACE_SEC, STOP_SIGNAL } from '../lib/control/stop.ts';

function hello(msg: SupervisorHello): void {
  try {
    process.stdout.write(`${JSON.stringify(msg)}\n`);
  } catch {
    /* start_process went away; the process runs on */
  }
}

// From the handoff (start_process's pipe) to a supervisor with its output log, not yet running.
async function boot(): Promise<{ sv: Supervisor; drops: DropRecorder }> {
  // First: a caller's extra fds must not stay open in here or reach the command (lib/process/fds.ts).
  closeInheritedFds();
  // start_process may be gone before the hello (interrupted): an EPIPE must not end us.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined); // read by start_process only until the hello
  process.on('SIGHUP', () => undefined);
  process.on('SIGINT', () => undefined);
  const { dataKey, cfg } = await readHandoff();
  useLayer(cfg.platform ?? 'linux');
  // Marks every process the command's tree starts, wherever it moves (see markedWith).
  const treeMark = randomBytes(16).toString('hex');
  cfg.env = { ...cfg.env, [TREE_MARK_ENV]: treeMark };
  const keys = subKeys(dataKey);
  // Only the sub-keys are used from here on: the data key itself need not stay in memory.
  dataKey.fill(0);
  (globalThis as { gc?: () => void }).gc?.();
  const store = new StateStore({ dataDir: cfg.dataDir, keys });
  let sv: Supervisor | undefined;
  // Drop totals go to the state, one update at a time (drops are rare: once per piece).
  const drops = dropRecorder((fn) => sv!.updateRecord(fn));
  // A log thread only under a PTY (see logsink.ts).
  const out = new OutputLog(cfg.pty ? new URL('./log-thread.mjs', import.meta.url) : undefined, drops.record);
  sv = new Supervisor(cfg, keys, store, out, treeMark);
  tapOutput(out, sv.tail);
  return { sv, drops };
}

interface DropRecorder {
  record: (totals: Dropped) => void;
  done: () => Promise<unknown>;
}

// The log's drop totals (by its size cap) into the record: the newest only, one update at a time.
function dropRecorder(update: (fn: (rec: { logDropped?: Dropped }) => void) => Promise<unknown>): DropRecorder {
  let chain: Promise<unknown> = Promise.resolve();
  let totals: Dropped | undefined;
  let queued = false;
  const record = (t: Dropped) => {
    totals = t;
    if (queued) return;
    queued = true;
    chain = chain.then(() => {
      queued = false;
      return update((rec) => void (rec.logDropped = totals));
    });
  };
  return { record, done: () => chain };
}

// Record the run in the state (the name still free, under the lock) and open its log.
async function register(sv: Supervisor, socketPath: string): Promise<string> {
  const { cfg, out } = sv;
  ensureDir(path.join(cfg.dataDir, 'logs'));
  return sv.store.update((doc) => {
    // restart_process: only the call that claimed the next run starts it (its claim may have been
    // taken over as stale, when this supervisor took that long to boot).
    if (cfg.restartClaim && findRecord(doc, cfg.reuseId!)?.restartClaim?.token !== cfg.restartClaim) {
      throw new BgError(
        'REFUSED',
        `process ${cfg.reuseId} was restarted by another call meanwhile; this one's command was ended at once and not recorded.`,
      );
    }
    const holder = cfg.name ? liveNameHolder(doc, cfg.name, cfg.reuseId) : undefined;
    if (holder) throw nameTaken(cfg, holder.id);
    const rec = registerRun(doc, runFields(sv, socketPath), cfg.reuseId);
    const dropped = rec.logDropped ?? { bytes: 0, records: 0 }; // by the cap in earlier runs (restart_process)
    out.open({
      file: path.join(cfg.dataDir, rec.logFile),
      keys: sv.keys,
      procId: rec.id,
      maxBytes: cfg.maxLogSize,
      dropped,
      lost: { bytes: 0, chunks: 0, reason: '' },
    });
    // First in the log, before any output that arrived while the log was being set up.
    const verb = cfg.reuseId ? 'restarted by restart_process' : 'started';
    out.appendNow('event', Buffer.from(`${verb}: ${cfg.command} (PID ${sv.child.pid}${cfg.pty ? ', pty' : ''})`));
    return rec.id;
  });
}

// The name went to another process after start_process checked it.
function nameTaken(cfg: Supervisor['cfg'], holder: string): BgError {
  if (cfg.replacing) {
    // --replace did its part; another call (another --replace, or a start that found the name free) came first.
    const when = cfg.replacing.id ? `while this one was replacing ${cfg.replacing.id}` : 'meanwhile';
    return new BgError(
      'REFUSED',
      `the name "${cfg.name}" was taken by process ${holder}, which another call started ${when}; this one's command was ended at once and not recorded. Run it again to replace ${holder}, or pick another name.`,
    );
  }
  const fix = cfg.reuseId ? 'Stop it first, then restart this one.' : 'Stop it, pick another name, or pass --replace.';
  return new BgError('REFUSED', `the name "${cfg.name}" belongs to running process ${holder}. ${fix}`);
}

function runFields(sv: Supervisor, socketPath: string) {
  const { cfg } = sv;
  return {
    command: cfg.command,
    argv: cfg.argv,
    cwd: cfg.cwd,
    pty: cfg.pty,
    pid: sv.child.pid,
    startTicks: sv.childStat?.startTicks,
    bootId: bootId(),
    platform: layerName(),
    supervisorPid: process.pid,
    supervisorStartTicks: readStat(process.pid)?.startTicks,
    socket: socketPath,
    treeMark: sv.treeMark,
    startedAt: new Date().toISOString(),
    maxLogSize: cfg.maxLogSize,
    restart: cfg.restart,
    name: cfg.name || undefined,
    env: Object.keys(cfg.extraEnv).length ? cfg.extraEnv : undefined,
    timeoutSec: cfg.timeoutSec,
    ready: cfg.ready,
    provenance: cfg.provenance,
    waitingForInput: false, // the input watch (waiting.ts) records changes from here
  };
}

// Not registered, so nothing of it may be left: the command and all it started end now, and
// so does this supervisor (output it held, or paused, has nowhere to go). Each by its start
// time: the command may have exited while this waited, and its PID be reused.
async function abandon(sv: Supervisor, err: BgError): Promise<never> {
  const roots = [
    ...(sv.childStat ? [{ ...sv.childStat, leads: true }] : []),
    ...sessionMembersOf(sv.child.pid, sv.since(), !sv.childStat),
  ];
  await terminateTree({ roots, signal: 'SIGKILL', graceMs: 0, mark: sv.treeMark });
  const code =
    err.code === 'DAMAGED' ||
    err.code === 'STORAGE' ||
    err.code === 'CANNOT_START' ||
    err.code === 'REFUSED' ||
    err.code === 'NOT_FOUND'
      ? err.code
      : 'SUPERVISOR';
  hello({ ok: false, code, message: err.message });
  process.exit(1);
}

async function main(): Promise<void> {
  const { sv, drops } = await boot();
  try {
    await sv.spawn();
  } catch (err) {
    hello({ ok: false, code: 'CANNOT_START', message: `cannot run ${sv.cfg.argv[0]}: ${(err as Error).message}` });
    return;
  }
  let markReady!: () => void;
  sv.finished = runLoop(sv, new Promise<void>((r) => (markReady = r)));
  const socketPath = newSocketPath(sv.cfg.dataDir);
  let server: net.Server | undefined;
  try {
    server = await serveControl(socketPath, sv.keys.control, (req, conn) => handleRequest(sv, req, conn));
    sv.id = await register(sv, socketPath);
  } catch (err) {
    server?.close();
    return abandon(sv, err as BgError);
  }
  sv.out.flush();
  // --timeout may exceed one Node timer (24.8 days): a chain of them.
  const timeout =
    sv.cfg.timeoutSec === undefined
      ? undefined
      : setLongTimeout(() => {
          sv.stop ??= { reason: 'timeout', result: stopChild(sv, STOP_SIGNAL, STOP_GRACE_SEC * 1000, 'timeout') };
        }, sv.cfg.timeoutSec * 1000);
  // The event log: this run began (a restart_process run says so), and its ports are watched.
  const cmd = sv.cfg.command;
  if (sv.cfg.reuseId)
    void recordEvent(sv, 'restarted', `by restart_process: ${cmd} (PID ${sv.child.pid})`, {
      pid: sv.child.pid,
      reason: 'restart_process',
    });
  else void recordEvent(sv, 'started', `${cmd} (PID ${sv.child.pid})`, { pid: sv.child.pid });
  const stopPorts = portPoller(sv);
  markReady();
  watchInput(sv);
  hello({ ok: true, id: sv.id, pid: sv.child.pid });
  process.stdout.end();

  await sv.finished;
  sv.viewers.endAll('the process ended');
  stopPorts();
  timeout?.clear();
  if (sv.stop) await sv.stop.result;
  await sv.out.close();
  await drops.done();
  await eventsWritten(sv);
  server.close();
}

main().catch((err) => {
  hello({ ok: false, code: 'SUPERVISOR', message: String((err as Error)?.stack ?? err) });
  process.exitCode = 1;
});
