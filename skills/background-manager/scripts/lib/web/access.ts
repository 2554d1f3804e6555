// Who may use the dashboard. A page on any site the person visits can make their browser send
// requests to 127.0.0.1, so the loopback address alone proves nothing: every request needs this
// run's random token in the X-BG-Token header, and the Host header must name this server (a
// DNS-rebinding page arrives under its own host name), and a cross-site Origin is refused. No
// cookie carries the token: a browser sends 127.0.0.1's cookies to every port of it (another
// local user's server, a managed dev server behind a port link), and a header is something no
// form or page of another site can add (CSRF).
import os from 'node:os';
import type http from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';

export interface Access {
  token: string;
  hosts: Set<string>; // Host header values that name this server
}

export type Verdict = { ok: true } | { ok: false; status: 401 | 403; why: string };

/** Host names a browser may use for `bound`: loopback names, or every interface for a wildcard. */
function hostNames(bound: string): string[] {
  if (bound === '127.0.0.1' || bound === 'localhost') return ['127.0.0.1', 'localhost'];
  if (bound === '::1') return ['[::1]', 'localhost'];
  if (bound === '0.0.0.0' || bound === '::') {
    const addrs = Object.values(os.networkInterfaces())
      .flat()
      .filter((a) => !!a);
    return ['localhost', os.hostname(), ...addrs.map((a) => (a!.family === 'IPv6' ? `[${a!.address}]` : a!.address))];
  }
  return [bound.includes(':') ? `[${bound}]` : bound];
}

/** This run's access: a new random token, unless one was handed over (--detach). */
export function newAccess(bound: string, port: number, token = randomBytes(32).toString('base64url')): Access {
  return {
    token,
    hosts: new Set(hostNames(bound).map((h) => `${h.toLowerCase()}:${port}`)),
  };
}

function sameToken(a: Access, given: string | undefined): boolean {
  if (!given) return false;
  const x = Buffer.from(given);
  const y = Buffer.from(a.token);
  return x.length === y.length && timingSafeEqual(x, y); // no timing hint on how much matched
}

/** Host and Origin name this server (checked on every request, the open page too). */
export function checkOrigin(a: Access, req: http.IncomingMessage): Verdict {
  const host = (req.headers.host ?? '').toLowerCase();
  if (!a.hosts.has(host))
    return { ok: false, status: 403, why: 'this server answers only to its own address (Host header refused)' };
  const origin = req.headers.origin;
  if (origin !== undefined && !(origin.startsWith('http://') && a.hosts.has(origin.slice(7).toLowerCase()))) {
    return { ok: false, status: 403, why: 'requests from other origins are refused' };
  }
  if (req.headers['sec-fetch-site'] === 'cross-site')
    return { ok: false, status: 403, why: 'cross-site requests are refused' };
  return { ok: true };
}

/** The token, in the X-BG-Token header (the page reads its event streams with fetch for it). */
export function checkToken(a: Access, req: http.IncomingMessage): Verdict {
  const header = req.headers['x-bg-token'];
  if (sameToken(a, typeof header === 'string' ? header : undefined)) return { ok: true };
  return { ok: false, status: 401, why: 'the token is missing or wrong: open the Dashboard URL the command printed' };
}
