// The short-lived key cache (lib/store/keycache.ts, references/SECURITY.md), across separate processes.
// Whether a call ran the KDF is read from the CPU time it used, with key.json re-wrapped at
// 3,000,000 iterations (about 0.7-1 s of CPU here) so that a derivation cannot hide in noise:
// CPU time, unlike wall time, hardly moves when the machine is loaded.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, PASSWORD, makeSandbox, cleanup, figure, skip, waitFor, type Sandbox } from './helpers.ts';
import { rewrapKey, unlock } from '../skills/background-manager/scripts/lib/store/keys.ts';
import { keyCacheEntry } from '../skills/background-manager/keycache-locate.mjs';

const DIST = path.join(ROOT, 'skills/background-manager/dist');
const SLOW_ITERATIONS = 3_000_000;
const NODE_BIN = process.execPath;

interface Call {
  code: number | null;
  stdout: string;
  stderr: string;
  cpuMs: number; // user + system CPU time of the call
}

/** Run a fast-path script under bash's `time`, which reports the child's CPU time. */
function call(env: NodeJS.ProcessEnv, script: string, args: string[] = []): Promise<Call> {
  const cmd = `TIMEFORMAT='@cpu %3U %3S'; time node ${JSON.stringify(path.join(DIST, `${script}.mjs`))} ${args.map((a) => JSON.stringify(a)).join(' ')}`;
  return new Promise((resolve, reject) => {
    const c = spawn('bash', ['-c', cmd], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.on('error', reject);
    c.on('close', (code) => {
      const m = /@cpu ([\d.]+) ([\d.]+)\n?$/.exec(stderr);
      if (!m) return reject(new Error(`no CPU time in: ${stderr}`));
      resolve({ code, stdout, stderr: stderr.slice(0, m.index), cpuMs: (Number(m[1]) + Number(m[2])) * 1000 });
    });
  });
}

interface Box {
  sb: Sandbox;
  shm: string; // this test's XDG_RUNTIME_DIR, on tmpfs
  env: NodeJS.ProcessEnv;
  cacheDir: string;
  entry: string;
}

/** A data dir with a key at SLOW_ITERATIONS, and a cache folder of its own on /dev/shm. */
async function box(): Promise<Box> {
  const sb = makeSandbox();
  const shm = sb.env.XDG_RUNTIME_DIR!; // the sandbox's own, on tmpfs
  const env: NodeJS.ProcessEnv = { ...sb.env, BG_KEY_CACHE: 'off' };
  const made = await call(env, 'start_process', ['--no-pty', 'true']);
  assert.is(made.code, 0, made.stderr);
  rewrapKey(sb.env.BG_DATA_DIR!, PASSWORD, PASSWORD, { iterations: SLOW_ITERATIONS });
  delete env.BG_KEY_CACHE;
  return {
    sb,
    shm,
    env,
    cacheDir: path.join(shm, 'background-manager'),
    entry: keyCacheEntry(sb.env.BG_DATA_DIR!, env),
  };
}

function done(b: Box): void {
  cleanup(b.sb);
}

/** One derivation's CPU cost on this machine, measured beside the test (a cold call). */
async function coldCost(b: Box): Promise<number> {
  const cold = await call({ ...b.env, BG_KEY_CACHE: 'off' }, 'list_processes');
  assert.is(cold.code, 0, cold.stderr);
  return cold.cpuMs;
}

const warmEnough = (warm: number, cold: number) => warm < cold / 2;

test('a second call with the same password skips the KDF; the entry is on tmpfs, 0600 in a 0700 folder', async () => {
  const b = await box();
  try {
    const cold = await coldCost(b);
    assert.not.ok(fs.existsSync(b.entry), 'BG_KEY_CACHE=off leaves no entry');
    const first = await call(b.env, 'list_processes');
    assert.is(first.code, 0, first.stderr);
    assert.ok(fs.existsSync(b.entry), 'the first call leaves an entry');
    const second = await call(b.env, 'list_processes');
    assert.is(second.code, 0, second.stderr);
    assert.is(second.stdout, first.stdout);
    assert.ok(warmEnough(second.cpuMs, cold), `a hit costs ${second.cpuMs} ms of CPU, a derivation ${cold} ms`);
    assert.is(fs.statSync(b.cacheDir).mode & 0o777, 0o700);
    assert.is(fs.statSync(b.entry).mode & 0o777, 0o600);
    assert.is(fs.statfsSync(b.entry).type, 0x01021994, 'tmpfs');
    process.stderr.write(
      `  [figure] list_processes CPU: ${Math.round(cold)} ms with the KDF at ${SLOW_ITERATIONS} iterations, ${Math.round(second.cpuMs)} ms from the cache\n`,
    );
  } finally {
    done(b);
  }
});

test('a wrong password finds no entry that opens: the full KDF, exit 3; the entry stays for the right one', async () => {
  const b = await box();
  try {
    const cold = await coldCost(b);
    await call(b.env, 'list_processes');
    const wrong = await call({ ...b.env, BG_PASSWORD: 'not the password' }, 'list_processes');
    assert.is(wrong.code, 3, wrong.stderr);
    assert.match(wrong.stderr, /wrong BG_PASSWORD/);
    assert.ok(wrong.cpuMs > cold / 2, `a wrong password cost only ${wrong.cpuMs} ms of CPU (a derivation: ${cold})`);
    const right = await call(b.env, 'list_processes');
    assert.is(right.code, 0);
    assert.ok(warmEnough(right.cpuMs, cold), `after the wrong one, the right password still hits (${right.cpuMs} ms)`);
  } finally {
    done(b);
  }
});

test('an entry expires BG_KEY_CACHE seconds after its last use, and the next call deletes every expired one', async () => {
  const b = await box();
  try {
    const cold = await coldCost(b);
    const env = { ...b.env, BG_KEY_CACHE: '1' };
    await call(env, 'list_processes');
    const stale = path.join(b.cacheDir, '0123456789abcdef0123456789abcdef.key'); // another data dir's, long unused
    fs.writeFileSync(stale, '{}', { mode: 0o600 });
    fs.utimesSync(stale, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    const before = fs.readFileSync(b.entry, 'utf8');
    await waitFor(
      'the entry to be over a second unused',
      () => Date.now() - fs.statSync(b.entry).mtimeMs > 1_200,
      10_000,
      50,
    );
    const after = await call(env, 'list_processes');
    assert.is(after.code, 0, after.stderr);
    assert.ok(after.cpuMs > cold / 2, `an expired entry was used (${after.cpuMs} ms of CPU, a derivation ${cold})`);
    assert.is.not(fs.readFileSync(b.entry, 'utf8'), before, 'a new entry (new salt) replaced the expired one');
    assert.not.ok(fs.existsSync(stale), 'the expired entry of another data dir was deleted');
  } finally {
    done(b);
  }
});

test('BG_KEY_CACHE=off neither reads nor writes the cache; a value that means nothing is exit 2', async () => {
  const b = await box();
  try {
    const cold = await coldCost(b);
    await call(b.env, 'list_processes');
    const off = await call({ ...b.env, BG_KEY_CACHE: 'off' }, 'list_processes');
    assert.is(off.code, 0, off.stderr);
    assert.ok(off.cpuMs > cold / 2, `off, yet no derivation (${off.cpuMs} ms)`);
    const bad = await call({ ...b.env, BG_KEY_CACHE: 'ten minutes' }, 'list_processes');
    assert.is(bad.code, 2);
    assert.match(bad.stderr, /^list_processes: error: BG_KEY_CACHE="ten minutes" is not off or a number of seconds/);
  } finally {
    done(b);
  }
});

test('change_password deletes the entry; afterwards the old password is refused and the new one opens the data', async () => {
  const b = await box();
  try {
    await call(b.env, 'list_processes');
    assert.ok(fs.existsSync(b.entry));
    const changed = await call({ ...b.env, BG_NEW_PASSWORD: 'another long passphrase' }, 'change_password');
    assert.is(changed.code, 0, changed.stderr);
    assert.not.ok(fs.existsSync(b.entry), 'change_password removed the entry');
    const old = await call(b.env, 'list_processes');
    assert.is(old.code, 3, `the old password after change_password: ${old.stderr}`);
    const now = await call({ ...b.env, BG_PASSWORD: 'another long passphrase' }, 'list_processes');
    assert.is(now.code, 0, now.stderr);
  } finally {
    done(b);
  }
});

test("another data dir with the very same key.json does not open with this one's entry", async () => {
  const b = await box();
  const other = path.join(b.sb.dir, 'copy');
  try {
    const cold = await coldCost(b);
    await call(b.env, 'list_processes');
    fs.cpSync(b.sb.env.BG_DATA_DIR!, other, { recursive: true });
    const otherEnv = { ...b.env, BG_DATA_DIR: other };
    fs.copyFileSync(b.entry, keyCacheEntry(other, otherEnv)); // the entry, under the other dir's name
    const r = await call(otherEnv, 'list_processes');
    assert.is(r.code, 0, r.stderr);
    assert.ok(r.cpuMs > cold / 2, `the copied entry opened for another data dir (${r.cpuMs} ms of CPU)`);
  } finally {
    done(b);
  }
});

test('a cache folder that is not ours, not 0700, a symlink, or on disk is refused: a note, the full KDF, nothing written there', async () => {
  const b = await box();
  try {
    const cold = await coldCost(b);
    const disk = fs.mkdtempSync(path.join(os.tmpdir(), 'bgm-disk-xdg-'));
    const cases: [string, () => NodeJS.ProcessEnv, RegExp][] = [
      [
        'mode 755',
        () => (fs.mkdirSync(b.cacheDir, { mode: 0o755 }), fs.chmodSync(b.cacheDir, 0o755), b.env),
        /mode 755, not 700/,
      ],
      // (Giving a folder away takes root: as another user, this case is skipped, and says so below.)
      ...(process.getuid!() === 0
        ? [
            [
              'owned by nobody',
              () => (fs.chmodSync(b.cacheDir, 0o700), fs.chownSync(b.cacheDir, 65534, 65534), b.env),
              /owned by uid 65534/,
            ] as [string, () => NodeJS.ProcessEnv, RegExp],
          ]
        : []),
      [
        'a symlink',
        () => (fs.rmSync(b.cacheDir, { recursive: true }), fs.symlinkSync(b.shm, b.cacheDir), b.env),
        /a symbolic link/,
      ],
      ['on disk', () => ({ ...b.env, XDG_RUNTIME_DIR: disk }), /not on memory-backed storage/],
    ];
    try {
      for (const [what, arrange, why] of cases) {
        const env = arrange();
        const inside = () =>
          fs.existsSync(b.cacheDir) && fs.lstatSync(b.cacheDir).isDirectory() ? fs.readdirSync(b.cacheDir) : [];
        const listed = [...fs.readdirSync(b.shm)];
        const listedInside = inside();
        const r = await call(env, 'list_processes');
        assert.is(r.code, 0, `${what}: ${r.stderr}`);
        assert.match(r.stderr, /^note: the key cache is not used: /m, what);
        assert.match(r.stderr, why, what);
        assert.ok(r.cpuMs > cold / 2, `${what}: the cache was used (${r.cpuMs} ms)`);
        assert.equal([...fs.readdirSync(b.shm)], listed, `${what}: nothing written`);
        assert.equal(inside(), listedInside, `${what}: nothing written into the refused folder`);
        assert.is(r.stderr.match(/note: the key cache is not used/g)?.length, 1, `${what}: one note per call`);
      }
      assert.not.ok(fs.existsSync(path.join(disk, 'background-manager')), 'nothing made on disk');
      if (process.getuid!() !== 0)
        skip('the key cache folder owned by nobody: giving a folder to another user takes root');
    } finally {
      fs.rmSync(disk, { recursive: true, force: true });
    }
  } finally {
    done(b);
  }
});

/**
 * Run a fast-path script under strace -f (it, the supervisor it starts, their threads) and
 * return every file they opened for writing, created, or renamed or linked into place, and
 * every byte they wrote to a file (write, pwrite, writev, pwritev; all of it, in hex), by the
 * file's path: a file written and then removed (a temp file renamed over, say) reached the disk
 * too, and its bytes are scanned though the file is gone.
 */
function tracedWrites(
  env: NodeJS.ProcessEnv,
  script: string,
  args: string[],
): Promise<{ code: number | null; files: string[]; wrote: Map<string, Buffer[]> }> {
  const trace = path.join(os.tmpdir(), `bgm-strace-${process.pid}-${Date.now()}.txt`);
  const syscalls =
    'trace=open,openat,creat,rename,renameat,renameat2,link,linkat,write,pwrite64,writev,pwritev,pwritev2';
  return new Promise((resolve, reject) => {
    const c = spawn(
      'strace',
      [
        '-f',
        '-qq',
        '-y',
        '-xx',
        '-s',
        String(1 << 24),
        '-e',
        syscalls,
        '-e',
        'status=successful',
        '-o',
        trace,
        NODE_BIN,
        path.join(DIST, `${script}.mjs`),
        ...args,
      ],
      { env, cwd: ROOT, stdio: 'ignore' },
    );
    c.on('error', reject);
    c.on('close', (code) => {
      const files = new Set<string>();
      const wrote = new Map<string, Buffer[]>();
      // With -y a directory argument carries its path: openat(AT_FDCWD</cwd>, "file", O_WRONLY|...)
      // or openat(5</a/dir>, "name", ...); rename and link: the second path is the one written.
      const dirfd = String.raw`(?:AT_FDCWD|\d+)(?:<([^>]*)>)?`;
      const opened = /\b(?:open|creat)\("([^"]+)"(?:, ([A-Z_|]+))?/;
      const openedAt = new RegExp(String.raw`\bopenat\(${dirfd}, "([^"]+)", ([A-Z_|]+)`);
      const moved = new RegExp(
        String.raw`\b(?:rename|link)(?:at2?)?\((?:${dirfd}, )?"[^"]+", (?:${dirfd}, )?"([^"]+)"`,
      );
      // A write to a file: write(5</path/to/file>, "\x..", n); pipes and sockets have no path.
      const written = /\b(?:p?writev?\d*|pwrite64)\(\d+<(\\x2f[^>]*)>, (.*)$/;
      const writes = /O_WRONLY|O_RDWR|O_CREAT/;
      // -xx writes paths in hex too: "\x2f\x74..." is /t...
      const un = (p: string | undefined) =>
        p === undefined ? undefined : Buffer.from(p.replace(/\\x/g, ''), 'hex').toString('utf8');
      for (const line of fs.readFileSync(trace, 'utf8').split('\n')) {
        let m = opened.exec(line);
        if (m && (line.includes('creat(') || writes.test(m[2] ?? ''))) files.add(path.resolve(ROOT, un(m[1])!));
        m = openedAt.exec(line);
        if (m && writes.test(m[3]!)) files.add(path.resolve(un(m[1]) ?? ROOT, un(m[2])!));
        m = moved.exec(line);
        if (m) files.add(path.resolve(un(m[2]) ?? ROOT, un(m[3])!));
        m = written.exec(line);
        if (m) {
          // Every quoted buffer of the call (writev has several), as the bytes written.
          const bufs = [...m[2]!.matchAll(/"((?:\\x[0-9a-f]{2})*)"/g)].map((q) =>
            Buffer.from(q[1]!.replace(/\\x/g, ''), 'hex'),
          );
          const f = un(m[1])!;
          wrote.set(f, [...(wrote.get(f) ?? []), ...bufs]);
        }
      }
      fs.rmSync(trace, { force: true });
      const kept = (f: string) => !f.startsWith('/dev/') || f.startsWith('/dev/shm/');
      resolve({ code, files: [...files].filter(kept), wrote: new Map([...wrote].filter(([f]) => kept(f))) });
    });
  });
}

test('no key material in any file on persistent storage (every file a start, its supervisor and two lists write, traced), nor in the clear in the cache', async () => {
  const hasStrace = spawnSync('strace', ['-V']).status === 0;
  if (!hasStrace) return skip('the key material scan: strace is not on the PATH (apt-get install strace)');
  const b = await box();
  try {
    const written = new Set<string>();
    const bytesTo = new Map<string, Buffer[]>();
    for (const [script, args] of [
      ['start_process', ['--no-pty', 'sh', '-c', 'echo hello']],
      ['list_processes', []],
      ['list_processes', []],
    ] as const) {
      const r = await tracedWrites(b.env, script, [...args]);
      assert.is(r.code, 0, `${script} under strace`);
      for (const f of r.files) written.add(f);
      for (const [f, bufs] of r.wrote) bytesTo.set(f, [...(bytesTo.get(f) ?? []), ...bufs]);
    }
    const key = unlock(b.sb.env.BG_DATA_DIR!, PASSWORD, { create: false })!.dataKey;
    const forms = [
      key,
      Buffer.from(key.toString('base64')),
      Buffer.from(key.toString('hex')),
      Buffer.from(key.toString('base64url')),
    ];
    const files = [...written].filter((f) => fs.existsSync(f) && fs.statSync(f).isFile());
    // The scan is not empty: the state, a log and the cache entry were among the writes.
    const dataDir = b.sb.env.BG_DATA_DIR!;
    assert.ok(
      files.includes(path.join(dataDir, 'processes.json.enc')),
      `the state file was traced: ${files.join(', ')}`,
    );
    assert.ok(
      files.some((f) => f.startsWith(path.join(dataDir, 'logs') + path.sep)),
      `a log was traced: ${files.join(', ')}`,
    );
    assert.ok(files.includes(b.entry), `the cache entry was traced: ${files.join(', ')}`);
    for (const f of files) {
      const bytes = fs.readFileSync(f);
      for (const form of forms) assert.is(bytes.indexOf(form), -1, `${f} holds the data key`);
    }
    // What was written, file by file in the order written (a form cut across two writes is
    // found too), whether or not the file is still there.
    const gone = [...bytesTo.keys()].filter((f) => !fs.existsSync(f));
    figure(
      `key scan: ${files.length} files kept, ${bytesTo.size} files written to (${[...bytesTo.values()].flat().reduce((n, b) => n + b.length, 0)} bytes), ${gone.length} of them gone: ${gone.join(', ')}`,
    );
    assert.ok(
      bytesTo.has(path.join(dataDir, 'processes.json.enc')) ||
        [...bytesTo.keys()].some((f) => f.startsWith(dataDir + path.sep)),
      `writes into the data dir were traced: ${[...bytesTo.keys()].join(', ')}`,
    );
    for (const [f, bufs] of bytesTo) {
      const bytes = Buffer.concat(bufs);
      for (const form of forms) assert.is(bytes.indexOf(form), -1, `${f} was written the data key`);
    }
  } finally {
    done(b);
  }
});

test('a uid with no passwd entry (as in containers), without XDG_RUNTIME_DIR, gets the cache in /dev/shm', async () => {
  if (process.getuid!() !== 0)
    return skip('the key cache of a uid with no passwd entry: running as another uid takes root');
  const uid = 54321; // in no passwd file
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bgm-nouser-'));
  const cache = `/dev/shm/background-manager-${uid}`;
  fs.rmSync(cache, { recursive: true, force: true });
  try {
    fs.chmodSync(dir, 0o755);
    fs.mkdirSync(path.join(dir, 'data'), { mode: 0o700 });
    fs.chownSync(path.join(dir, 'data'), uid, uid);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      BG_PASSWORD: PASSWORD,
      BG_DATA_DIR: path.join(dir, 'data'),
    };
    const as = (script: string, args: string[]) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const c = spawn(
          'setpriv',
          [
            '--reuid',
            String(uid),
            '--regid',
            String(uid),
            '--clear-groups',
            NODE_BIN,
            path.join(DIST, `${script}.mjs`),
            ...args,
          ],
          { env, cwd: dir },
        );
        let out = '';
        c.stdout.on('data', (d) => (out += d));
        c.stderr.on('data', (d) => (out += d));
        c.on('close', (code) => resolve({ code, out }));
      });
    const started = await as('start_process', ['--no-pty', 'true']);
    assert.is(started.code, 0, started.out);
    const listed = await as('list_processes', []);
    assert.is(listed.code, 0, listed.out);
    assert.ok(
      fs.readdirSync(cache).some((f) => f.endsWith('.key')),
      'an entry in /dev/shm/background-manager-54321',
    );
  } finally {
    fs.rmSync(cache, { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
