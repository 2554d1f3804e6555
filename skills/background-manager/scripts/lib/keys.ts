// The key hierarchy: a random data key encrypts everything; the password only wraps it.
// key.json holds the KDF parameters and the wrapped key, so the password can change (re-wrap)
// and the iteration count can rise without touching any other file.
import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { BgError, isErrno } from './errors.ts';
import { derivePasswordKey, hkdf, KEY_BYTES, open, seal, subKeys, type SubKeys } from './crypto.ts';
import { ensureDir, fsyncDir, openNewFile, readIfExists, replaceFileAtomic, storageError, writeAll } from './fsutil.ts';

export const KEY_FILE = 'key.json';
export const DEFAULT_ITERATIONS = 600_000;
const KEY_FORMAT = 'background-manager-key' as const;
const WRAP_AAD = Buffer.from('background-manager key v1', 'utf8');

export interface KeyFileV1 {
  format: typeof KEY_FORMAT;
  version: 1;
  kdf: { algorithm: 'pbkdf2-sha256'; iterations: number; salt: string };
  wrappedKey: string; // base64 of IV | AES-256-CBC(data key) | HMAC
  checksum: string; // sha256 over the fields above: tells a damaged file from a wrong password
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

function wrapKeys(kek: Buffer): SubKeys {
  return { enc: hkdf(kek, 'background-manager key wrap encryption'), mac: hkdf(kek, 'background-manager key wrap authentication'), control: Buffer.alloc(0) };
}

function checksumOf(k: Omit<KeyFileV1, 'checksum'>): string {
  return createHash('sha256')
    .update(`${k.format}|${k.version}|${k.kdf.algorithm}|${k.kdf.iterations}|${k.kdf.salt}|${k.wrappedKey}`)
    .digest('base64');
}

export function makeKeyFile(password: string, dataKey: Buffer, iterations = DEFAULT_ITERATIONS): KeyFileV1 {
  const salt = randomBytes(16);
  const kek = derivePasswordKey(password, salt, iterations);
  const body = {
    format: KEY_FORMAT,
    version: 1 as const,
    kdf: { algorithm: 'pbkdf2-sha256' as const, iterations, salt: salt.toString('base64') },
    wrappedKey: seal(wrapKeys(kek), WRAP_AAD, dataKey).toString('base64'),
  };
  return { ...body, checksum: checksumOf(body) };
}

function parseKeyFile(file: string, raw: Buffer): KeyFileV1 {
  const damaged = (why: string) =>
    new BgError('DAMAGED', `${file} is damaged (${why}). Restore it from a backup; without it the data cannot be decrypted.`);
  let k: KeyFileV1;
  try {
    k = JSON.parse(raw.toString('utf8'));
  } catch {
    throw damaged('not valid JSON');
  }
  if (k?.format !== KEY_FORMAT || k.version !== 1 || k.kdf?.algorithm !== 'pbkdf2-sha256') throw damaged('unknown format');
  if (!Number.isInteger(k.kdf.iterations) || k.kdf.iterations < 1) throw damaged('bad iteration count');
  if (checksumOf(k) !== k.checksum) throw damaged('checksum mismatch');
  return k;
}

export function unwrapKeyFile(file: string, k: KeyFileV1, password: string): Buffer {
  const kek = derivePasswordKey(password, Buffer.from(k.kdf.salt, 'base64'), k.kdf.iterations);
  const dataKey = open(wrapKeys(kek), WRAP_AAD, Buffer.from(k.wrappedKey, 'base64'));
  if (!dataKey || dataKey.length !== KEY_BYTES) {
    throw new BgError(
      'WRONG_PASSWORD',
      `wrong BG_PASSWORD: it does not open ${file}. Set BG_PASSWORD to the data's current password (the one last set by change_password, else the one the first process was started with).`,
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
  const log = names.find((n) => ours(path.join(logs, n), 'BGLOGv1\n'));
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
    const dataKey = unwrapKeyFile(file, parseKeyFile(file, raw), password);
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
  ensureDir(dataDir);
  const dataKey = randomBytes(KEY_BYTES);
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const fd = openNewFile(tmp);
    try {
      writeAll(fd, Buffer.from(JSON.stringify(makeKeyFile(password, dataKey), null, 2) + '\n'));
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
  return { dataKey, keys: subKeys(dataKey) };
}

export function noKeyToChange(file: string): BgError {
  return new BgError('NOT_FOUND', `${file} does not exist: nothing is encrypted yet, so there is no password to change.`);
}

// Re-wrap the data key under a new password; no other file changes.
export function rewrapKey(dataDir: string, oldPassword: string, newPassword: string, iterations?: number): void {
  const file = path.join(dataDir, KEY_FILE);
  const raw = readIfExists(file);
  if (!raw) throw noKeyToChange(file);
  const k = parseKeyFile(file, raw);
  const dataKey = unwrapKeyFile(file, k, oldPassword);
  const next = makeKeyFile(newPassword, dataKey, iterations ?? k.kdf.iterations);
  replaceFileAtomic(file, Buffer.from(JSON.stringify(next, null, 2) + '\n'));
}
