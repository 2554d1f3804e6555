// A short-lived key cache, as sudo, gpg-agent and ssh-agent keep one: a call that proved the
// password once leaves the data key, sealed, in memory-backed storage, and later calls with
// the same BG_PASSWORD open it without the 600,000-iteration KDF (110-260 ms here, the larger
// part of every call). references/SECURITY.md has the threat model; in short:
// - only on tmpfs/ramfs, in a 0700 folder of the user's (checked: owner, mode, no symlink);
// - sealed under a key derived from BG_PASSWORD with a random per-entry salt (cheap:
//   PBKDF2 at 10,000 iterations), and bound to this data dir and to the key in its key.json (KDF parameters and
//   wrapped key), so another data dir, a changed password or a replaced key never opens it;
// - an entry counts for BG_KEY_CACHE seconds (default 600) since its last use (its mtime);
//   expired entries are deleted by the next call; BG_KEY_CACHE=off turns it off.
// A wrong password finds no entry that opens, and then pays the full KDF like any miss.
// Only the Linux process layer keeps one: the portable layer (BG_PLATFORM=portable, macOS) has
// no tmpfs a user can count on (macOS has none) and never writes the key to a disk-backed file,
// so every call there derives the key; a note says so once per data dir (noteNoCache).
import fs from 'node:fs';
import path from 'node:path';
import { createHash, pbkdf2Sync, randomBytes } from 'node:crypto';
import { hkdf, KEY_BYTES, open, seal, type SubKeys } from './crypto.ts';
import { BgError, isErrno } from '../errors.ts';
import { oneLine } from '../util/format.ts';
import { keyCacheDir, keyCacheEntry, keyCacheTtl, MAX_TTL_SECONDS } from '../../../keycache-locate.mjs';
import { processLayerName } from '../../../platform.mjs';

const FORMAT = 'background-manager-key-cache';
const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;

interface Entry {
  format: typeof FORMAT;
  version: 2; // 1: the entry key was one HMAC (no longer opened)
  salt: string; // base64, random per entry
  sealed: string; // base64: seal(keys from HMAC(salt, password), aad, data key)
}

/** BG_KEY_CACHE in seconds (0: off); a value that means nothing is a usage error. */
export function cacheTtl(env: NodeJS.ProcessEnv = process.env): number {
  const ttl = keyCacheTtl(env);
  if (Number.isNaN(ttl)) {
    throw new BgError(
      'USAGE',
      `BG_KEY_CACHE="${oneLine(String(env.BG_KEY_CACHE))}" is not off or a number of seconds (0-${MAX_TTL_SECONDS}). Unset it for the default (600), or set BG_KEY_CACHE=off.`,
    );
  }
  return ttl;
}

/** Whether this call's process layer keeps a key cache: the Linux one (tmpfs) only; no statfs elsewhere. */
function cacheKept(env: NodeJS.ProcessEnv): boolean {
  return processLayerName(env) === 'linux';
}

/** The data dir's mark that the note about no key cache was shown (docs/FORMAT.md). */
export const NO_CACHE_NOTE_FILE = 'no-key-cache-noted';
const NOTE_MARK = 'background-manager: the note that there is no key cache was shown\n';

/**
 * Say once per data dir that there is no key cache here. The mark is a small file in the data
 * dir, written atomically (0600); a missing or damaged one only means the note shows again.
 */
// The data dir whose note is due: shown by openContext (store/context.ts) once the state has been
// read, so that a call refused there (a data dir of the other process layer) prints and writes nothing.
let noteDue: string | undefined;

function noteNoCache(dataDir: string): void {
  const file = path.join(dataDir, NO_CACHE_NOTE_FILE);
  try {
    if (fs.readFileSync(file, 'latin1') === NOTE_MARK) return;
  } catch {
    /* not shown yet */
  }
  noteDue = dataDir;
}

/** Whether the no-cache note waits for showNoCacheNote. */
export function noCacheNoteDue(): boolean {
  return noteDue !== undefined;
}

/** The note, once per data dir: on stderr, and its mark file written. */
export function showNoCacheNote(): void {
  const dataDir = noteDue;
  if (dataDir === undefined) return;
  noteDue = undefined;
  const file = path.join(dataDir, NO_CACHE_NOTE_FILE);
  process.stderr.write(
    'note: no key cache here (the portable process layer keeps none: macOS has no memory-backed folder for it), so each call derives the key from BG_PASSWORD (about 0.1-0.3 s); this note is shown once.\n',
  );
  const tmp = path.join(dataDir, `.${NO_CACHE_NOTE_FILE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    fs.writeFileSync(tmp, NOTE_MARK, { mode: 0o600, flag: 'wx' });
    fs.renameSync(tmp, file);
  } catch {
    fs.rmSync(tmp, { force: true }); // the note shows again next time
  }
}

// PBKDF2 at 10,000 iterations (a few ms; the Python skill's whole KDF): not the data's 600,000,
// but an entry left on tmpfs is then no HMAC-speed target for guessing the password.
const ENTRY_ITERATIONS = 10_000;

function entryKeys(password: string, salt: Buffer): SubKeys {
  const k = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, ENTRY_ITERATIONS, KEY_BYTES, 'sha256');
  return {
    enc: hkdf(k, 'background-manager key cache encryption'),
    mac: hkdf(k, 'background-manager key cache authentication'),
    control: Buffer.alloc(0),
  };
}

// What an entry is bound to: this data dir, and the key in its key.json: the KDF parameters
// and the wrapped key (a new password, salt or key changes them). Not the whole file, which
// may also carry what changes with every state write (the state generation).
function aadOf(dataDir: string, keyFileRaw: Uint8Array): Buffer {
  let identity: string;
  try {
    const k = JSON.parse(Buffer.from(keyFileRaw).toString('utf8')) as {
      version?: unknown;
      kdf?: unknown;
      wrappedKey?: unknown;
    };
    identity = JSON.stringify([k.version, k.kdf, k.wrappedKey]);
  } catch {
    identity = Buffer.from(keyFileRaw).toString('base64');
  }
  const keyId = createHash('sha256').update(identity).digest('hex');
  return Buffer.from(`${FORMAT} v1|${path.resolve(dataDir)}|${keyId}`, 'utf8');
}

/**
 * Why the cache folder may not be used, or undefined when it may: it must be ours, 0700, a real
 * folder (no symlink), on tmpfs or ramfs. With `make`, a missing folder is created.
 */
export function unsafeCacheDir(dir: string, make: boolean): string | undefined {
  try {
    const type = fs.statfsSync(path.dirname(dir)).type;
    if (type !== TMPFS_MAGIC && type !== RAMFS_MAGIC) return 'not on memory-backed storage (tmpfs)';
  } catch {
    return 'missing';
  }
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch (err) {
    if (!isErrno(err, 'ENOENT') || !make)
      return isErrno(err, 'ENOENT') ? 'missing' : `unreadable (${(err as Error).message})`;
    try {
      fs.mkdirSync(dir, { mode: 0o700 });
    } catch (e) {
      if (!isErrno(e, 'EEXIST')) return `cannot be made (${(e as Error).message})`;
    }
    st = fs.lstatSync(dir);
  }
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (!st.isDirectory()) return 'not a folder';
  if (st.uid !== process.getuid!()) return `owned by uid ${st.uid}, not ${process.getuid!()}`;
  if ((st.mode & 0o077) !== 0) return `mode ${(st.mode & 0o777).toString(8)}, not 700`;
  const type = fs.statfsSync(dir).type; // (a mount on it)
  if (type !== TMPFS_MAGIC && type !== RAMFS_MAGIC) return 'not on memory-backed storage (tmpfs)';
  return undefined;
}

let warned = false;

function warn(dir: string, why: string): void {
  if (warned) return; // once per call
  warned = true;
  process.stderr.write(
    `note: the key cache is not used: ${dir} is ${why}. If it is yours, remove it (it is made again, 0700); else set BG_KEY_CACHE=off.\n`,
  );
}

/** Delete expired entries (every call does it: a cache that is not used soon goes away). */
function sweep(dir: string, ttlMs: number, now: number): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const f = path.join(dir, n);
    try {
      const st = fs.lstatSync(f);
      if (now - st.mtimeMs > ttlMs || !st.isFile()) fs.rmSync(f, { force: true });
    } catch {
      /* gone meanwhile */
    }
  }
}

/** The data key from a fresh entry for this data dir, key.json and password, else undefined. */
export function cachedDataKey(
  dataDir: string,
  keyFileRaw: Uint8Array,
  password: string,
  env: NodeJS.ProcessEnv = process.env,
): Buffer | undefined {
  const ttl = cacheTtl(env);
  if (ttl === 0 || !cacheKept(env)) return undefined;
  const dir = keyCacheDir(env);
  const why = unsafeCacheDir(dir, false);
  if (why === 'missing') return undefined;
  if (why) {
    warn(dir, why);
    return undefined;
  }
  const now = Date.now();
  sweep(dir, ttl * 1000, now);
  const file = keyCacheEntry(dataDir, env);
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const e = JSON.parse(raw) as Entry;
    if (e.format !== FORMAT || e.version !== 2) return undefined;
    const key = open(
      entryKeys(password, Buffer.from(e.salt, 'base64')),
      aadOf(dataDir, keyFileRaw),
      Buffer.from(e.sealed, 'base64'),
    );
    if (!key || key.length !== KEY_BYTES) return undefined; // another password or key.json: a miss
    fs.utimesSync(file, now / 1000, now / 1000); // last use: the entry lives on
    return key;
  } catch {
    return undefined;
  }
}

/** Leave the data key for the next calls (nothing happens when the cache is off or unsafe). */
export function cacheDataKey(
  dataDir: string,
  keyFileRaw: Uint8Array,
  password: string,
  dataKey: Buffer,
  env: NodeJS.ProcessEnv = process.env,
): void {
  if (cacheTtl(env) === 0) return;
  if (!cacheKept(env)) return noteNoCache(dataDir);
  const dir = keyCacheDir(env);
  const why = unsafeCacheDir(dir, true);
  if (why) {
    if (why !== 'missing') warn(dir, why);
    return;
  }
  const salt = randomBytes(16);
  const entry: Entry = {
    format: FORMAT,
    version: 2,
    salt: salt.toString('base64'),
    sealed: seal(entryKeys(password, salt), aadOf(dataDir, keyFileRaw), dataKey).toString('base64'),
  };
  const file = keyCacheEntry(dataDir, env);
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    fs.writeFileSync(tmp, JSON.stringify(entry), { mode: 0o600, flag: 'wx' });
    fs.renameSync(tmp, file);
  } catch {
    fs.rmSync(tmp, { force: true }); // a cache that cannot be written is only slower
  }
}

/** Forget this data dir's entry (change_password: the old password must not open anything). */
export function forgetDataKey(dataDir: string, env: NodeJS.ProcessEnv = process.env): void {
  if (!cacheKept(env)) return; // no cache: nothing kept
  try {
    if (unsafeCacheDir(keyCacheDir(env), false)) return; // none, or not ours to touch
    fs.rmSync(keyCacheEntry(dataDir, env), { force: true });
  } catch {
    /* nothing to forget where nothing could be kept */
  }
}
