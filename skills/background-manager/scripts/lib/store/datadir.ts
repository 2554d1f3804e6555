// Whose data dir is it? Encryption keeps other users from reading the data, not from deleting
// or replacing it: whoever can write the data dir (or its logs/) can move key.json away, put an
// old state back, or delete logs. So a data dir (or logs/) that another user owns, or that
// group or others can write, is refused with the fix; one of ours that others can merely read
// is tightened to 0700, as it would have been made.
import fs from 'node:fs';
import path from 'node:path';
import { BgError, isErrno } from '../errors.ts';
import { DIR_MODE, storageError } from './fsutil.ts';
import { KEY_FILE } from './keys.ts';

// A user's name from /etc/passwd, or undefined.
function nameOf(uid: number): string | undefined {
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length > 2 && Number(f[2]) === uid) return f[0];
    }
  } catch {
    /* no passwd file: the number will do */
  }
  return undefined;
}

// "nobody (uid 65534)", or "uid 65534" for a user without a name.
function userText(uid: number): string {
  const name = nameOf(uid);
  return name ? `${name} (uid ${uid})` : `uid ${uid}`;
}

function modeText(mode: number): string {
  return `0${(mode & 0o7777).toString(8)}`;
}

// Check one folder; `what` names it in messages; `ours` allows tightening it.
function checkFolder(dir: string, what: string, ours: (dir: string) => boolean): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return; // made 0700 on first use (fsutil.ensureDir)
    throw storageError(dir, err);
  }
  if (!st.isDirectory()) return; // reported where it is used
  const me = process.getuid?.();
  if (me === undefined) return; // not POSIX: no owners to compare
  if (st.uid !== me) {
    throw new BgError(
      'STORAGE',
      `${what} ${dir} belongs to ${userText(st.uid)}, and you are ${userText(me)}: its owner could replace key.json or the state. Use a folder of your own (set BG_DATA_DIR), or if it is yours: chown -R ${nameOf(me) ?? me} ${dir}`,
    );
  }
  if (st.mode & 0o022) {
    const who = st.mode & 0o002 ? 'every local user' : 'its group';
    throw new BgError(
      'STORAGE',
      `${what} ${dir} can be written by ${who} (mode ${modeText(st.mode)}): another user could move key.json away or put an old state back. Fix: chmod 700 ${dir}`,
    );
  }
  if (st.mode & 0o077 && ours(dir)) {
    try {
      fs.chmodSync(dir, DIR_MODE);
    } catch (err) {
      throw storageError(dir, err);
    }
  }
}

/** Refuse a data dir (or its logs/) that is not safely ours; tighten ours to 0700. */
export function checkDataDir(dataDir: string): void {
  checkFolder(dataDir, 'data dir', (d) => fs.existsSync(path.join(d, KEY_FILE)));
  checkFolder(path.join(dataDir, 'logs'), "the data dir's logs folder", () => true);
}
