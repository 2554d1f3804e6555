// Issue 23: the dashboard's server without a browser. A detached dashboard is restarted from a
// shell only, takes nothing from a path another user can make, and says so when it cannot
// serve; the page and MCP refuse to restart it; a malformed request is a 400, not a 500.
// Run: npx uvu -r tsx tests 'dashboard-server\.test\.ts$'
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import {
  freePort,
  httpRequest,
  listJson,
  ROOT,
  run,
  SCRIPTS,
  skip,
  track,
  waitFor,
  withSandbox,
  type Sandbox,
} from './helpers.ts';

const MCP_SERVER = path.join(ROOT, 'skills/background-manager/dist/mcp_server.mjs');
const REFUSAL = /a detached dashboard is restarted from a shell: restart_process dash, or dashboard --detach/;
/** MCP's: a model has no shell, so it is told what only a shell can do, and the tool that stops it. */
const MCP_REFUSAL =
  /^restart_process: error: process [0-9a-f]{8} is a detached dashboard, which only the restart_process script restarts, from a shell that hands it the password; the stop_process tool \(ids: \["dash"\]\) stops it\.$/;

/** The URL a `Dashboard: URL` line gives, split into what a client needs. */
function dashboardUrl(stdout: string): { base: string; token: string; port: number } {
  const m = /^Dashboard: (\S+)$/m.exec(stdout);
  if (!m) throw new Error(`no "Dashboard: URL" line in:\n${stdout}`);
  const u = new URL(m[1]!);
  return {
    base: `${u.protocol}//${u.host}`,
    token: new URLSearchParams(u.hash.slice(1)).get('token') ?? '',
    port: Number(u.port),
  };
}

/** One plain HTTP request, with the token if given. */
function request(
  base: string,
  p: string,
  token: string | undefined,
  method = 'GET',
): Promise<{ status: number; body: string }> {
  return httpRequest(base, p, token === undefined ? {} : { 'X-BG-Token': token }, method);
}

/** A dashboard in the foreground (dashboard.ts), until `stop`. */
async function foregroundDashboard(sb: Sandbox): Promise<{ base: string; token: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(SCRIPTS, 'dashboard.ts')], {
    env: sb.env,
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(sb, child.pid!);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  await waitFor(
    'the Dashboard line',
    () => {
      if (child.exitCode !== null) throw new Error(`dashboard exited (${child.exitCode}): ${err}`);
      return /^Dashboard: \S+$/m.test(out);
    },
    60_000,
  );
  const stop = async () => {
    if (child.exitCode !== null) return;
    const closed = new Promise((r) => child.once('close', r));
    child.kill('SIGTERM');
    await closed;
  };
  return { ...dashboardUrl(out), stop };
}

/** `dashboard --detach --name dash` and the URL it printed. */
async function detach(sb: Sandbox, args: string[] = []): Promise<{ base: string; token: string; port: number }> {
  const r = await run(sb, 'dashboard.ts', ['--detach', '--name', 'dash', ...args], { timeoutMs: 120_000 });
  assert.is(r.code, 0, r.stderr);
  return dashboardUrl(r.stdout);
}

/** Where the detached dashboard's recorded command says its handoff is. */
async function handoffArg(sb: Sandbox): Promise<string> {
  const dash = (await listJson(sb)).find((p) => p.name === 'dash')!;
  const m = /--handoff[= ](\S+)/.exec(dash.command);
  assert.ok(m, `no --handoff in ${dash.command}`);
  return m![1]!.replace(/^'|'$/g, '');
}

/**
 * User nobody, as an attacker: make the folder of `socket`, listen on it and hand whoever
 * connects its own password, token and data dir; where it cannot listen, keep trying to connect
 * until its stdin ends (ready after the first try). `report` then says what happened.
 */
function attackAsNobody(
  socket: string,
  dataDir: string,
): {
  ready: Promise<string>;
  report: () => Promise<{ listen: string; connections: number; connects: Record<string, number> }>;
  pid: number;
} {
  const script = `const net = require('net'), fs = require('fs'), path = require('path');
const [p, dataDir] = process.argv.slice(1);
const out = { listen: '', connections: 0, connects: {} };
let ended = false;
try { fs.mkdirSync(path.dirname(p), { recursive: true }); } catch (e) { out.mkdir = e.code; }
const srv = net.createServer((c) => {
  out.connections++;
  c.on('error', () => {});
  c.end(JSON.stringify({ password: 'attacker-pw', token: 'T', dataDir }) + '\\n');
});
const tryConnect = () => {
  if (ended) return;
  const s = net.connect(p);
  const done = (code) => { out.connects[code] = (out.connects[code] || 0) + 1; s.destroy(); ready(); setTimeout(tryConnect, 2); };
  s.on('connect', () => done('connected'));
  s.on('error', (e) => done(e.code));
};
let said = false;
const ready = () => { if (!said) console.log('ready'); said = true; };
srv.on('error', (e) => { out.listen = e.code; tryConnect(); });
srv.listen(p, () => { out.listen = 'listening'; ready(); });
process.stdin.on('data', () => {});
process.stdin.on('end', () => { ended = true; console.log(JSON.stringify(out)); process.exit(0); });`;
  const child = spawn(
    'setpriv',
    ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, '-e', script, socket, dataDir],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const closed = new Promise((r) => child.once('close', r));
  return {
    pid: child.pid!,
    ready: waitFor(
      'the attacker to listen or fail',
      () => {
        if (child.exitCode !== null) throw new Error(`the attacker exited (${child.exitCode}): ${err}`);
        return /^ready$/m.test(out) && 'ready';
      },
      30_000,
    ),
    report: async () => {
      child.stdin.end();
      await closed;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (!line) throw new Error(`the attacker did not report: ${out}${err}`);
      return JSON.parse(line);
    },
  };
}

/** Why this machine cannot run a check as user nobody, or undefined when it can. */
function cannotActAsNobody(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root, to act as user nobody through setpriv';
  if (spawnSync('setpriv', ['--version']).status !== 0) return 'needs setpriv (util-linux)';
  if (spawnSync('id', ['nobody']).status !== 0) return 'needs a user nobody';
  return undefined;
}

withSandbox(
  'a restarted detached dashboard takes nothing from another user: nobody can neither make nor reach its handoff socket, and the caller gets a fresh token',
  async (sb) => {
    const why = cannotActAsNobody();
    if (why) return skip(`dashboard-server: another user's handoff: ${why}`);
    // Only the data dir and its run/ folder may keep nobody out: the sandbox above is opened up.
    fs.chmodSync(sb.dir, 0o755);
    const first = await detach(sb);
    const arg = await handoffArg(sb);
    // Where the new run will look for its handoff: the recorded path, or a name in <data dir>/run/.
    const socket = path.isAbsolute(arg) ? arg : path.join(sb.env.BG_DATA_DIR!, 'run', arg);
    const theirs = path.join(os.tmpdir(), `bgm-attacker-${randomBytes(6).toString('hex')}`);
    const attacker = attackAsNobody(socket, theirs);
    track(sb, attacker.pid);
    try {
      await attacker.ready;
      const r = await run(sb, 'restart_process.ts', ['dash'], { timeoutMs: 120_000 });
      // The new run is up (the old code said "Restarted" before it even asked for a handoff).
      const port = await waitFor(
        'the restarted dashboard to listen',
        async () => (await listJson(sb)).find((p) => p.name === 'dash' && p.status === 'running')?.ports[0],
        30_000,
      ).catch(() => undefined);
      const got = await attacker.report();
      assert.is(
        got.connections,
        0,
        "the restarted dashboard connected to user nobody's socket and took its password, token and data dir",
      );
      assert.not.ok(fs.existsSync(theirs), 'the restarted dashboard made and served the data dir user nobody chose');
      if (port)
        assert.is(
          (await request(`http://127.0.0.1:${port}`, '/api/events', 'T')).status,
          401,
          "the attacker's token opens the restarted dashboard",
        );
      assert.is(r.code, 0, r.stdout + r.stderr);
      assert.match(got.listen, /^EACCES$/, `nobody could listen at ${socket}: ${got.listen}`);
      const tries = Object.values(got.connects).reduce((a, b) => a + b, 0);
      assert.ok(tries > 0, 'nobody tried to connect while the restart ran');
      assert.equal(
        Object.keys(got.connects),
        ['EACCES'],
        `nobody's connects to ${socket} while the restart ran: ${JSON.stringify(got.connects)}`,
      );
      // The caller got the new URL with a fresh token, and it serves the owner's data dir.
      const now = dashboardUrl(r.stdout);
      assert.is.not(now.token, first.token, 'a fresh token');
      assert.is(now.port, port, 'the URL printed is where the restarted dashboard listens');
      const events = await request(now.base, '/api/events', now.token);
      assert.is(events.status, 200);
      assert.match(events.body, /"name":"dash"/, "it serves the owner's data dir");
      assert.match(r.stdout, /^Restarted process [0-9a-f]{8} \(PID \d+; stopped by SIGTERM\)\.$/m);
      // run/ keeps nobody out by itself too, with the data dir above it opened up.
      fs.chmodSync(sb.env.BG_DATA_DIR!, 0o755);
      const again = attackAsNobody(
        path.join(sb.env.BG_DATA_DIR!, 'run', 'dashboard-000000000000000000000000.sock'),
        theirs,
      );
      track(sb, again.pid);
      await again.ready;
      const inRun = await again.report();
      assert.is(inRun.listen, 'EACCES');
      assert.equal(Object.keys(inRun.connects), ['EACCES'], JSON.stringify(inRun.connects));
    } finally {
      fs.rmSync(theirs, { recursive: true, force: true });
    }
  },
);

withSandbox('restart_process of a detached dashboard that cannot serve says why and exits non-zero', async (sb) => {
  const port = await freePort();
  await detach(sb, ['--port', String(port)]);
  const stop = await run(sb, 'stop_process.ts', ['dash']);
  assert.is(stop.code, 0, stop.stderr);
  // Its port is someone else's now: the restarted run cannot listen on it.
  const squatter = net.createServer();
  await new Promise<void>((resolve, reject) => squatter.once('error', reject).listen(port, '127.0.0.1', resolve));
  try {
    const r = await run(sb, 'restart_process.ts', ['dash'], { timeoutMs: 120_000 });
    assert.is.not(r.code, 0, `it exited 0 while the dashboard could not serve:\n${r.stdout}`);
    assert.is(r.code, 1);
    assert.not.match(r.stdout, /Restarted|Dashboard:/);
    assert.match(r.stderr, new RegExp(`did not start serving: port ${port} on 127\\.0\\.0\\.1 is in use`));
    assert.match(r.stderr, /get_logs [0-9a-f]{8}/);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  } finally {
    await new Promise((r) => squatter.close(r));
  }
});

withSandbox(
  "the page's Restart and MCP restart_process refuse a detached dashboard, and leave it running",
  async (sb) => {
    const detached = await detach(sb);
    const before = (await listJson(sb)).find((p) => p.name === 'dash')!;
    const page = await foregroundDashboard(sb);
    try {
      const r = await request(page.base, '/api/restart/dash', page.token, 'POST');
      assert.is(r.status, 400, r.body);
      assert.match(JSON.parse(r.body).error, REFUSAL);
    } finally {
      await page.stop();
    }
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [MCP_SERVER],
      env: sb.env as Record<string, string>,
      stderr: 'pipe',
    });
    const client = new Client({ name: 'bgm-test', version: '1.0.0' });
    await client.connect(transport);
    track(sb, transport.pid!);
    try {
      const res = (await client.callTool({ name: 'restart_process', arguments: { id: 'dash' } }, undefined, {
        timeout: 120_000,
      })) as CallToolResult;
      assert.ok(res.isError, 'isError');
      assert.match(res.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n'), MCP_REFUSAL);
    } finally {
      await client.close();
    }
    const after = (await listJson(sb)).find((p) => p.name === 'dash')!;
    assert.is(after.status, 'running');
    assert.is(after.pid, before.pid, 'not stopped');
    assert.is((await request(detached.base, '/api/events', detached.token)).status, 200);
  },
);

withSandbox('the dashboard answers malformed percent-encoding with 400, not 500', async (sb) => {
  const page = await foregroundDashboard(sb);
  try {
    for (const p of ['/api/log/%E0%A4%A', '/api/term/%E0%A4%A', '/api/stop/%E0%A4%A']) {
      const r = await request(page.base, p, page.token, p.includes('stop') ? 'POST' : 'GET');
      assert.is(r.status, 400, `${p}: ${r.body}`);
      assert.match(JSON.parse(r.body).error, /not valid percent-encoding/);
    }
  } finally {
    await page.stop();
  }
});

withSandbox(
  'a detached dashboard that connects but does not answer in time is stopped, and the CLI exits at once, non-zero',
  async (sb) => {
    // A preload (through NODE_OPTIONS, which the dashboard inherits) holds back the dashboard's
    // answer on its handoff socket: it takes the password, serves, and never says so.
    const hold = path.join(sb.dir, 'hold-answer.cjs');
    fs.writeFileSync(
      hold,
      `const net = require('net');
const end = net.Socket.prototype.end;
net.Socket.prototype.end = function (data, ...rest) {
  if (typeof data === 'string' && data.startsWith('{"url"')) { console.log('answer held'); return this; }
  return end.call(this, data, ...rest);
};
`,
    );
    const env = { ...sb.env, NODE_OPTIONS: `${sb.env.NODE_OPTIONS ?? ''} --require ${hold}`.trim() };
    const began = Date.now();
    const r = await run(sb, 'dashboard.ts', ['--detach', '--name', 'dash'], { env, timeoutMs: 60_000 });
    const seconds = (Date.now() - began) / 1000;
    assert.is(r.code, 1, `${r.stdout}${r.stderr}`);
    assert.match(
      r.stderr,
      /the detached dashboard \(process [0-9a-f]{8}\) did not start serving: it did not answer within 30 s; stopped it \(SIGTERM\)\. See get_logs [0-9a-f]{8}\./,
    );
    assert.ok(seconds < 45, `the CLI took ${seconds} s`);
    const dash = (await listJson(sb)).find((p) => p.name === 'dash')!;
    assert.is.not(dash.status, 'running', 'its record does not say it runs');
    assert.not.ok(
      dash.pid &&
        fs.existsSync(`/proc/${dash.pid}`) &&
        !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${dash.pid}/status`, 'utf8')),
      `PID ${dash.pid} ended`,
    );
    const log = await run(sb, 'get_logs.ts', ['dash', '--stream', 'all']);
    assert.match(log.stdout, /answer held/, 'it did connect and got its handoff');
  },
);

withSandbox(
  "a program named dashboard.mjs that is not this skill's own is restarted as an ordinary process: never handed the password",
  async (sb) => {
    // It acts as a detached dashboard would: reads the handoff socket its --handoff names, in the
    // data dir restart_process would give it, and prints what it got.
    const fake = path.join(sb.dir, 'x', 'dashboard.mjs');
    fs.mkdirSync(path.dirname(fake));
    fs.writeFileSync(
      fake,
      `import net from 'node:net';
import path from 'node:path';
const name = process.argv[process.argv.indexOf('--handoff') + 1];
const dir = process.env.BG_DATA_DIR;
console.log('fake up; data dir ' + (dir ? 'given' : 'not given'));
if (dir) {
  const c = net.connect(path.join(dir, 'run', name));
  let got = '';
  c.on('data', (d) => (got += d));
  c.on('error', (e) => console.log('no handoff: ' + e.code));
  c.on('end', () => console.log('handed: ' + got));
}
setInterval(() => {}, 1000);
`,
    );
    const started = await run(sb, 'start_process.ts', [
      '--name',
      'fake',
      '--',
      process.execPath,
      fake,
      '--handoff',
      'dashboard-000000000000000000000000.sock',
    ]);
    assert.is(started.code, 0, started.stderr);
    const r = await run(sb, 'restart_process.ts', ['fake'], { timeoutMs: 60_000 });
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Restarted process [0-9a-f]{8}/m);
    assert.not.match(r.stdout, /Dashboard:/);
    const log = await waitFor(
      'the restarted run to say what it got',
      async () => {
        const l = await run(sb, 'get_logs.ts', ['fake', '--stream', 'all']);
        return (l.stdout.match(/fake up/g) ?? []).length === 2 && l.stdout;
      },
      20_000,
    );
    assert.not.ok(log.includes(sb.env.BG_PASSWORD!), `the fake got the password:\n${log}`);
    assert.not.match(log, /handed: \{/);
    assert.match(log, /no handoff: ENOENT/, 'nobody listened on the socket its --handoff names');
  },
);

test.run();
