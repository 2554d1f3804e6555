// Where the short-lived key cache lives, and for how long an entry counts (lib/store/keycache.ts;
// references/SECURITY.md has the threat model). Plain JavaScript with node built-ins only: the fast
// path's launchers (dist/<name>.mjs, made by build.mjs) ask it too, to skip the early key
// derivation when a fresh entry waits.
// Built-ins through require(), as in sources.mjs (no ESM facades: they load more than is used).
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const fs = require('node:fs');
const path = require('node:path');
const { createHash } = require('node:crypto');

export const DEFAULT_TTL_SECONDS = 600;
export const MAX_TTL_SECONDS = 86_400;

/** BG_KEY_CACHE as seconds: 0 for off, NaN for a value that means nothing. */
export function keyCacheTtl(env = process.env) {
  const v = (env.BG_KEY_CACHE ?? '').trim();
  if (v === '') return DEFAULT_TTL_SECONDS;
  if (v === 'off') return 0;
  if (!/^\d{1,6}$/.test(v) || Number(v) > MAX_TTL_SECONDS) return NaN;
  return Number(v);
}

/**
 * The cache folder: memory-backed only. $XDG_RUNTIME_DIR/background-manager when the session
 * has one of its own (a 0700 tmpfs folder of the user's), else /dev/shm/background-manager-<uid>.
 */
export function keyCacheDir(env = process.env) {
  const uid = process.getuid();
  const xdg = env.XDG_RUNTIME_DIR;
  // Only a runtime dir of the caller's own (not a stale one after su or sudo -E, not another's).
  if (xdg && path.isAbsolute(xdg) && fs.statSync(xdg, { throwIfNoEntry: false })?.uid === uid)
    return path.join(xdg, 'background-manager');
  // process.getuid, not os.userInfo: a uid with no passwd entry (containers) is fine here.
  return path.join('/dev/shm', `background-manager-${uid}`);
}

/** One entry per data dir, named by a hash of its absolute path. */
export function keyCacheEntry(dataDir, env = process.env) {
  return path.join(
    keyCacheDir(env),
    `${createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 32)}.key`,
  );
}
