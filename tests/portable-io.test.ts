// The portable process layer's own ways (issue 29): with BG_PLATFORM=portable nothing of ours
// goes through /proc. Control sockets are bound and reached by their short name in the data
// dir's run/ folder (a deep data dir still works), there is no key cache (a note says so once
// per data dir, and nothing is written to the cache folder), and a caller's extra fd stays open
// in the supervisor, as documented (no /proc/self/fdinfo to tell the close-on-exec flag).
// Run: npx uvu -r tsx tests 'portable-io\.test\.ts$'
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { keyCacheDir, keyCacheEntry } from '../skills/background-manager/keycache-locate.mjs';
import { NO_CACHE_NOTE_FILE } from '../skills/background-manager/scripts/lib/store/keycache.ts';
import { alive, records, ROOT, run, runCommand, start, waitFor, withSandbox, type Sandbox } from './helpers.ts';
import { fdsOf, HIGH_FD, startHoldingPipe } from './fd-helpers.ts';

const FIXTURE = path.join(ROOT, 'tests/fixtures/socket-roundtrip.ts');

/** A data dir whose sockets' absolute paths are longer than any system's socket address (104 on macOS, 108 on Linux). */
function deepDataDir(sb: Sandbox): string {
  const deep = path.join(sb.dir, 'd'.repeat(60), 'e'.repeat(60), 'data');
  assert.ok(path.join(deep, 'run', `${'0'.repeat(24)}.sock`).length > 110);
  return deep;
}

/** Run `argv` under `strace -f -e trace=bind,connect`; its exit code, stdout, and the trace. */
async function straced(argv: string[], env: NodeJS.ProcessEnv, traceFile: string) {
  const r = await runCommand(
    'strace',
    ['-f', '-qq', '-s', '256', '-e', 'trace=bind,connect', '-o', traceFile, ...argv],
    env,
  );
  return { ...r, trace: fs.readFileSync(traceFile, 'utf8') };
}

/** The AF_UNIX paths in a trace's bind() and connect() calls (abstract names and others' too). */
const unixPaths = (trace: string, call: 'bind' | 'connect') =>
  [...trace.matchAll(new RegExp(`${call}\\(\\d+, \\{sa_family=AF_UNIX, sun_path=(@?)"([^"]*)"`, 'g'))].map(
    (m) => `${m[1]}${m[2]}`,
  );

for (const layer of ['portable', 'linux'] as const) {
  withSandbox(
    `${layer} layer: a control socket of a data dir deeper than 110 bytes is served and reached${layer === 'portable' ? ' by its name in run/, never through /proc/self/fd' : ' through /proc/self/fd, as before'}`,
    async (sb) => {
      const deep = deepDataDir(sb);
      const r = await straced(
        [process.execPath, '--import', 'tsx', FIXTURE, deep],
        { ...sb.env, BG_PLATFORM: layer },
        path.join(sb.dir, 'trace'),
      );
      assert.is(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as {
        reply: { ok: boolean; bytes?: number };
        socket: string;
        mode: string;
        goneAfterClose: boolean;
        cwdBefore: string;
        cwdBetween: string;
        cwdAfter: string;
      };
      assert.equal(out.reply, { ok: true, bytes: 42 }, 'the request reached the server and its reply came back');
      assert.is(out.mode, '600');
      assert.ok(out.goneAfterClose, 'the socket file is removed when the server closes');
      assert.is(out.cwdBetween, out.cwdBefore, 'the working folder is back');
      assert.is(out.cwdAfter, out.cwdBefore, 'the working folder is back');
      const name = path.basename(out.socket);
      const ours = (p: string) => p.endsWith(name);
      const binds = unixPaths(r.trace, 'bind').filter(ours);
      const connects = unixPaths(r.trace, 'connect').filter(ours);
      if (layer === 'portable') {
        assert.equal(binds, [name], r.trace);
        assert.equal(connects, [name], r.trace);
        assert.not.match(r.trace, '/proc/self/fd');
      } else {
        assert.is(binds.length, 1, r.trace);
        assert.match(binds[0]!, /^\/proc\/self\/fd\/\d+\//);
        assert.match(connects[0]!, /^\/proc\/self\/fd\/\d+\//);
      }
    },
  );
}

withSandbox(
  'portable layer, a data dir deeper than 110 bytes: start, send_input reaches the process, stop (no /proc/self/fd in any bind or connect)',
  async (sb) => {
    sb.env.BG_DATA_DIR = deepDataDir(sb);
    sb.env.BG_PLATFORM = 'portable';
    const deep = sb.env.BG_DATA_DIR;
    const p = await start(sb, ['--no-pty', 'sh', '-c', 'read line; echo "got $line"; sleep 1000']);
    const tsx = [process.execPath, '--import', 'tsx', path.join(ROOT, 'skills/background-manager/scripts')];
    const send = await straced(
      [...tsx.slice(0, 3), path.join(tsx[3]!, 'send_input.ts'), p.id, 'through a long path'],
      sb.env,
      path.join(sb.dir, 'trace-send'),
    );
    assert.is(send.code, 0, send.stderr);
    const sock = path.basename(records(sb)[0]!.socket!);
    assert.equal(
      unixPaths(send.trace, 'connect').filter((x) => x.endsWith(sock)),
      [sock],
      send.trace,
    );
    assert.not.match(send.trace, '/proc/self/fd');
    await waitFor(
      'the echo in the log',
      async () => /^got through a long path$/m.test((await run(sb, 'get_logs.ts', [p.id])).stdout),
      20_000,
    );
    const s = await run(sb, 'stop_process.ts', [p.id]);
    assert.is(s.code, 0, s.stderr);
    assert.not.ok(alive(p.pid));
    await waitFor(
      'the socket file gone with its supervisor',
      () => fs.readdirSync(path.join(deep, 'run')).length === 0,
      10_000,
    );
  },
);

withSandbox(
  'portable layer, a data dir deeper than 110 bytes: dashboard --detach hands over through its handoff socket, bound by name in run/; it serves, and the socket is gone',
  async (sb) => {
    sb.env.BG_DATA_DIR = deepDataDir(sb);
    sb.env.BG_PLATFORM = 'portable';
    // Only the caller is traced (no -f): the dashboard it starts runs on.
    const r = await runCommand(
      'strace',
      ['-qq', '-s', '256', '-e', 'trace=bind,connect', '-o', path.join(sb.dir, 'trace-dash')]
        .concat([
          process.execPath,
          '--import',
          'tsx',
          path.join(ROOT, 'skills/background-manager/scripts/dashboard.ts'),
        ])
        .concat(['--detach', '--name', 'dash']),
      sb.env,
      ROOT,
      120_000,
    );
    assert.is(r.code, 0, r.stderr);
    const trace = fs.readFileSync(path.join(sb.dir, 'trace-dash'), 'utf8');
    const url = /^Dashboard: (http:\/\/\S+\/)#token=/m.exec(r.stdout)?.[1];
    assert.ok(url, r.stdout);
    const binds = unixPaths(trace, 'bind').filter((x) => x.includes('dashboard-'));
    assert.is(binds.length, 1, trace);
    assert.match(binds[0]!, /^dashboard-[0-9a-f]{24}\.sock$/);
    assert.not.match(trace, '/proc/self/fd');
    assert.equal(
      fs.readdirSync(path.join(sb.env.BG_DATA_DIR, 'run')).filter((f) => f.startsWith('dashboard-')),
      [],
      'the handoff socket is gone once it answered',
    );
    const page = await fetch(url!);
    assert.ok(page.status < 500, `the dashboard serves: ${page.status}`);
  },
);

/** What the key cache folders hold for this sandbox: its runtime folder's cache, and an entry for its data dir in /dev/shm. */
function cacheFiles(sb: Sandbox): string[] {
  const own = keyCacheDir(sb.env);
  const files = fs.existsSync(own) ? fs.readdirSync(own).map((f) => path.join(own, f)) : [];
  const shm = keyCacheEntry(sb.env.BG_DATA_DIR!, { ...sb.env, XDG_RUNTIME_DIR: '' });
  return fs.existsSync(shm) ? [...files, shm] : files;
}

const NOTE =
  /^note: no key cache here \(the portable process layer keeps none: macOS has no memory-backed folder for it\), so each call derives the key from BG_PASSWORD \(about 0\.1-0\.3 s\); this note is shown once\.$/gm;

withSandbox(
  'portable layer: no key cache; the note about it is shown once per data dir, then again only when its mark is gone or damaged',
  async (sb) => {
    sb.env.BG_PLATFORM = 'portable';
    const p = await start(sb, ['--no-pty', 'sleep', '300']);
    assert.is(p.out.stderr.match(NOTE)?.length, 1, p.out.stderr);
    const mark = path.join(sb.env.BG_DATA_DIR!, NO_CACHE_NOTE_FILE);
    assert.is((fs.statSync(mark).mode & 0o777).toString(8), '600');
    const l = await run(sb, 'list_processes.ts', []);
    assert.is(l.code, 0, l.stderr);
    assert.is(l.stderr, '', 'the second call says nothing');
    assert.match(l.stdout, p.id);
    assert.match(l.stdout, /running/);
    assert.equal(cacheFiles(sb), [], 'nothing in the cache folders');
    // A damaged mark only means the note shows again (and the mark is made anew).
    fs.writeFileSync(mark, 'garbage');
    const again = await run(sb, 'list_processes.ts', []);
    assert.is(again.stderr.match(NOTE)?.length, 1, again.stderr);
    assert.is((await run(sb, 'list_processes.ts', [])).stderr, '');
    fs.rmSync(mark);
    assert.is((await run(sb, 'list_processes.ts', [])).stderr.match(NOTE)?.length, 1);
    assert.equal(cacheFiles(sb), [], 'nothing in the cache folders');
    // BG_KEY_CACHE=off: quiet, as on Linux.
    fs.rmSync(mark);
    const off = await run(sb, 'list_processes.ts', [], { env: { ...sb.env, BG_KEY_CACHE: 'off' } });
    assert.is(off.code, 0, off.stderr);
    assert.is(off.stderr, '');
    assert.not.ok(fs.existsSync(mark), 'nothing noted when the cache is off');
  },
);

withSandbox(
  'portable layer on Linux: an fd the caller passed to start_process stays open in the supervisor while the process runs (documented), and is closed when it ends',
  async (sb) => {
    sb.env.BG_PLATFORM = 'portable';
    const s = await startHoldingPipe(sb, ['--no-pty', 'sleep', '300']);
    try {
      const rec = records(sb)[0]!;
      const sup = rec.supervisorPid!;
      assert.ok(fdsOf(sup).has(HIGH_FD), 'the supervisor holds it');
      assert.ok(fdsOf(s.pid).has(HIGH_FD), 'the command holds it');
      assert.not.ok(s.eof(), 'no EOF while the process runs');
      const stop = await run(sb, 'stop_process.ts', [rec.id]);
      assert.is(stop.code, 0, stop.stderr);
      await waitFor('EOF once the process and its supervisor ended', () => s.eof(), 20_000);
    } finally {
      s.close();
    }
  },
);

test.run();
