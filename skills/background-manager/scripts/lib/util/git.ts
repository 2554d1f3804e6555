// Which git checkout a folder is in, read from the files git keeps (no `git` spawned): the
// worktree root (the nearest folder holding `.git`), its branch and its commit. `.git` is a
// folder (a main checkout), or a file `gitdir: <path>` (a linked worktree, a submodule);
// HEAD is `ref: refs/heads/<branch>` or a commit (detached); a ref is a loose file (in the
// worktree's own git folder for per-worktree refs, else in the common folder a linked
// worktree's `commondir` names), else a line of `packed-refs`.
//
// Every read is bounded and refuses what is not a regular file (a FIFO would block the open,
// a device never ends), so a hostile or broken `.git` (huge, a symlink loop, a gitdir pointing
// anywhere) costs a few syscalls and gives "unknown", never an error or a hang. What it does
// not read: the reftable ref store (git 2.45+, `extensions.refStorage`), GIT_DIR and
// GIT_WORK_TREE (a start's folder is what counts, not the caller's environment).
import fs from 'node:fs';
import path from 'node:path';

/** What a field is when the files could not be read, or held something git would not write. */
export const UNKNOWN = 'unknown';

/** The checkout a folder is in. */
export interface Checkout {
  worktree: string; // the folder holding `.git`
  branch: string | null; // refs/heads/ stripped (another ref in full); null: detached HEAD; UNKNOWN
  commit: string; // 40 (or 64, SHA-256) hex digits, or UNKNOWN
}

/** Where a process was started from: the caller's folder, and its checkout (null: not inside git). */
export interface Provenance {
  folder: string;
  git: Checkout | null;
}

const MAX_SMALL = 4096; // `.git`, HEAD, commondir, a loose ref: a few hundred bytes when git writes them
const MAX_PACKED = 16 << 20; // packed-refs: about 100 bytes a ref
const MAX_SYMREFS = 5; // a ref pointing at a ref ...
const HEX = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
// Refs live in the worktree's own git folder, not the shared one (git's worktree layout).
const PER_WORKTREE = /^refs\/(?:worktree|bisect|rewritten)\//;

/** At most `limit` bytes of a regular file; undefined if it is missing, not a regular file, or longer. */
function readBounded(file: string, limit: number): string | undefined {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO for reading would wait for a writer.
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.size > limit) return undefined;
    const buf = Buffer.allocUnsafe(Math.min(limit, Math.max(st.size, MAX_SMALL)) + 1);
    let n = 0;
    for (let got = 1; got > 0 && n < buf.length; n += got) got = fs.readSync(fd, buf, n, buf.length - n, null);
    // A full buffer: longer than the limit, or than its size said (grown meanwhile, /proc).
    return n === buf.length ? undefined : buf.toString('utf8', 0, n);
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

/** The nearest folder at or above `folder` holding `.git` (of any kind), if any: its worktree's root. */
export function findWorktree(folder: string): string | undefined {
  for (let dir = path.resolve(folder); ; ) {
    try {
      fs.lstatSync(path.join(dir, '.git'));
      return dir;
    } catch {
      /* not here */
    }
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** The worktree's git folder: `.git` itself, or where its `gitdir:` line points. */
function gitDirOf(worktree: string): string | undefined {
  const dotgit = path.join(worktree, '.git');
  let st: fs.Stats;
  try {
    st = fs.statSync(dotgit);
  } catch {
    return undefined; // a dangling link, a loop
  }
  if (st.isDirectory()) return dotgit;
  const m = /^gitdir: *([^\n]+?)\s*$/.exec(readBounded(dotgit, MAX_SMALL)?.split('\n')[0] ?? '');
  return m && !m[1]!.includes('\0') ? path.resolve(worktree, m[1]!) : undefined;
}

/** A ref name git could have written: under refs/, no empty part or one starting with `.`, no space or control. */
function isRefName(ref: string): boolean {
  if (!ref.startsWith('refs/') || /[\x00-\x20\x7f~^:?*[\\]/.test(ref)) return false;
  return ref.split('/').every((part) => part !== '' && !part.startsWith('.') && !part.endsWith('.lock'));
}

/** A ref's line in packed-refs: `<hex> <ref>`. */
function packedRef(common: string, ref: string): string | undefined {
  const text = readBounded(path.join(common, 'packed-refs'), MAX_PACKED);
  if (text === undefined) return undefined;
  const lines = `${text}\n`;
  for (let at = lines.indexOf(` ${ref}\n`); at >= 0; at = lines.indexOf(` ${ref}\n`, at + 1)) {
    const hex = lines.slice(lines.lastIndexOf('\n', at) + 1, at);
    if (HEX.test(hex)) return hex;
  }
  return undefined;
}

/** The commit a ref names: its loose file, else packed-refs, following refs to refs a few times. */
function resolveRef(gitDir: string, common: string, ref: string, depth = 0): string | undefined {
  if (!isRefName(ref) || depth > MAX_SYMREFS) return undefined;
  const loose = readBounded(path.join(PER_WORKTREE.test(ref) ? gitDir : common, ref), MAX_SMALL);
  if (loose === undefined) return packedRef(common, ref);
  const text = loose.trim();
  if (HEX.test(text)) return text;
  const sym = /^ref: *(\S+)$/.exec(text);
  return sym ? resolveRef(gitDir, common, sym[1]!, depth + 1) : undefined;
}

/** The branch and commit of the worktree rooted at `worktree` (which holds `.git`). */
function readHead(worktree: string): Omit<Checkout, 'worktree'> {
  const unknown = { branch: UNKNOWN, commit: UNKNOWN };
  const gitDir = gitDirOf(worktree);
  if (!gitDir) return unknown;
  const head = readBounded(path.join(gitDir, 'HEAD'), MAX_SMALL)?.trim();
  if (head === undefined) return unknown;
  if (HEX.test(head)) return { branch: null, commit: head };
  const m = /^ref: *(\S+)$/.exec(head);
  // refs/heads/.invalid: the reftable store's placeholder (its refs are not files).
  if (!m || !isRefName(m[1]!)) return unknown;
  const ref = m[1]!;
  const commondir = readBounded(path.join(gitDir, 'commondir'), MAX_SMALL)?.trim();
  const common = commondir && !commondir.includes('\0') ? path.resolve(gitDir, commondir) : gitDir;
  return {
    branch: ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : ref,
    commit: resolveRef(gitDir, common, ref) ?? UNKNOWN,
  };
}

/** The checkout `folder` is in (undefined: not inside a git worktree). Never throws. */
export function readCheckout(folder: string): Checkout | undefined {
  const worktree = findWorktree(folder);
  return worktree === undefined ? undefined : { worktree, ...readHead(worktree) };
}

/** The commit the worktree rooted at `worktree` is on now (UNKNOWN: unreadable, or no longer a worktree). */
export function headCommit(worktree: string): string {
  return readHead(worktree).commit;
}

/** Where a start comes from: `folder` and its checkout, read now. Never throws. */
export function provenanceOf(folder: string): Provenance {
  return { folder, git: readCheckout(folder) ?? null };
}
