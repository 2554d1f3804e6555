// The control channel between the scripts and a supervisor: one request per connection,
// newline-delimited JSON over a Unix socket. Only a holder of the data key can use it: both
// sides prove knowledge of the control key with HMACs over fresh nonces from each side, and
// every request and reply is MAC'd under those nonces, so a recorded exchange cannot be
// replayed.
//
// Other users must not even reach it (each connection costs the supervisor memory and a
// descriptor until it fails its handshake): the socket is a file in the data dir's `run/`,
// a folder only its owner can enter, not a name in the abstract namespace that any local user
// can connect to. A deep data dir must not run into the limit of a socket address (108 bytes on
// Linux, 104 on macOS), so neither side uses the socket's absolute path: the Linux layer goes
// through /proc/self/fd/<folder's fd>/<name>, the portable layer (no /proc) uses <name> with the
// process's working folder in run/ for the one call (openSocketDir). Connections that have
// not authenticated are capped and given a short deadline; stop_process does without the
// supervisor when it does not answer (lib/control/stop.ts).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { hmac, macEqual } from '../store/crypto.ts';
import { BgError, type ErrorCode } from '../errors.ts';
import { ensureDir, DIR_MODE, storageError } from '../store/fsutil.ts';
import { setLongTimeout } from '../util/timer.ts';
import type { StopReason } from '../store/state.ts';
import { layerName, type ProcessLayerName } from '../util/platform.ts';

export type Request =
  | { type: 'send-input'; data: string } // base64 bytes
  | { type: 'close-input' }
  | { type: 'stop'; signal: string; timeoutMs: number; reason?: StopReason }
  | { type: 'status' }
  // A viewer (attach_process, the page): the connection stays open for frames (Channel below).
  | { type: 'attach'; cols: number; rows: number; readOnly: boolean };

export interface StopResult {
  endedBy: string; // the signal that ended the child (SIGTERM, SIGKILL, ...); 'exit': it was between restarts; 'exited': it had ended by itself
  exitCode: number | null;
  signal: string | null;
  killedLeftovers: number; // tree members still alive after the child ended, then SIGKILLed
  endedLeftovers?: number; // endedBy 'exited': the processes it left running that the stop ended
}

export type Reply =
  | {
      ok: true;
      stop?: StopResult;
      joined?: StopReason; // the reason of a stop already under way
      bytes?: number;
      pid?: number;
      attach?: AttachReply;
    }
  | { ok: false; code: ErrorCode; message: string };

/** A viewer's start: the log's records before `seq` hold all output before the live frames; the PTY's size now. */
export interface AttachReply {
  seq: number | undefined;
  cols: number;
  rows: number;
  viewers: number;
}

const MAX_LINE = 64 << 20;
const MAX_LINE_BEFORE_AUTH = 4096;
/** Connections that have not sent an authenticated request yet: more are closed at once. */
export const MAX_PENDING = 16;
/** Time from connecting to an authenticated request (the server) or to the server's proof (the client). */
export const HANDSHAKE_MS = 10_000;

/** The supervisor did not answer before proving itself: nothing reached it, so nothing was done. */
export class Unanswered extends BgError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SUPERVISOR', message, options);
  }
}

// Split a socket's data into lines. `limit` caps a line's length (a small cap before the peer
// has authenticated, so nobody without the key can make us hold or rescan much).
function lines(sock: net.Socket, onLine: (line: string) => void, limit: () => number = () => MAX_LINE): void {
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('data', (chunk: string) => {
    let from = buf.length; // only the new part can hold the next newline
    buf += chunk;
    let ix: number;
    while ((ix = buf.indexOf('\n', from)) >= 0) {
      const line = buf.slice(0, ix);
      buf = buf.slice(ix + 1);
      from = 0;
      onLine(line);
      if (sock.destroyed) return;
    }
    if (buf.length > limit()) sock.destroy();
  });
}

// One protocol line as an object, or undefined for anything else (not JSON, null, arrays, ...).
function parseObject(line: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function send(sock: net.Socket, obj: unknown): void {
  sock.write(`${JSON.stringify(obj)}\n`);
}

const tag = (s: string) => Buffer.from(s, 'utf8');

/** A socket recorded by a supervisor of an earlier version: a name in the abstract namespace. */
const isAbstract = (socket: string) => !socket.startsWith('/');

/** For a recorded socket, the address to connect to (a path needs openSocketDir for long ones). */
export function socketAddress(socket: string): string {
  return isAbstract(socket) ? `\0${socket}` : socket;
}

/** A new control socket's path: `<dataDir>/run/<24 hex>.sock`. */
export function newSocketPath(dataDir: string): string {
  return path.join(path.resolve(dataDir), 'run', `${randomBytes(12).toString('hex')}.sock`);
}

/** A socket's folder, open and checked (openSocketDir), and the way to the socket through it. */
export interface SocketDir {
  fd: number;
  /**
   * Run `use` with the socket's address, for a call that binds, connects, chmods or unlinks it
   * at once (synchronously, inside `use`): `/proc/self/fd/<fd>/<name>` in the Linux layer;
   * `<name>` in the portable layer, with the working folder in the checked folder meanwhile.
   */
  at<T>(use: (address: string) => T): T;
}

/**
 * Open the folder of a socket, checked to be ours and closed to everyone else, and give the
 * short address of the socket through it. `fix`: make it so (the server), else refuse. The
 * checks are made on the open folder (O_NOFOLLOW, fstat) and the socket is reached through it,
 * so what was checked is what is used. Also the dashboard's handoff (control/handoff.ts).
 */
export function openSocketDir(socket: string, fix: boolean, layer: ProcessLayerName = layerName()): SocketDir {
  const dir = path.resolve(path.dirname(socket));
  if (fix) ensureDir(dir);
  let fd: number;
  try {
    fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
  } catch (err) {
    if (fix) throw storageError(dir, err);
    throw new Unanswered(
      `cannot open the folder of the process's control socket (${(err as NodeJS.ErrnoException).code ?? err}).`,
      { cause: err },
    );
  }
  const st = fs.fstatSync(fd);
  const uid = process.getuid?.() ?? st.uid;
  if (st.uid !== uid) {
    fs.closeSync(fd);
    throw new BgError(
      'STORAGE',
      `${dir} belongs to user ${st.uid}, not to you; another user may reach the control sockets in it. Remove it (it holds only sockets) and start again.`,
    );
  }
  if ((st.mode & 0o077) !== 0) {
    if (fix) fs.fchmodSync(fd, DIR_MODE);
    else {
      fs.closeSync(fd);
      throw new BgError(
        'STORAGE',
        `${dir} is open to other users (mode ${(st.mode & 0o777).toString(8)}); not using the control socket in it. Run: chmod 700 '${dir}'`,
      );
    }
  }
  const name = path.basename(socket);
  if (layer === 'linux') {
    const address = `/proc/self/fd/${fd}/${name}`;
    return { fd, at: (use) => use(address) };
  }
  return { fd, at: (use) => inFolder(dir, st, () => use(name)) };
}

/**
 * Run `use` with the working folder in `dir`, checked to be the folder opened as `st`, and then
 * back where it was. No thread of ours resolves a relative path meanwhile: every other path in
 * the code is absolute, `use` runs to its end before anything else on this thread, and
 * process.chdir is refused on worker threads (Node throws ERR_WORKER_UNSUPPORTED_OPERATION).
 * A working folder that no longer exists cannot be returned to: the root is taken instead.
 */
function inFolder<T>(dir: string, st: fs.Stats, use: () => T): T {
  let back: string;
  try {
    back = process.cwd();
  } catch {
    back = '/';
  }
  try {
    process.chdir(dir);
  } catch (err) {
    // As a connect through a folder gone since it was opened fails: nothing reached anyone.
    throw new Unanswered(
      `cannot enter the folder of the process's control socket (${(err as NodeJS.ErrnoException).code ?? err}).`,
      { cause: err },
    );
  }
  try {
    const here = fs.statSync('.');
    if (here.dev !== st.dev || here.ino !== st.ino)
      throw new BgError('STORAGE', `${dir} was replaced while in use; not using the control socket in it. Try again.`);
    return use();
  } finally {
    try {
      process.chdir(back);
    } catch (err) {
      process.chdir('/');
      process.stderr.write(
        `note: the working folder ${back} is gone (${(err as NodeJS.ErrnoException).code ?? err}); this process now works in /.\n`,
      );
    }
  }
}

/**
 * Listen on the socket in `dir` (mode 0600, as every file in the data dir: the folder is what
 * keeps others out). The server's close then removes the socket file through the folder too:
 * libuv unlinks the address it bound (uv__pipe_close), which in the portable layer is a name
 * relative to the working folder.
 */
export function listenIn(dir: SocketDir, server: net.Server): Promise<void> {
  const close = server.close.bind(server);
  server.close = ((cb?: (err?: Error) => void) => {
    try {
      return dir.at(() => close(cb));
    } catch {
      return close(cb); // the folder was replaced: the name (24 random hex digits) is nowhere else
    }
  }) as typeof server.close;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    dir.at((address) =>
      server.listen(address, () => {
        server.removeListener('error', reject);
        try {
          dir.at((a) => fs.chmodSync(a, 0o600));
          resolve();
        } catch (err) {
          reject(err);
        }
      }),
    );
  });
}

/** Serve requests on the socket at path `socket`; `handle` answers authenticated requests. */
export function serveControl(
  socket: string,
  key: Buffer,
  handle: (req: Request, conn: Connection) => Promise<Reply>,
): Promise<net.Server> {
  const dir = openSocketDir(socket, true);
  let pending = 0;
  const server = net.createServer((sock) => {
    sock.on('error', () => undefined);
    if (pending >= MAX_PENDING) {
      sock.destroy();
      return;
    }
    pending++;
    let counted = true;
    const settled = () => {
      if (counted) pending--;
      counted = false;
    };
    sock.once('close', settled);
    const ns = randomBytes(32);
    let nc: Buffer | undefined;
    let step = 0;
    let kept: Channel | undefined; // a viewer's connection, once its request asked to keep it
    sock.setTimeout(HANDSHAKE_MS, () => sock.destroy()); // until the request has come
    send(sock, { hello: ns.toString('base64') });
    lines(
      sock,
      (line) => {
        // Anyone who can reach the socket can send this line: anything but a JSON object ends
        // the connection (a bare `null` must not throw here, which would end the supervisor).
        const msg = parseObject(line);
        if (!msg) {
          sock.destroy();
          return;
        }
        if (step === 0) {
          nc = Buffer.from(String(msg.nonce ?? ''), 'base64');
          const ok =
            nc.length === 32 &&
            macEqual(Buffer.from(String(msg.mac ?? ''), 'base64'), hmac(key, tag('client'), ns, nc));
          if (!ok) {
            send(sock, { ok: false, code: 'WRONG_PASSWORD', message: 'authentication failed' });
            sock.end();
            return;
          }
          step = 1;
          send(sock, { mac: hmac(key, tag('server'), ns, nc).toString('base64') });
          return;
        }
        if (kept) return kept.receive(msg);
        if (step !== 1 || !nc) return;
        step = 2;
        const body = String(msg.req ?? '');
        if (!macEqual(Buffer.from(String(msg.mac ?? ''), 'base64'), hmac(key, tag('request'), ns, nc, tag(body)))) {
          send(sock, { ok: false, code: 'WRONG_PASSWORD', message: 'request failed its integrity check' });
          sock.end();
          return;
        }
        const nonceC = nc;
        let keep = false;
        const conn: Connection = {
          keep: () => {
            keep = true;
            kept ??= new Channel(sock, key, ns, nonceC, 'server');
            return kept;
          },
        };
        // The request is the key holder's: its reply may take as long as the request says (a
        // stop's grace period), so no idle limit from here on, and it no longer counts as pending.
        sock.setTimeout(0);
        settled();
        void Promise.resolve()
          .then(() => handle(JSON.parse(body) as Request, conn))
          .catch(
            (err: unknown): Reply => ({
              ok: false,
              code: err instanceof BgError ? err.code : 'SUPERVISOR',
              message: String((err as Error)?.message ?? err),
            }),
          )
          .then((reply) => {
            const rbody = JSON.stringify(reply);
            send(sock, { reply: rbody, mac: hmac(key, tag('reply'), ns, nonceC, tag(rbody)).toString('base64') });
            if (keep && reply.ok) kept!.start();
            else {
              kept?.dropped();
              sock.end();
            }
          });
      },
      () => (step === 0 ? MAX_LINE_BEFORE_AUTH : MAX_LINE),
    );
  });
  server.once('close', () => fs.closeSync(dir.fd)); // after the socket file is removed through it
  return listenIn(dir, server).then(
    () => {
      server.on('error', () => undefined);
      return server;
    },
    (err: unknown) => {
      server.close();
      throw storageError(socket, err);
    },
  );
}

/** Send one request to a supervisor and wait for its authenticated reply. */
export async function requestControl(socket: string, key: Buffer, req: Request, timeoutMs: number): Promise<Reply> {
  return (await exchange(socket, key, req, timeoutMs, false)).reply;
}

/**
 * Send a request that keeps its connection (attach) and wait for the reply: with an ok reply,
 * the channel its frames come and go on (close it when done).
 */
export async function openControlStream(
  socket: string,
  key: Buffer,
  req: Request,
  timeoutMs: number,
): Promise<{ reply: Reply; channel?: Channel }> {
  return exchange(socket, key, req, timeoutMs, true);
}

function exchange(
  socket: string,
  key: Buffer,
  req: Request,
  timeoutMs: number,
  keep: boolean,
): Promise<{ reply: Reply; channel?: Channel }> {
  return new Promise((resolve, reject) => {
    let dir: SocketDir | undefined;
    let sock: net.Socket;
    try {
      if (!isAbstract(socket)) dir = openSocketDir(socket, false);
      sock = dir ? dir.at((address) => net.connect(address)) : net.connect(socketAddress(socket));
    } catch (err) {
      if (dir) fs.closeSync(dir.fd);
      return reject(err);
    }
    const nc = randomBytes(32);
    let ns: Buffer | undefined;
    let proven = false; // the server proved it holds the key; from then on it has our request
    let done = false;
    let channel: Channel | undefined;
    const finish = (err: Error | undefined, reply?: Reply) => {
      if (done) return;
      done = true;
      timer.clear();
      clearTimeout(handshake);
      if (dir) fs.closeSync(dir.fd); // a connected socket does not need its folder open
      if (err || !keep || !reply?.ok) {
        sock.destroy();
        if (err) reject(err);
        else resolve({ reply: reply! });
        return;
      }
      channel = new Channel(sock, key, ns!, nc, 'client');
      channel.start();
      resolve({ reply, channel });
    };
    // Until the server has proven itself nothing was asked of it: failures then are Unanswered.
    const failure = (message: string, cause?: unknown) =>
      proven ? new BgError('SUPERVISOR', message, { cause }) : new Unanswered(message, { cause });
    // A stop's wait is the user's --timeout plus a margin: it may exceed one Node timer.
    const timer = setLongTimeout(
      () => finish(failure(`the supervisor did not answer within ${Math.round(timeoutMs / 1000)} s.`)),
      timeoutMs,
    );
    const handshake = setTimeout(
      () => finish(failure(`the supervisor did not answer within ${HANDSHAKE_MS / 1000} s.`)),
      Math.min(timeoutMs, HANDSHAKE_MS),
    );
    sock.on('error', (err) =>
      finish(
        failure(`cannot reach the process's supervisor (${(err as NodeJS.ErrnoException).code ?? err.message}).`, err),
      ),
    );
    sock.on('close', () => finish(failure('the supervisor closed the connection without answering.')));
    lines(sock, (line) => {
      const msg = parseObject(line);
      if (channel) return channel.receive(msg);
      if (!msg)
        return finish(
          new BgError(
            'SUPERVISOR',
            'the control socket answered with something other than the protocol; not sending anything.',
          ),
        );
      if (msg.ok === false)
        return finish(new BgError('WRONG_PASSWORD', `the supervisor refused: ${String(msg.message)}.`));
      if (!ns) {
        ns = Buffer.from(String(msg.hello ?? ''), 'base64');
        if (ns.length !== 32)
          return finish(
            new BgError('SUPERVISOR', 'the control socket did not greet as a supervisor does; not sending anything.'),
          );
        send(sock, { nonce: nc.toString('base64'), mac: hmac(key, tag('client'), ns, nc).toString('base64') });
        return;
      }
      if (typeof msg.reply !== 'string') {
        if (!macEqual(Buffer.from(String(msg.mac ?? ''), 'base64'), hmac(key, tag('server'), ns, nc))) {
          return finish(
            new BgError(
              'SUPERVISOR',
              'the control socket answered without proving it holds the key; not sending anything.',
            ),
          );
        }
        proven = true;
        clearTimeout(handshake);
        const body = JSON.stringify(req);
        send(sock, { req: body, mac: hmac(key, tag('request'), ns, nc, tag(body)).toString('base64') });
        return;
      }
      if (!macEqual(Buffer.from(String(msg.mac ?? ''), 'base64'), hmac(key, tag('reply'), ns, nc, tag(msg.reply)))) {
        return finish(new BgError('SUPERVISOR', 'the reply failed its integrity check.'));
      }
      finish(undefined, JSON.parse(msg.reply) as Reply);
    });
  });
}

/** What a request handler can do with its connection besides answering. */
export interface Connection {
  /** Keep the connection open after an ok reply: the channel of a viewer (attach). */
  keep(): Channel;
}

/**
 * A kept connection (a viewer's): newline-delimited frames each way, each MAC'd under the
 * handshake's nonces, its direction and its number, so none can be forged, replayed, dropped
 * or reordered without the other side noticing (it then closes the channel).
 */
export class Channel {
  private sent = 0n;
  private received = 0n;
  private queued: Record<string, unknown>[] = []; // frames that came before a listener
  private outbox: string[] | undefined = []; // frames sent before the reply went: they follow it
  private onFrame: ((frame: Record<string, unknown>) => void) | undefined;
  private readonly closers: (() => void)[] = [];
  private closed = false;

  constructor(
    readonly sock: net.Socket,
    private readonly key: Buffer,
    private readonly ns: Buffer,
    private readonly nc: Buffer,
    private readonly side: 'server' | 'client',
  ) {
    sock.once('close', () => this.ended());
  }

  /** Frames may flow (the reply has gone, or come). */
  start(): void {
    this.sock.setTimeout(0);
    const held = this.outbox ?? [];
    this.outbox = undefined;
    for (const line of held) this.sock.write(line);
  }

  /** The request failed after all: no channel. */
  dropped(): void {
    this.ended();
  }

  private mac(dir: string, n: bigint, body: string): string {
    const num = Buffer.alloc(8);
    num.writeBigUInt64BE(n);
    return hmac(this.key, tag(`frame ${dir}`), this.ns, this.nc, num, tag(body)).toString('base64');
  }

  /** Send a frame; false when the socket's buffer is over its high-water mark (see backlog). */
  send(frame: object): boolean {
    if (this.closed || this.sock.destroyed) return false;
    const body = JSON.stringify(frame);
    const line = `${JSON.stringify({ f: body, mac: this.mac(this.side, this.sent++, body) })}\n`;
    if (this.outbox) return (void this.outbox.push(line), true);
    return this.sock.write(line);
  }

  /** Bytes written but not yet taken by the other side's socket. */
  backlog(): number {
    return this.sock.writableLength;
  }

  receive(msg: Record<string, unknown> | undefined): void {
    if (this.closed) return;
    const body = typeof msg?.f === 'string' ? msg.f : undefined;
    const peer = this.side === 'server' ? 'client' : 'server';
    if (
      body === undefined ||
      !macEqual(
        Buffer.from(String(msg!.mac ?? ''), 'base64'),
        Buffer.from(this.mac(peer, this.received, body), 'base64'),
      )
    )
      return this.close();
    this.received++;
    const frame = parseObject(body);
    if (!frame) return this.close();
    if (this.onFrame) this.onFrame(frame);
    else this.queued.push(frame);
  }

  /** Take the frames (those already come first). */
  frames(fn: (frame: Record<string, unknown>) => void): void {
    this.onFrame = fn;
    const q = this.queued;
    this.queued = [];
    for (const f of q) if (!this.closed) fn(f);
  }

  onClose(fn: () => void): void {
    if (this.closed) fn();
    else this.closers.push(fn);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** End the connection: what was sent still goes, unless `now` (a peer that stopped reading). */
  close(now = false): void {
    if (this.closed) return;
    if (now) this.sock.destroy();
    else this.sock.end();
    this.ended();
  }

  private ended(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fn of this.closers.splice(0)) fn();
  }
}
