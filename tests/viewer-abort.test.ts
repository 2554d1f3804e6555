// The page's viewer (GET /api/view/<id>, lib/web/viewers.ts) when the page's request goes away
// while the viewer is being opened: the viewer is let go at once, so the PTY does not stay at
// the page's size (nor restarts start at it) until the process ends.
import path from 'node:path';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { listJson, run, SCRIPTS, start, track, waitFor, withSandbox, type Sandbox } from './helpers.ts';

/** Start `dashboard.ts` in the sandbox: its base URL and token. */
async function startDashboard(sb: Sandbox): Promise<{ base: string; token: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(SCRIPTS, 'dashboard.ts')], {
    env: sb.env,
    cwd: path.resolve(SCRIPTS, '../../..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(sb, child.pid!);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const url = new URL(await waitFor('the Dashboard line', () => /^Dashboard: (\S+)$/m.exec(out)?.[1], 60_000));
  return { base: `${url.protocol}//${url.host}`, token: new URLSearchParams(url.hash.slice(1)).get('token')! };
}

/** GET `p`, given up after `ms` (as curl --max-time): resolves once the socket is closed. */
function abortedGet(base: string, p: string, token: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const req = http.request(`${base}${p}`, { headers: { 'X-BG-Token': token } });
    req.on('error', () => {});
    req.on('close', () => resolve());
    setTimeout(() => req.destroy(), ms);
    req.end();
  });
}

/** The REPL's own idea of its terminal's size, asked through send_input and read from the log. */
async function ptySize(sb: Sandbox, id: string, tag: string): Promise<string> {
  assert.is((await run(sb, 'send_input.ts', [id, `import os; print('${tag}', *os.get_terminal_size())`])).code, 0);
  const r = await run(sb, 'get_logs.ts', [id, '--wait-for', `^${tag} \\d+ \\d+`, '--timeout', '60']);
  assert.is(r.code, 0, r.stderr);
  return new RegExp(`^${tag} (\\d+ \\d+)`, 'm').exec(r.stdout)![1]!;
}

const viewers = async (sb: Sandbox) => ((await listJson(sb))[0] as unknown as { viewers?: number }).viewers;

withSandbox(
  'page viewer requests given up while the viewer opens leave no viewer behind: the PTY is 200x50 again',
  async (sb) => {
    const { id } = await start(sb, ['--wait-for', '>>> ', 'python3']);
    const dash = await startDashboard(sb);
    // The route works: a viewer held by a request that stays open takes the PTY to its size.
    await new Promise<void>((resolve, reject) => {
      const req = http.request(`${dash.base}/api/view/${id}?cols=30&rows=8`, { headers: { 'X-BG-Token': dash.token } });
      req.on('error', reject);
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
          if (/event: size/.test(body)) resolve(), req.destroy();
        });
      });
      req.end();
    });
    // Eight requests given up after 5 to 80 ms, as the reviewer's curl --max-time did.
    for (const ms of [5, 10, 20, 30, 40, 50, 65, 80])
      await abortedGet(dash.base, `/api/view/${id}?cols=20&rows=5`, dash.token, ms);
    // Settled: no viewer, and the REPL sees 200x50 (asked again until so: a request may still be opening).
    let n = 0;
    let seen = '';
    await waitFor(
      'every viewer let go and the PTY at 200x50',
      async () => (await viewers(sb)) === undefined && (seen = await ptySize(sb, id, `T${n++}`)) === '200 50',
      90_000,
      500,
    ).catch(async (e: Error) => {
      throw new Error(
        `${e.message}: viewers=${await viewers(sb)}, the REPL sees ${seen || (await ptySize(sb, id, 'LAST'))}`,
      );
    });
  },
);

test.run();
