// The write lock, and the only way to replace a file it guards. proper-lockfile takes a lock
// over once it is 15 s old (so that a crashed writer cannot block everyone), which means a
// writer that stalls that long (SIGSTOP, swap, a frozen VM, a slow disk) wakes up holding a
// lock that is no longer its own. Such a writer must never write, or it would put back a
// state read before the new holder's change (a running process would vanish). So:
//  - on taking the lock, the holder writes its own random token to `<file>.lock-owner`, then
//    deletes every pending temp file of the files it guards (those of writers that lost the
//    lock), before it reads anything;
//  - replace() writes its temp file, then checks that the token is still its own and that the
//    target still holds the bytes it read (the generation it changed), and only then renames.
//    A writer that stalls after that check (even inside rename()) finds its temp file deleted
//    by the next holder and gets ENOENT: it cannot rename an old state over a newer one.
// A writer that lost the lock gets LockLostError (exit 7); StateStore.update retries on fresh
// state.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { BgError, isErrno } from '../errors.ts';
import { fsyncDir, storageError, writeTempBeside } from './fsutil.ts';

export const STALE_MS = 15_000;
export const OWNER_SUFFIX = '.lock-owner';

// proper-lockfile's lock is a folder; make it 0700 like every folder we create.
const lockFs = {
  ...fs,
  mkdir: (p: string, cb: (err: NodeJS.ErrnoException | null) => void) => fs.mkdir(p, { mode: 0o700 }, cb),
};

/** A writer found, right before replacing a file, that another call had taken its lock over. */
export class LockLostError extends BgError {
  constructor(file: string, why: string) {
    super(
      'STORAGE',
      `${file} was not written: this call stalled for longer than the lock's ${STALE_MS / 1000} s and another call took the lock over (${why}). Nothing was lost; run it again.`,
    );
  }
}

export interface HeldLock {
  /**
   * Replace `target` (a file in the lock's folder) with `data`, atomically, if this call still
   * holds the lock and `unchanged()` (when given) still holds; else LockLostError.
   */
  replace(target: string, data: Uint8Array, unchanged?: () => boolean): void;
}

// The temp file of a replace: `.<name>.<pid>.<8 hex>.tmp` beside it (docs/FORMAT.md).
// Delete the pending temp files of `names` in `dir`: those of writers that lost the lock, or crashed.
function sweepTempFiles(dir: string, names: string[]): void {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch (err) {
    throw storageError(dir, err);
  }
  for (const e of entries) {
    const m = /^\.(.+)\.\d+\.[0-9a-f]{8}\.tmp$/.exec(e);
    if (m && names.includes(m[1]!)) fs.rmSync(path.join(dir, e), { force: true });
  }
}

// After a failed write of our token: remove the owner file if what it holds is ours (nothing,
// or a part of our token) and say whether the lock is still ours. Another holder's token means
// we stalled past the stale time inside the write: the file and the lock are that holder's.
function dropUnwrittenToken(ownerFile: string, token: string): boolean {
  let text: string;
  try {
    text = fs.readFileSync(ownerFile, 'utf8');
  } catch {
    return true; // never created: the lock is ours, with no token to remove
  }
  if (!token.startsWith(text)) return false;
  fs.rmSync(ownerFile, { force: true });
  return true;
}

/**
 * Run `fn` holding the proper-lockfile lock of `file` (a `<file>.lock` folder). A lock older
 * than 15 s is taken over; a waiter retries for about 20 s before giving up. `guards` names
 * other files of the same folder that are replaced only under this lock.
 */
export async function withLock<T>(
  file: string,
  fn: (lock: HeldLock) => T | Promise<T>,
  opts: { guards?: string[] } = {},
): Promise<T> {
  const dir = path.dirname(file);
  let release: () => Promise<void>;
  let compromised: string | undefined;
  try {
    // proper-lockfile retries every error; a folder that cannot be written never will be.
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (err) {
    throw storageError(dir, err);
  }
  try {
    // Loaded on first use: read-only callers (list_processes, get_logs) never pay for it.
    const { default: lockfile } = await import('proper-lockfile');
    release = await lockfile.lock(file, {
      realpath: false,
      stale: STALE_MS,
      update: 3_000,
      retries: { retries: 400, factor: 1.3, minTimeout: 5, maxTimeout: 60, randomize: true },
      fs: lockFs,
      onCompromised: (err) => {
        compromised = err.message; // checked before every replace
      },
    });
  } catch (err) {
    if (isErrno(err, 'ELOCKED')) {
      throw new BgError(
        'STORAGE',
        `${file} stayed locked by another call; try again (a lock older than 15 s is taken over).`,
        { cause: err },
      );
    }
    throw storageError(`${file}.lock`, err);
  }
  const ownerFile = file + OWNER_SUFFIX;
  const token = `${process.pid} ${randomBytes(12).toString('hex')}\n`;
  const owned = (): string | undefined => {
    if (compromised) return compromised;
    try {
      return fs.readFileSync(ownerFile, 'utf8') === token ? undefined : 'its owner token changed';
    } catch {
      return 'its owner token is gone';
    }
  };
  try {
    fs.writeFileSync(ownerFile, token, { mode: 0o600 });
  } catch (err) {
    // The lock is ours even though its token never made it to disk (a full disk creates the
    // file, then fails to write it): remove what was written and release it now, or every
    // other call would wait for a lock its holder no longer uses.
    if (!compromised && dropUnwrittenToken(ownerFile, token)) await release().catch(() => undefined);
    throw storageError(ownerFile, err);
  }
  try {
    try {
      sweepTempFiles(dir, [path.basename(file), ...(opts.guards ?? [])]);
    } catch (err) {
      throw err instanceof BgError ? err : storageError(dir, err);
    }
    const held: HeldLock = {
      replace(target, data, unchanged) {
        const tmp = writeTempBeside(target, data);
        // Last checks, right before the rename: still ours, and nobody wrote meanwhile.
        const lost = owned() ?? (unchanged && !unchanged() ? `${path.basename(target)} changed meanwhile` : undefined);
        if (lost) {
          fs.rmSync(tmp, { force: true });
          throw new LockLostError(target, lost);
        }
        try {
          fs.renameSync(tmp, target);
        } catch (err) {
          fs.rmSync(tmp, { force: true });
          // Deleted by the next holder: we stalled between the checks and the rename.
          if (isErrno(err, 'ENOENT')) throw new LockLostError(target, 'it deleted our pending write');
          throw storageError(target, err);
        }
        fsyncDir(dir);
      },
    };
    return await fn(held);
  } finally {
    // A lock we lost is another call's now: releasing it would delete that call's lock folder.
    if (!owned()) {
      fs.rmSync(ownerFile, { force: true });
      await release().catch(() => undefined);
    }
  }
}
