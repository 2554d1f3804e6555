// The control channel between the scripts and a supervisor: one request per connection,
// newline-delimited JSON over a Unix socket in the abstract namespace (no path length limit,
// no file left behind). Only a holder of the data key can use it: both sides prove knowledge
// of the control key with HMACs over fresh nonces from each side, and every request and reply
// is MAC'd under those nonces, so a recorded exchange cannot be replayed.
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { hmac, macEqual } from './crypto.ts';
import { BgError, type ErrorCode } from './errors.ts';
import { setLongTimeout } from './timer.ts';
import type { StopReason } from './state.ts';

export type Request =
  | { type: 'send-input'; data: string } // base64 bytes
  | { type: 'close-input' }
  | { type: 'stop'; signal: string; timeoutMs: number; reason?: StopReason }
  | { type: 'status' };

export interface StopResult {
  endedBy: string; // the signal that ended the child (SIGTERM, SIGKILL, ...); 'exit': it was between restarts; 'exited': it had ended by itself
  exitCode: number | null;
  signal: string | null;
  killedLeftovers: number; // tree members still alive after the child ended, then SIGKILLed
  endedLeftovers?: number; // endedBy 'exited': the processes it left running that the stop ended
}

export type Reply =
  | { ok: true; stop?: StopResult; bytes?: number; pid?: number }
  | { ok: false; code: ErrorCode; message: string };

const MAX_LINE = 64 << 20;
const MAX_LINE_BEFORE_AUTH = 4096;

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
  sock.write(JSON.stringify(obj) + '\n');
}

const tag = (s: string) => Buffer.from(s, 'utf8');

export function socketAddress(name: string): string {
  return `\0${name}`;
}

export function newSocketName(): string {
  return `background-manager-${randomBytes(12).toString('hex')}`;
}

/** Serve requests on the abstract socket `name`; `handle` answers authenticated requests. */
export function serveControl(name: string, key: Buffer, handle: (req: Request) => Promise<Reply>): Promise<net.Server> {
  const server = net.createServer((sock) => {
    const ns = randomBytes(32);
    let nc: Buffer | undefined;
    let step = 0;
    sock.on('error', () => undefined);
    sock.setTimeout(30_000, () => sock.destroy()); // until the request has come
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
        const ok = nc.length === 32 && macEqual(Buffer.from(String(msg.mac ?? ''), 'base64'), hmac(key, tag('client'), ns, nc));
        if (!ok) {
          send(sock, { ok: false, code: 'WRONG_PASSWORD', message: 'authentication failed' });
          sock.end();
          return;
        }
        step = 1;
        send(sock, { mac: hmac(key, tag('server'), ns, nc).toString('base64') });
        return;
      }
      if (step !== 1 || !nc) return;
      step = 2;
      const body = String(msg.req ?? '');
      if (!macEqual(Buffer.from(String(msg.mac ?? ''), 'base64'), hmac(key, tag('request'), ns, nc, tag(body)))) {
        send(sock, { ok: false, code: 'WRONG_PASSWORD', message: 'request failed its integrity check' });
        sock.end();
        return;
      }
      const nonceC = nc;
      // The request is the key holder's: its reply may take as long as the request says (a
      // stop's grace period), so no idle limit from here on.
      sock.setTimeout(0);
      void Promise.resolve()
        .then(() => handle(JSON.parse(body) as Request))
        .catch((err: unknown): Reply => ({ ok: false, code: err instanceof BgError ? err.code : 'SUPERVISOR', message: String((err as Error)?.message ?? err) }))
        .then((reply) => {
          const rbody = JSON.stringify(reply);
          send(sock, { reply: rbody, mac: hmac(key, tag('reply'), ns, nonceC, tag(rbody)).toString('base64') });
          sock.end();
        });
      },
      () => (step === 0 ? MAX_LINE_BEFORE_AUTH : MAX_LINE),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketAddress(name), () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** Send one request to a supervisor and wait for its authenticated reply. */
export function requestControl(name: string, key: Buffer, req: Request, timeoutMs: number): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(socketAddress(name));
    const nc = randomBytes(32);
    let ns: Buffer | undefined;
    let done = false;
    const finish = (err: Error | undefined, reply?: Reply) => {
      if (done) return;
      done = true;
      timer.clear();
      sock.destroy();
      if (err) reject(err);
      else resolve(reply!);
    };
    // A stop's wait is the user's --timeout plus a margin: it may exceed one Node timer.
    const timer = setLongTimeout(
      () => finish(new BgError('SUPERVISOR', `the supervisor did not answer within ${Math.round(timeoutMs / 1000)} s.`)),
      timeoutMs,
    );
    sock.on('error', (err) =>
      finish(new BgError('SUPERVISOR', `cannot reach the process's supervisor (${(err as NodeJS.ErrnoException).code ?? err.message}).`, { cause: err })),
    );
    sock.on('close', () => finish(new BgError('SUPERVISOR', 'the supervisor closed the connection without answering.')));
    lines(sock, (line) => {
      const msg = parseObject(line);
      if (!msg) return finish(new BgError('SUPERVISOR', 'the control socket answered with something other than the protocol; not sending anything.'));
      if (msg.ok === false) return finish(new BgError('WRONG_PASSWORD', `the supervisor refused: ${String(msg.message)}.`));
      if (!ns) {
        ns = Buffer.from(String(msg.hello ?? ''), 'base64');
        if (ns.length !== 32) return finish(new BgError('SUPERVISOR', 'the control socket did not greet as a supervisor does; not sending anything.'));
        send(sock, { nonce: nc.toString('base64'), mac: hmac(key, tag('client'), ns, nc).toString('base64') });
        return;
      }
      if (typeof msg.reply !== 'string') {
        if (!macEqual(Buffer.from(String(msg.mac ?? ''), 'base64'), hmac(key, tag('server'), ns, nc))) {
          return finish(new BgError('SUPERVISOR', 'the control socket answered without proving it holds the key; not sending anything.'));
        }
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
