// The checkout a folder is in, read from git's files (lib/util/git.ts): written here by hand as
// git lays them out (tests/provenance.test.ts makes them with git itself), and hostile ones:
// huge, a FIFO, a symlink loop, a gitdir or ref pointing anywhere. None may throw or hang.
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import {
  headCommit,
  provenanceOf,
  readCheckout,
  UNKNOWN,
} from '../../skills/background-manager/scripts/lib/util/git.ts';

const test = suite('util/git');

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(64); // a SHA-256 repository's

let tmp = '';
test.before.each(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'bgm-git-')));
});
test.after.each(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Write `files` (path relative to `root` -> content) and return `root`. */
function lay(root: string, files: Record<string, string>): string {
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    fs.writeFileSync(path.join(root, f), text);
  }
  fs.mkdirSync(root, { recursive: true });
  return root;
}

test('a main checkout: branch and commit from a loose ref, from a subfolder too', () => {
  const repo = lay(path.join(tmp, 'repo'), {
    '.git/HEAD': 'ref: refs/heads/main\n',
    '.git/refs/heads/main': `${A}\n`,
    'src/app/x.js': '',
  });
  assert.equal(readCheckout(repo), { worktree: repo, branch: 'main', commit: A });
  assert.equal(readCheckout(path.join(repo, 'src/app')), { worktree: repo, branch: 'main', commit: A });
  assert.is(headCommit(repo), A);
});

test('packed refs: the ref line, not its peeled line or a longer name', () => {
  const repo = lay(path.join(tmp, 'repo'), {
    '.git/HEAD': 'ref: refs/heads/feature/x\n',
    '.git/packed-refs': `# pack-refs with: peeled fully-peeled sorted \n${B} refs/heads/feature/x-old\n${A} refs/heads/feature/x\n^${B}\n${C} refs/tags/v1\n`,
  });
  assert.equal(readCheckout(repo), { worktree: repo, branch: 'feature/x', commit: A });
  fs.writeFileSync(path.join(repo, '.git/HEAD'), 'ref: refs/tags/v1');
  assert.equal(readCheckout(repo), { worktree: repo, branch: 'refs/tags/v1', commit: C });
});

test('a loose ref wins over packed-refs; a symbolic ref is followed', () => {
  const repo = lay(path.join(tmp, 'repo'), {
    '.git/HEAD': 'ref: refs/heads/alias\n',
    '.git/refs/heads/alias': 'ref: refs/heads/main\n',
    '.git/refs/heads/main': `${B}\n`,
    '.git/packed-refs': `${A} refs/heads/main\n`,
  });
  assert.equal(readCheckout(repo), { worktree: repo, branch: 'alias', commit: B });
});

test('detached HEAD: branch null; a SHA-256 commit too', () => {
  const repo = lay(path.join(tmp, 'repo'), { '.git/HEAD': `${A}\n` });
  assert.equal(readCheckout(repo), { worktree: repo, branch: null, commit: A });
  fs.writeFileSync(path.join(repo, '.git/HEAD'), C);
  assert.equal(readCheckout(repo), { worktree: repo, branch: null, commit: C });
});

test('a linked worktree: `.git` file, its own HEAD, branches in the common folder (commondir)', () => {
  const main = lay(path.join(tmp, 'main'), {
    '.git/HEAD': 'ref: refs/heads/main\n',
    '.git/refs/heads/main': `${A}\n`,
    '.git/packed-refs': `${B} refs/heads/topic\n`,
    '.git/worktrees/wt/HEAD': 'ref: refs/heads/topic\n',
    '.git/worktrees/wt/commondir': '../..\n',
    '.git/worktrees/wt/refs/bisect/bad': `${A}\n`,
  });
  const wt = lay(path.join(tmp, 'wt'), { '.git': `gitdir: ${main}/.git/worktrees/wt\n` });
  assert.equal(readCheckout(wt), { worktree: wt, branch: 'topic', commit: B });
  // A per-worktree ref is read from the worktree's own git folder.
  fs.writeFileSync(path.join(main, '.git/worktrees/wt/HEAD'), 'ref: refs/bisect/bad\n');
  assert.equal(readCheckout(wt)?.commit, A);
  // A submodule: a relative gitdir, no commondir.
  const sub = lay(path.join(main, 'lib/sub'), { '.git': 'gitdir: ../../.git/modules/sub\n' });
  lay(main, { '.git/modules/sub/HEAD': `${B}\n` });
  assert.equal(readCheckout(sub), { worktree: sub, branch: null, commit: B });
});

test('outside git: no checkout; the provenance keeps the folder', () => {
  const dir = lay(path.join(tmp, 'plain'), {});
  // Only if no folder above the temp dir holds a .git (true on any sane machine).
  if (readCheckout(tmp) !== undefined) throw new Error(`${tmp} is inside a git checkout`);
  assert.is(readCheckout(dir), undefined);
  assert.equal(provenanceOf(dir), { folder: dir, git: null });
});

test('unborn branch, reftable, odd HEAD: unknown, with the worktree known', () => {
  const repo = lay(path.join(tmp, 'repo'), { '.git/HEAD': 'ref: refs/heads/main\n' });
  assert.equal(readCheckout(repo), { worktree: repo, branch: 'main', commit: UNKNOWN });
  fs.writeFileSync(path.join(repo, '.git/HEAD'), 'ref: refs/heads/.invalid\n');
  assert.equal(readCheckout(repo), { worktree: repo, branch: UNKNOWN, commit: UNKNOWN });
  for (const odd of ['', 'hello\n', `${A.slice(1)}\n`, 'ref: HEAD\n', 'ref: refs/heads/a b\n', '\0\0\0']) {
    fs.writeFileSync(path.join(repo, '.git/HEAD'), odd);
    assert.equal(readCheckout(repo), { worktree: repo, branch: UNKNOWN, commit: UNKNOWN }, JSON.stringify(odd));
  }
});

test('hostile: a ref or gitdir that climbs out, a huge file, a FIFO, a symlink loop, a device', () => {
  const unknown = (worktree: string) => ({ worktree, branch: UNKNOWN, commit: UNKNOWN });
  const outside = lay(path.join(tmp, 'outside'), { secret: `${A}\n` });
  // A ref that climbs out of the git folder is refused, not read.
  const climb = lay(path.join(tmp, 'climb'), { '.git/HEAD': 'ref: refs/../../outside/secret\n' });
  assert.equal(readCheckout(climb), unknown(climb));
  lay(climb, { '.git/HEAD': 'ref: refs/heads/x\n', '.git/refs/heads/x': 'ref: refs/heads/x\n' }); // a ref loop
  assert.equal(readCheckout(climb), { worktree: climb, branch: 'x', commit: UNKNOWN });
  // A gitdir pointing anywhere: a device, a missing folder, /proc, the folder itself.
  const anywhere = lay(path.join(tmp, 'anywhere'), {});
  for (const target of ['/dev/zero', '/dev/null', path.join(tmp, 'missing'), '/proc/self', anywhere, outside]) {
    fs.writeFileSync(path.join(anywhere, '.git'), `gitdir: ${target}\n`);
    assert.equal(readCheckout(anywhere), unknown(anywhere), target);
  }
  // A huge .git file and a huge HEAD: not read past the limit.
  const huge = lay(path.join(tmp, 'huge'), {});
  const big = path.join(huge, '.git');
  fs.writeFileSync(big, `gitdir: ${'x'.repeat(1 << 20)}\n`);
  assert.equal(readCheckout(huge), unknown(huge));
  fs.rmSync(big);
  lay(huge, { '.git/HEAD': `ref: refs/heads/${'y'.repeat(1 << 20)}\n` });
  assert.equal(readCheckout(huge), unknown(huge));
  // A sparse packed-refs of 1 TiB (as the size says): not read at all.
  lay(huge, { '.git/HEAD': 'ref: refs/heads/main\n' });
  fs.truncateSync(path.join(huge, '.git/HEAD'), 20);
  const packed = path.join(huge, '.git/packed-refs');
  fs.writeFileSync(packed, '');
  fs.truncateSync(packed, 2 ** 40);
  assert.equal(readCheckout(huge), { worktree: huge, branch: 'main', commit: UNKNOWN });
  // A FIFO as HEAD, as .git, as a ref: no writer ever comes; nothing waits for one.
  const fifo = lay(path.join(tmp, 'fifo'), { '.git/refs/heads/main': '' });
  execFileSync('mkfifo', [path.join(fifo, '.git/HEAD')]);
  assert.equal(readCheckout(fifo), unknown(fifo));
  fs.rmSync(path.join(fifo, '.git/HEAD'));
  fs.writeFileSync(path.join(fifo, '.git/HEAD'), 'ref: refs/heads/main\n');
  fs.rmSync(path.join(fifo, '.git/refs/heads/main'));
  execFileSync('mkfifo', [path.join(fifo, '.git/refs/heads/main')]);
  assert.equal(readCheckout(fifo), { worktree: fifo, branch: 'main', commit: UNKNOWN });
  const fifoFile = lay(path.join(tmp, 'fifo2'), {});
  execFileSync('mkfifo', [path.join(fifoFile, '.git')]);
  assert.equal(readCheckout(fifoFile), unknown(fifoFile));
  // A symlink loop as .git, and as HEAD.
  const loop = lay(path.join(tmp, 'loop'), {});
  fs.symlinkSync('.git', path.join(loop, '.git'));
  assert.equal(readCheckout(loop), unknown(loop));
  const loop2 = lay(path.join(tmp, 'loop2'), { '.git/refs/x': '' });
  fs.symlinkSync('HEAD', path.join(loop2, '.git/HEAD'));
  assert.equal(readCheckout(loop2), unknown(loop2));
  // /dev/stdin-like: a character device as HEAD.
  const dev = lay(path.join(tmp, 'dev'), { '.git/x': '' });
  fs.symlinkSync('/dev/zero', path.join(dev, '.git/HEAD'));
  assert.equal(readCheckout(dev), unknown(dev));
});

test.run();
