// Only the password holder controls a process: another user cannot even reach a supervisor's
// control socket, idle connections cannot pile up in a supervisor, and stop_process stops the
// process itself when its supervisor does not answer (flooded, stopped, hung).
// Run: npx uvu -r tsx tests 'control-socket\.test\.ts$'
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execFile } from 'node:child_process';
import {
  alive,
  figure,
  listJson,
  records,
  run,
  start,
  startUnder,
  waitFor,
  withSandbox,
  type Sandbox,
} from './helpers.ts';

/** Where a client connects: a path, or (older records) a name in the abstract namespace. */
const addressOf = (socket: string) => (socket.startsWith('/') ? socket : `\0${socket}`);

/** Connect to `address` as user nobody; resolves to "connected" or the error's code. */
function connectAsNobody(address: string): Promise<string> {
  const script = `const s = require('net').connect(Buffer.from(process.argv[1], 'hex').toString('latin1'));
s.on('connect', () => { console.log('connected'); s.destroy(); });
s.on('error', (e) => console.log(e.code));`;
  return new Promise((resolve, reject) =>
    execFile(
      'setpriv',
      [
        '--reuid=nobody',
        '--regid=nogroup',
        '--clear-groups',
        process.execPath,
        '-e',
        script,
        Buffer.from(address, 'latin1').toString('hex'),
      ],
      { timeout: 30_000 },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout.trim())),
    ),
  );
}

/** Open fds of a process (its /proc/<pid>/fd entries). */
const fdCount = (pid: number) => fs.readdirSync(`/proc/${pid}/fd`).length;

/** start_process under a lower open-file limit (soft and hard), which the supervisor inherits. */
const startLimited = (sb: Sandbox, nofile: number, args: string[]) =>
  startUnder(sb, ['prlimit', `--nofile=${nofile}:${nofile}`], args);

/** Keep `count` idle connections open to `address` (each one closed is opened again) until stopped. */
function flood(address: string, count: number): { opened: () => number; stop: () => void } {
  let opened = 0;
  let stopped = false;
  const socks = new Set<net.Socket>();
  const open = () => {
    if (stopped) return;
    const s = net.connect(address);
    opened++;
    socks.add(s);
    s.on('error', () => undefined);
    s.on('close', () => {
      socks.delete(s);
      setTimeout(open, 5);
    });
  };
  for (let i = 0; i < count; i++) open();
  return {
    opened: () => opened,
    stop: () => {
      stopped = true;
      for (const s of socks) s.destroy();
    },
  };
}

withSandbox("another user cannot connect to a supervisor's control socket", async (sb) => {
  const p = await start(sb, ['sleep', '1000']);
  // Only the socket's own folder may keep others out: the folders above it are opened up.
  fs.chmodSync(sb.dir, 0o755);
  fs.chmodSync(sb.env.BG_DATA_DIR!, 0o755);
  const rec = records(sb).find((r) => r.id === p.id)!;
  assert.is(await connectAsNobody(addressOf(rec.socket!)), 'EACCES', `socket ${JSON.stringify(rec.socket)}`);
  const r = await run(sb, 'send_input.ts', [p.id, 'still mine']);
  assert.is(r.code, 0, r.stderr);
});

withSandbox(
  'a flood of idle connections from the owner leaves the supervisor its descriptors, and stop_process still stops the process',
  async (sb) => {
    const p = await startLimited(sb, 256, ['sleep', '1000']);
    const rec = records(sb).find((r) => r.id === p.id)!;
    const f = flood(addressOf(rec.socket!), 400);
    try {
      await waitFor('the flood to be under way', () => f.opened() >= 800, 60_000);
      const fds = fdCount(rec.supervisorPid!);
      assert.ok(fds < 100, `the supervisor holds ${fds} descriptors`);
      const r = await run(sb, 'stop_process.ts', [p.id, '--timeout', '5'], { timeoutMs: 90_000 });
      assert.is(r.code, 0, r.stdout + r.stderr);
      assert.match(
        r.stdout,
        new RegExp(`^Stopped process ${p.id} \\(PID ${p.pid}\\): SIGTERM ended it \\(exit status 143\\)\\.\\n$`),
      );
      assert.not.ok(alive(p.pid));
      figure(
        `flood of 400 idle connections (${f.opened()} opened in all): the supervisor held ${fds} fds; stop_process: ${(r.stderr.trim() || 'answered by the supervisor').slice(0, 160)}`,
      );
    } finally {
      f.stop();
    }
  },
);

withSandbox('stop_process stops the process itself when its supervisor does not answer', async (sb) => {
  const p = await start(sb, ['sleep', '1000']);
  const rec = records(sb).find((r) => r.id === p.id)!;
  process.kill(rec.supervisorPid!, 'SIGSTOP'); // it cannot answer; cleanup SIGKILLs it
  const r = await run(sb, 'stop_process.ts', [p.id, '--timeout', '5'], { timeoutMs: 90_000 });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(
    r.stdout,
    new RegExp(`^Stopped process ${p.id} \\(PID ${p.pid}\\): SIGTERM ended it \\(exit status 143\\)\\.\\n$`),
  );
  assert.match(
    r.stderr,
    new RegExp(
      `^stop_process: note: ${p.id}: its supervisor \\(PID ${rec.supervisorPid}\\) did not answer .+; ended it and stopped the process directly`,
      'm',
    ),
  );
  assert.not.ok(alive(p.pid));
  assert.is((await listJson(sb)).find((x) => x.id === p.id)!.status, 'stopped');
});

withSandbox('restart_process restarts a process whose supervisor does not answer, and says how', async (sb) => {
  const p = await start(sb, ['sleep', '1000']);
  const rec = records(sb).find((r) => r.id === p.id)!;
  process.kill(rec.supervisorPid!, 'SIGSTOP'); // cleanup SIGKILLs it, should the restart not
  const r = await run(sb, 'restart_process.ts', [p.id], { timeoutMs: 90_000 });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `^restart_process: note: ${p.id}: its supervisor \\(PID ${rec.supervisorPid}\\) did not answer .+; ended it and stopped the process directly`,
      'm',
    ),
  );
  const m = new RegExp(`^Restarted process ${p.id} \\(PID (\\d+); stopped by SIGTERM\\)\\.$`, 'm').exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.not.ok(alive(p.pid));
  assert.ok(alive(Number(m![1])));
  assert.is((await listJson(sb)).find((x) => x.id === p.id)!.status, 'running');
});

withSandbox('a data dir deeper than a socket address can hold still gets a working control socket', async (sb) => {
  const deep = path.join(sb.dir, 'd'.repeat(60), 'e'.repeat(60), 'data');
  assert.ok(path.join(deep, 'run', `${'0'.repeat(24)}.sock`).length > 108);
  sb.env.BG_DATA_DIR = deep;
  const p = await start(sb, ['--no-pty', 'sh', '-c', 'read line; echo "got $line"; sleep 1000']);
  const r = await run(sb, 'send_input.ts', [p.id, 'through a long path']);
  assert.is(r.code, 0, r.stderr);
  const s = await run(sb, 'stop_process.ts', [p.id]);
  assert.is(s.code, 0, s.stderr);
  assert.is(s.stderr, '');
  assert.match((await run(sb, 'get_logs.ts', [p.id])).stdout, /^got through a long path$/m);
  assert.equal(fs.readdirSync(path.join(deep, 'run')), [], 'the socket file is gone with its supervisor');
});

test.run();
