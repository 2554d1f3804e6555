// The dashboard's HTTP server: the page's files, its event streams and its buttons, every
// request checked by access.ts first. Only the page's code (index.html, boot.js, app.js,
// app.css: no data in them) is served without the token, because the token travels in the
// URL's fragment, which a browser never sends: the page's scripts send it in a header.
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import type { Context } from '../store/context.ts';
import { BgError } from '../errors.ts';
import { resolveProcess } from '../process/resolve.ts';
import { SHELL_HINTS } from '../install/hints.ts';
import { checkOrigin, checkToken, type Access } from './access.ts';
import { ProcessFeed, streamLog, streamTerminal, sendEvent } from './feeds.ts';
import { runAction, type Action } from './actions.ts';
import { holdViewer, resizeViewer, sizeOf } from './viewers.ts';

export interface Dashboard {
  server: http.Server;
  feed: ProcessFeed;
}

const SECURITY_HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  // Scripts and styles from this server only; not framed by another site.
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'none'",
};

// Files of the page: code only, public (as the repository is); every piece of data needs the token.
const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/boot.js': { file: 'boot.js', type: 'text/javascript; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

const HTTP_STATUS: Partial<Record<BgError['code'], number>> = {
  USAGE: 400,
  NOT_FOUND: 404,
  AMBIGUOUS: 404,
  NOT_RUNNING: 409,
  CANNOT_START: 409,
  REFUSED: 409,
};

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function failed(res: http.ServerResponse, err: unknown): void {
  if (err instanceof BgError)
    return reply(res, HTTP_STATUS[err.code] ?? 500, { ok: false, code: err.code, error: err.message });
  reply(res, 500, { ok: false, code: 'INTERNAL', error: (err as Error)?.message ?? String(err) });
}

function openStream(res: http.ServerResponse): void {
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'Content-Type': 'text/event-stream; charset=utf-8',
    Connection: 'keep-alive',
  });
  res.flushHeaders();
}

async function readBody(req: http.IncomingMessage, limit = 1 << 20): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit)
      throw new BgError('USAGE', `the request is over ${limit} bytes; send long input with send_input --file.`);
    chunks.push(c as Buffer);
  }
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    if (v && typeof v === 'object') return v as Record<string, unknown>;
  } catch {
    /* below */
  }
  throw new BgError('USAGE', 'the request body is not a JSON object.');
}

function serveFile(res: http.ServerResponse, pageDir: string, f: { file: string; type: string }): void {
  let body: Buffer;
  try {
    body = fs.readFileSync(path.join(pageDir, f.file));
  } catch {
    return reply(res, 500, { ok: false, error: `the page's ${f.file} is missing from ${pageDir}: run npm run build.` });
  }
  res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': f.type });
  res.end(body);
}

/** The process named in a path, percent-decoded; malformed encoding is the client's mistake (400). */
function processRef(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw new BgError('USAGE', `the process in the path ("${encoded.slice(0, 100)}") is not valid percent-encoding.`);
  }
}

async function route(
  ctx: Context,
  access: Access,
  feed: ProcessFeed,
  pageDir: string,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  const origin = checkOrigin(access, req);
  if (!origin.ok) return reply(res, origin.status, { ok: false, error: origin.why });
  const file = req.method === 'GET' ? FILES[url.pathname] : undefined;
  if (file) return serveFile(res, pageDir, file);
  const token = checkToken(access, req);
  if (!token.ok) return reply(res, token.status, { ok: false, error: token.why });
  // boot.js asks whether its token is this run's before it loads the page (no cookie: access.ts).
  if (req.method === 'POST' && url.pathname === '/api/session') return void res.writeHead(204, SECURITY_HEADERS).end();
  if (req.method === 'GET' && url.pathname === '/api/events') {
    openStream(res);
    return feed.add(res);
  }
  const m = /^\/api\/(log|term|view|stop|restart|remove|send)\/([^/]+)$/.exec(url.pathname);
  if (!m) return reply(res, 404, { ok: false, error: `no such page: ${url.pathname}` });
  const [, what, encoded] = m as unknown as [string, string, string];
  const ref = processRef(encoded);
  if (what === 'log' || what === 'term') {
    if (req.method !== 'GET') return reply(res, 405, { ok: false, error: 'use GET' });
    const rec = resolveProcess(ctx.store.read(), ref, SHELL_HINTS);
    openStream(res);
    if (!ctx.unlocked) return void sendEvent(res, 'end', 'ended');
    const n = Math.min(Math.max(Number(url.searchParams.get('n') ?? 500) || 500, 1), 10_000);
    await (what === 'log' ? streamLog(ctx, rec, n, res) : streamTerminal(ctx, rec, res));
    return void res.end();
  }
  if (what === 'view' && req.method === 'GET') {
    const rec = resolveProcess(ctx.store.read(), ref, SHELL_HINTS);
    const size = sizeOf(url.searchParams.get('cols'), url.searchParams.get('rows'));
    await holdViewer(ctx, rec, size, res, openStream);
    return void res.end();
  }
  if (req.method !== 'POST') return reply(res, 405, { ok: false, error: 'use POST' });
  const body = await readBody(req);
  if (what === 'view')
    return reply(res, 200, { ok: true, message: resizeViewer(body.viewer, sizeOf(body.cols, body.rows)) });
  const message = await runAction(ctx, what as Action, ref, body);
  reply(res, 200, { ok: true, message });
}

/** Serve the dashboard on `host`:`port` (0: a free one); resolves once listening. */
export async function serveDashboard(
  ctx: Context,
  host: string,
  port: number,
  pageDir: string,
  makeAccess: (port: number) => Access,
): Promise<Dashboard & { access: Access }> {
  const feed = new ProcessFeed(ctx);
  let access: Access | undefined;
  const server = http.createServer((req, res) => {
    route(ctx, access!, feed, pageDir, req, res).catch((err) => (res.headersSent ? res.end() : failed(res, err)));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  access = makeAccess((server.address() as { port: number }).port);
  return { server, feed, access };
}
