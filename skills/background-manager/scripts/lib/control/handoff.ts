// A detached dashboard's handoff. `dashboard --detach`, and `restart_process` of such a
// dashboard, start `node dist/dashboard.mjs --handoff dashboard-<24 hex>.sock` with BG_DATA_DIR
// set to the data dir (recorded with the process, as --env values are), listen on that socket
// in the data dir's run/ folder, and give the first to connect (the dashboard) the password and
// this run's token; the dashboard answers with its URL, or why it could not serve.
//
// Nothing in it can come from another user: the dashboard serves the data dir of its own
// environment, never one it is sent, and both sides reach the socket only through a run/
// folder that is the caller's and closed to everyone else, checked on the open folder as the
// control sockets are (control/protocol.ts openSocketDir). Another user can neither make that
// socket nor connect to it. The page and MCP cannot restart such a dashboard: they have no
// one to hand the password over from (restartRecord refuses).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { listenIn, openSocketDir, Unanswered, type SocketDir } from '../control/protocol.ts';
import { BgError } from '../errors.ts';
import { storageError } from '../store/fsutil.ts';
import { readStat } from '../process/proc.ts';
import type { Started } from '../control/launch.ts';
import type { Context } from '../store/context.ts';
import { findRecord } from '../store/state.ts';
import { STOP_GRACE_SEC, STOP_SIGNAL, stopProcess } from './stop.ts';
import { oneLine } from '../util/format.ts';
import { skillRoot } from '../install/paths.ts';

export const HANDOFF_MS = 30_000;
const NAME_RE = /^dashboard-[0-9a-f]{24}\.sock$/;
const MAX_MESSAGE = 64 << 10;

/** What the caller hands over. Never the data dir: the dashboard has its own. */
export interface Handoff {
  password: string;
  token: string;
}

/** The dashboard's answer: where it serves (no token), or why it does not. */
interface HandoffReply {
  url?: string;
  error?: string;
}

/** Why the page, MCP or a supervisor cannot restart a detached dashboard, and what does. */
export function restartFromShell(ref: string): string {
  return `a detached dashboard is restarted from a shell: restart_process ${ref}, or dashboard --detach.`;
}

/**
 * Is this recorded command a detached dashboard's: a node binary running this skill's own
 * dist/dashboard.mjs (by real path) with --handoff? Any other program, whatever its name, is an
 * ordinary process, restarted as one: it is never handed the password.
 */
export function isDetachedDashboard(argv: readonly string[]): boolean {
  if (!argv.some((a) => a === '--handoff' || a.startsWith('--handoff='))) return false;
  const [node, script] = [argv[0] ?? '', argv[1] ?? ''];
  if (!path.isAbsolute(node) || !path.isAbsolute(script)) return false;
  const real = (p: string) => {
    try {
      return fs.realpathSync(p);
    } catch {
      return undefined;
    }
  };
  const own = real(path.join(skillRoot(), 'dist', 'dashboard.mjs'));
  const nodeReal = real(node);
  return (
    own !== undefined &&
    real(script) === own &&
    nodeReal !== undefined &&
    (nodeReal === real(process.execPath) || path.basename(nodeReal) === 'node')
  );
}

/** `argv` (node, dashboard.mjs, its options) with `--handoff name` in place of any it had. */
export function withHandoff(argv: readonly string[], name: string): string[] {
  const rest = argv
    .slice(2)
    .filter((a, i, all) => a !== '--handoff' && all[i - 1] !== '--handoff' && !a.startsWith('--handoff='));
  return [argv[0]!, argv[1]!, '--handoff', name, ...rest];
}

/** Read a small JSON object up to the end of the other side's writes; undefined if it is not one. */
function readMessage(conn: net.Socket): Promise<Record<string, unknown> | undefined> {
  return new Promise((resolve) => {
    let buf = '';
    conn.setEncoding('utf8');
    conn.on('data', (d: string) => {
      buf += d;
      if (buf.length > MAX_MESSAGE) conn.destroy();
    });
    const done = () => {
      try {
        const v: unknown = JSON.parse(buf);
        resolve(v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
      } catch {
        resolve(undefined);
      }
    };
    conn.once('end', done).once('close', done);
  });
}

/**
 * The caller's side: listen on a new handoff socket in the data dir's run/ folder, run
 * `start(name)` (which starts the dashboard with that name in its command), hand the first
 * connection `handoff` once the start has succeeded, and resolve once the dashboard serves, with
 * its URL. Fails, saying why, when it says it cannot serve, exits first, or does not answer
 * within HANDOFF_MS; then the dashboard it started is stopped (as stop_process stops), and the
 * connection to it is closed, so neither it nor this process goes on waiting.
 */
export async function handOver(
  ctx: Context,
  handoff: Handoff,
  what: string,
  start: (name: string) => Promise<Started>,
): Promise<{ started: Started; url: string }> {
  const name = `dashboard-${randomBytes(12).toString('hex')}.sock`;
  const socket = path.join(path.resolve(ctx.dataDir), 'run', name);
  const dir = openSocketDir(socket, true);
  // Half open: each side ends its writes and still reads the other's answer.
  const server = net.createServer({ allowHalfOpen: true });
  let conn: net.Socket | undefined;
  let started: Started | undefined;
  let giveAnswer: (r: HandoffReply) => void = () => undefined;
  const answer = new Promise<HandoffReply>((resolve) => (giveAnswer = resolve));
  // The password goes to the first to connect, and only once the start has succeeded.
  const send = () => {
    if (!conn || !started || conn.writableEnded) return;
    conn.end(`${JSON.stringify(handoff)}\n`);
    void readMessage(conn).then((r) => giveAnswer(r ?? { error: 'it exited before it served' }));
  };
  server.on('connection', (c) => {
    c.on('error', () => undefined);
    if (conn) return void c.destroy(); // one connection only: another accepted in the same tick gets nothing
    conn = c;
    server.close();
    send();
  });
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    server.close(() => fs.closeSync(dir.fd)); // the socket file is removed through the folder first
  };
  try {
    await listenIn(dir, server);
  } catch (err) {
    server.close(); // removes the socket file (if it was made) at once, through the folder
    closed = true;
    fs.closeSync(dir.fd);
    throw storageError(socket, err);
  }
  let timer: NodeJS.Timeout | undefined;
  let r: HandoffReply;
  try {
    try {
      started = await start(name);
    } catch (err) {
      close();
      throw err;
    }
    send();
    const pid = started.pid;
    const gaveUp = new Promise<HandoffReply>((resolve) => {
      const deadline = Date.now() + HANDOFF_MS;
      const check = () => {
        const st = conn ? undefined : readStat(pid);
        if (!conn && (!st || st.state === 'Z')) return resolve({ error: 'it exited before it asked for its handoff' });
        if (Date.now() > deadline) return resolve({ error: `it did not answer within ${HANDOFF_MS / 1000} s` });
        timer = setTimeout(check, 50);
      };
      check();
    });
    try {
      r = await Promise.race([answer, gaveUp]);
    } finally {
      clearTimeout(timer);
      close();
    }
  } finally {
    conn?.destroy(); // its answer is in, or will never count: nothing waits on it
  }
  if (typeof r.url !== 'string' || !/^http:\/\/\S+\/$/.test(r.url)) {
    const why = String(r.error ?? 'no answer').replace(/\.$/, '');
    const stopped = await stopStarted(ctx, started);
    throw new BgError(
      'CANNOT_START',
      `${what} (process ${started.id}) did not start serving: ${why}; ${stopped}. See get_logs ${started.id}.`,
    );
  }
  return { started, url: r.url };
}

/** Stop a dashboard that did not start serving, as stop_process does; what became of it. */
async function stopStarted(ctx: Context, started: Started): Promise<string> {
  const rec = findRecord(ctx.store.read(), started.id);
  if (!rec) return 'its record is gone';
  try {
    const out = await stopProcess(ctx, rec, STOP_SIGNAL, STOP_GRACE_SEC * 1000, 'stop'); // as stop_process's default
    return out.already
      ? 'it is not running'
      : out.result.endedBy === 'exited'
        ? 'it had just exited'
        : `stopped it (${out.result.endedBy})`;
  } catch (err) {
    return `stopping it failed too (${oneLine((err as Error).message).replace(/\.$/, '')}): stop_process ${started.id}`;
  }
}

/**
 * The dashboard's side: the password and token from handoff socket `name` in the run/ folder
 * of `dataDir` (its own); `answer` tells the caller how it went.
 */
export async function takeHandoff(
  dataDir: string,
  name: string,
): Promise<Handoff & { answer: (r: HandoffReply) => void }> {
  if (!NAME_RE.test(name))
    throw new BgError(
      'USAGE',
      `--handoff is for dashboard --detach only: it names a socket in the data dir's run/ folder, as dashboard-<24 hex>.sock.`,
    );
  let dir: SocketDir;
  try {
    dir = openSocketDir(path.join(dataDir, 'run', name), false);
  } catch (err) {
    if (err instanceof Unanswered)
      throw new BgError('CANNOT_START', `no handoff for this dashboard in ${dataDir}: ${restartFromShell('NAME')}`);
    throw err;
  }
  let conn: net.Socket;
  try {
    conn = dir.at((address) => net.createConnection({ path: address, allowHalfOpen: true }));
  } catch (err) {
    fs.closeSync(dir.fd);
    throw err;
  }
  try {
    await new Promise<void>((resolve, reject) => conn.once('connect', resolve).once('error', reject));
  } catch (err) {
    throw new BgError(
      'CANNOT_START',
      `no handoff for this dashboard (${(err as NodeJS.ErrnoException).code ?? err}): ${restartFromShell('NAME')}`,
    );
  } finally {
    fs.closeSync(dir.fd);
  }
  conn.on('error', () => undefined);
  const got = await readMessage(conn);
  if (typeof got?.password !== 'string' || typeof got.token !== 'string' || !got.password || got.token.length < 32) {
    conn.destroy();
    throw new BgError('CANNOT_START', `the handoff for this dashboard was not one: ${restartFromShell('NAME')}`);
  }
  return { password: got.password, token: got.token, answer: (r) => conn.end(JSON.stringify(r)) };
}
