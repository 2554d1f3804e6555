// The key hierarchy: a random data key encrypts everything; the password only wraps it.
// key.json holds the KDF parameters and the wrapped key, so the password can change (re-wrap)
// and the iteration count can rise without touching any other file. Its parameters are
// bounded (an altered iteration count must neither hang nor crash a call, nor read as a wrong
// password) and, from version 2 on, bound to the wrapped key (they are part of its MAC).
import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { BgError, isErrno } from '../errors.ts';
import { derivePasswordKey, hkdf, hmac, KEY_BYTES, macEqual, open, seal, subKeys, type SubKeys } from './crypto.ts';
import { cacheDataKey, cachedDataKey, forgetDataKey } from './keycache.ts';
import { ensureDir, fsyncDir, openNewFile, readIfExists, replaceFileAtomic, storageError, writeAll } from './fsutil.ts';
import type { HeldLock } from './lock.ts';
import { MAX_ITERATIONS, MIN_ITERATIONS } from '../install/fastpath.ts';

export const KEY_FILE = 'key.json';
export const DEFAULT_ITERATIONS = 600_000;
// The accepted iteration counts, MIN_ITERATIONS to MAX_ITERATIONS, are declared in
// install/fastpath.ts: the fast path's launcher reads key.json before this module loads.
const SALT_BYTES = 16;
const WRAPPED_BYTES = 96; // IV 16 | AES-256-CBC of 32 bytes (48) | MAC 32
const KEY_FORMAT = 'background-manager-key' as const;
const WRAP_AAD_V1 = Buffer.from('background-manager key v1', 'utf8');

export interface KeyFile {
  format: typeof KEY_FORMAT;
  version: 1 | 2; // 1: parameters outside the wrap's MAC (still read; rewritten as 2 by change_password)
  kdf: { algorithm: 'pbkdf2-sha256'; iterations: number; salt: string };
  wrappedKey: string; // base64 of IV | AES-256-CBC(data key) | HMAC
  checksum: string; // sha256 over the fields above: tells a damaged file from a wrong password
}

// What the wrap's MAC covers besides IV and ciphertext. Version 2 adds the KDF parameters, so
// that a key.json whose salt or iteration count was changed can never be accepted as ours.
function wrapAad(k: Pick<KeyFile, 'version' | 'kdf'>): Buffer {
  if (k.version === 1) return WRAP_AAD_V1;
  return Buffer.from(`background-manager key v2|${k.kdf.algorithm}|${k.kdf.iterations}|${k.kdf.salt}`, 'utf8');
}

export interface Unlocked {
  dataKey: Buffer;
  keys: SubKeys;
}

export function passwordFromEnv(env: NodeJS.ProcessEnv = process.env, name = 'BG_PASSWORD'): string {
  const pw = env[name];
  if (pw === undefined || pw === '') {
    throw new BgError(
      'NO_PASSWORD',
      name === 'BG_NEW_PASSWORD'
        ? `BG_NEW_PASSWORD is ${pw === undefined ? 'not set' : 'empty'}. Set it to the new password, e.g. BG_NEW_PASSWORD='another long passphrase' (BG_PASSWORD holds the current one).`
        : `${name} is ${pw === undefined ? 'not set' : 'empty'}. Set it to the password that protects the data, e.g. export ${name}='a long passphrase'.`,
    );
  }
  return pw;
}

/**
 * A password Node read from bytes that are not valid UTF-8: each bad byte became U+FFFD, so
 * other byte strings read the same and would open the same data. (A literal U+FFFD cannot be
 * told apart, and is refused with them.)
 */
export function isNotUtf8(password: string): boolean {
  return password.includes('\uFFFD');
}

/** Refuse, where a password is set (a data dir's key made, change_password), one that is not valid UTF-8. */
export function checkNewPassword(password: string, name = 'BG_NEW_PASSWORD'): void {
  if (!isNotUtf8(password)) return;
  throw new BgError(
    'NO_PASSWORD',
    `${name} must be valid UTF-8: it holds bytes that are not (or the character U+FFFD), which all read as U+FFFD, so other passwords would open the data too. Set it to valid UTF-8 text, e.g. ${name}='a long passphrase'.`,
  );
}

function wrapKeys(kek: Buffer): SubKeys {
  return {
    enc: hkdf(kek, 'background-manager key wrap encryption'),
    mac: hkdf(kek, 'background-manager key wrap authentication'),
    control: Buffer.alloc(0),
  };
}

function checksumOf(k: Omit<KeyFile, 'checksum'>): string {
  return createHash('sha256')
    .update(`${k.format}|${k.version}|${k.kdf.algorithm}|${k.kdf.iterations}|${k.kdf.salt}|${k.wrappedKey}`)
    .digest('base64');
}

export function makeKeyFile(password: string, dataKey: Buffer, iterations = DEFAULT_ITERATIONS): KeyFile {
  const salt = randomBytes(SALT_BYTES);
  const kek = derivePasswordKey(password, salt, iterations);
  const params = {
    format: KEY_FORMAT,
    version: 2 as const,
    kdf: { algorithm: 'pbkdf2-sha256' as const, iterations, salt: salt.toString('base64') },
  };
  const body = { ...params, wrappedKey: seal(wrapKeys(kek), wrapAad(params), dataKey).toString('base64') };
  return { ...body, checksum: checksumOf(body) };
}

// base64 that decodes to exactly `n` bytes and is written the one way Node writes it.
function isBase64Of(text: unknown, n: number): boolean {
  return (
    typeof text === 'string' &&
    Buffer.from(text, 'base64').length === n &&
    Buffer.from(text, 'base64').toString('base64') === text
  );
}

function parseKeyFile(file: string, raw: Buffer): KeyFile {
  const damaged = (why: string) =>
    new BgError(
      'DAMAGED',
      `${file} is damaged (${why}). Restore it from a backup; without it the data cannot be decrypted.`,
    );
  const altered = (why: string) =>
    new BgError(
      'DAMAGED',
      `${file} was altered: ${why}, which background-manager never writes. Restore key.json from a backup; without it the data cannot be decrypted.`,
    );
  let k: KeyFile;
  try {
    k = JSON.parse(raw.toString('utf8'));
  } catch {
    throw damaged('not valid JSON');
  }
  if (k?.format !== KEY_FORMAT || (k.version !== 1 && k.version !== 2) || k.kdf?.algorithm !== 'pbkdf2-sha256')
    throw damaged('unknown format');
  if (!Number.isInteger(k.kdf.iterations) || k.kdf.iterations < 1) throw damaged('bad iteration count');
  if (checksumOf(k) !== k.checksum) throw damaged('checksum mismatch');
  // The checksum is no secret: a hostile edit recomputes it. Refuse what we never write.
  const n = k.kdf.iterations;
  if (n < MIN_ITERATIONS || n > MAX_ITERATIONS) {
    throw altered(
      `its kdf.iterations ${n} is outside ${MIN_ITERATIONS.toLocaleString('en-US')} to ${MAX_ITERATIONS.toLocaleString('en-US')}`,
    );
  }
  if (!isBase64Of(k.kdf.salt, SALT_BYTES)) throw altered(`its kdf.salt is not ${SALT_BYTES} bytes of base64`);
  if (!isBase64Of(k.wrappedKey, WRAPPED_BYTES)) throw altered(`its wrappedKey is not ${WRAPPED_BYTES} bytes of base64`);
  return k;
}

export function unwrapKeyFile(file: string, k: KeyFile, password: string): Buffer {
  const kek = derivePasswordKey(password, Buffer.from(k.kdf.salt, 'base64'), k.kdf.iterations);
  const dataKey = open(wrapKeys(kek), wrapAad(k), Buffer.from(k.wrappedKey, 'base64'));
  if (!dataKey || dataKey.length !== KEY_BYTES) {
    throw new BgError(
      'WRONG_PASSWORD',
      `wrong BG_PASSWORD: it does not open ${file}. Set BG_PASSWORD to the data's current password (the one last set by change_password, else the one the first process was started with). If it is right, key.json's salt or wrapped key was changed: restore key.json from a backup.`,
    );
  }
  return dataKey;
}

// Our encrypted files in a data dir that has no key.json: the state file or any log. The
// Python skill's files (openssl's `Salted__`) need no key.json and do not count.
function dataWithoutKey(dataDir: string): string | undefined {
  const ours = (file: string, magic: string) => readHead(file, magic.length) === magic;
  const state = path.join(dataDir, 'processes.json.enc');
  if (ours(state, 'BGSTATE1')) return state;
  const logs = path.join(dataDir, 'logs');
  let names: string[] = [];
  try {
    names = fs.readdirSync(logs);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw storageError(logs, err);
  }
  // Either log format: before the chain (BGLOGv1) and since (BGLOGv2, lib/log/format/logfile.ts).
  const log = names.find((n) => ours(path.join(logs, n), 'BGLOGv1\n') || ours(path.join(logs, n), 'BGLOGv2\n'));
  return log ? `${logs}/ (${log}, ...)` : undefined;
}

// The first `n` bytes of a file as Latin-1, or '' when it cannot be read.
function readHead(file: string, n: number): string {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return '';
  }
  try {
    const buf = Buffer.alloc(n);
    return buf.subarray(0, fs.readSync(fd, buf, 0, n, 0)).toString('latin1');
  } catch {
    return '';
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Unlock the data dir's key with the password (one PBKDF2 derivation). Without a key file,
 * returns undefined, or with `create` makes one; concurrent creators agree on one winner.
 */
export function unlock(dataDir: string, password: string, opts: { create: boolean }): Unlocked | undefined {
  const file = path.join(dataDir, KEY_FILE);
  const raw = readIfExists(file);
  if (raw) {
    const k = parseKeyFile(file, raw); // its checks hold on a cache hit too
    const cached = quietly(() => cachedDataKey(dataDir, raw, password));
    if (cached) return { dataKey: cached, keys: subKeys(cached) };
    const dataKey = unwrapKeyFile(file, k, password);
    quietly(() => cacheDataKey(dataDir, raw, password, dataKey));
    return { dataKey, keys: subKeys(dataKey) };
  }
  if (!opts.create) return undefined;
  const orphaned = dataWithoutKey(dataDir);
  if (orphaned) {
    throw new BgError(
      'DAMAGED',
      `${file} is missing, but ${orphaned} holds data encrypted under the key it held. Restore key.json from a backup: a new key could not open that data, so none was made. Nothing was changed.`,
    );
  }
  checkNewPassword(password, 'BG_PASSWORD');
  ensureDir(dataDir);
  const dataKey = randomBytes(KEY_BYTES);
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const text = Buffer.from(`${JSON.stringify(makeKeyFile(password, dataKey), null, 2)}\n`);
  try {
    const fd = openNewFile(tmp);
    try {
      writeAll(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.linkSync(tmp, file); // fails with EEXIST if another process created the key first
    fsyncDir(dataDir);
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return unlock(dataDir, password, { create: false });
    throw err instanceof BgError ? err : storageError(file, err);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  quietly(() => cacheDataKey(dataDir, text, password, dataKey));
  return { dataKey, keys: subKeys(dataKey) };
}

// The key cache can only make a call faster: whatever goes wrong in it (a usage error in
// BG_KEY_CACHE aside, which openContext reports first) means no cache, never a failed call.
function quietly<T>(use: () => T): T | undefined {
  try {
    return use();
  } catch (err) {
    if (err instanceof BgError && err.code === 'USAGE') throw err;
    return undefined;
  }
}

export function noKeyToChange(file: string): BgError {
  return new BgError(
    'NOT_FOUND',
    `${file} does not exist: nothing is encrypted yet, so there is no password to change.`,
  );
}

// Re-wrap the data key under a new password (as version 2); no other file changes. Under
// `lock` (the state lock, which also guards key.json) the file is replaced only while the lock
// is ours. What key.json vouches for besides the key (the state generation) is kept.
export function rewrapKey(
  dataDir: string,
  oldPassword: string,
  newPassword: string,
  opts: { iterations?: number; lock?: HeldLock } = {},
): void {
  checkNewPassword(newPassword);
  const file = path.join(dataDir, KEY_FILE);
  const raw = readIfExists(file);
  if (!raw) throw noKeyToChange(file);
  const k = parseKeyFile(file, raw);
  const dataKey = unwrapKeyFile(file, k, oldPassword);
  const { state } = JSON.parse(raw.toString('utf8')) as { state?: unknown };
  const next = {
    ...makeKeyFile(newPassword, dataKey, opts.iterations ?? k.kdf.iterations),
    ...(state === undefined ? {} : { state }),
  };
  const bytes = Buffer.from(`${JSON.stringify(next, null, 2)}\n`);
  if (opts.lock) opts.lock.replace(file, bytes, () => !!readIfExists(file)?.equals(raw));
  else replaceFileAtomic(file, bytes);
  quietly(() => forgetDataKey(dataDir)); // bound to the old key.json anyway; gone at once all the same
}

// --- The state generation key.json vouches for -------------------------------------------
// Every state write raises processes.json.enc's generation; key.json then records the new one
// under a MAC of the data key (`"state": {"generation", "mac"}`). A state file older than that
// (restored from a backup, put back by someone) is reported rather than trusted: processes
// started since would vanish from it. Rolling key.json back with it is not detected.

const GENERATION_AAD = Buffer.from('bgstate generation', 'utf8');

function generationMac(keys: SubKeys, generation: number): string {
  const n = Buffer.alloc(8);
  n.writeBigUInt64BE(BigInt(generation));
  return hmac(keys.mac, GENERATION_AAD, n).toString('base64');
}

export interface StateFloor {
  generation: number; // 0: key.json vouches for none (absent, or written before generations)
  raw?: Buffer; // key.json's bytes as read
}

/** The state generation key.json vouches for; a record that fails its MAC is damage. */
export function readStateFloor(dataDir: string, keys: SubKeys): StateFloor {
  const file = path.join(dataDir, KEY_FILE);
  const raw = readIfExists(file);
  if (!raw) return { generation: 0 };
  let state: { generation?: unknown; mac?: unknown } | undefined;
  try {
    state = (JSON.parse(raw.toString('utf8')) as { state?: typeof state }).state;
  } catch {
    return { generation: 0, raw }; // reported by unlock(), which reads it first
  }
  if (state === undefined) return { generation: 0, raw };
  const g = state?.generation;
  if (
    typeof g !== 'number' ||
    !Number.isSafeInteger(g) ||
    g < 0 ||
    typeof state.mac !== 'string' ||
    !macEqual(Buffer.from(state.mac, 'base64'), Buffer.from(generationMac(keys, g), 'base64'))
  ) {
    throw new BgError(
      'DAMAGED',
      `${file}'s "state" entry (the state generation it vouches for) failed its check: it was altered or written under another key. Restore key.json from a backup, or delete its "state" entry to trust processes.json.enc as it is.`,
    );
  }
  return { generation: g, raw };
}

/** key.json's bytes `raw` with the state generation set to `generation` (all else kept). */
export function withStateFloor(raw: Buffer, keys: SubKeys, generation: number): Buffer {
  const k = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  k.state = { generation, mac: generationMac(keys, generation) };
  return Buffer.from(`${JSON.stringify(k, null, 2)}\n`);
}
