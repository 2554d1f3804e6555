// File helpers that keep the on-disk promises: files 0600 and folders 0700 whatever the
// umask, and whole-file replacement that is atomic and durable (temp, fsync, rename).
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { BgError, isErrno } from '../errors.ts';

export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

// mkdir -p with 0700 on every folder we create; an existing non-folder is a clear error.
export function ensureDir(dir: string): void {
  try {
    const st = fs.statSync(dir);
    if (!st.isDirectory()) {
      throw new BgError('STORAGE', `${dir} is not a folder. Remove it or point BG_DATA_DIR at a folder.`);
    }
    return;
  } catch (err) {
    if (err instanceof BgError) throw err;
    if (!isErrno(err, 'ENOENT')) throw storageError(dir, err);
  }
  ensureDir(path.dirname(dir));
  try {
    fs.mkdirSync(dir, { mode: DIR_MODE });
  } catch (err) {
    if (!isErrno(err, 'EEXIST')) throw storageError(dir, err);
  }
  fs.chmodSync(dir, DIR_MODE);
}

export function storageError(file: string, err: unknown): BgError {
  const code = (err as NodeJS.ErrnoException)?.code ?? 'error';
  const hint =
    code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
      ? 'Make it writable, or set BG_DATA_DIR to a folder you can write.'
      : code === 'ENOTDIR'
        ? 'A path component is a file, not a folder; point BG_DATA_DIR at a folder.'
        : code === 'ENOSPC'
          ? 'The disk is full; free some space.'
          : 'Check the path and its permissions.';
  return new BgError('STORAGE', `cannot use ${file} (${code}). ${hint}`, { cause: err });
}

// Open a new file exclusively with mode 0600 (fchmod undoes a restrictive umask).
export function openNewFile(file: string): number {
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, FILE_MODE);
  fs.fchmodSync(fd, FILE_MODE);
  return fd;
}

export function writeAll(fd: number, buf: Uint8Array, position?: number): void {
  let off = 0;
  while (off < buf.length) {
    off += fs.writeSync(fd, buf, off, buf.length - off, position === undefined ? null : position + off);
  }
}

/**
 * Write `data` to a new temp file beside `file` (`.<name>.<pid>.<8 hex>.tmp`) and fsync it;
 * returns its path. The caller renames it over `file` (and removes it if it does not).
 */
export function writeTempBeside(file: string, data: Uint8Array): string {
  const tmp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  let fd: number | undefined;
  try {
    fd = openNewFile(tmp);
    writeAll(fd, data);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
  } catch (err) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw storageError(file, err);
  }
  return tmp;
}

// Replace `file` with `data` atomically: a reader sees the old or the new bytes, never a mix.
export function replaceFileAtomic(file: string, data: Uint8Array): void {
  const tmp = writeTempBeside(file, data);
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw storageError(file, err);
  }
  fsyncDir(path.dirname(file));
}

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

// Read a whole file, or undefined when it does not exist.
export function readIfExists(file: string): Buffer | undefined {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw storageError(file, err);
  }
}
