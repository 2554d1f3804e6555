// Issue 16: the dashboard in a real browser (Debian's chromium, driven by playwright-core; no
// browser download). It must show what start_process started without a reload, the output as
// it arrives, a PTY program's terminal that takes typing, a stop that is stop_process's stop;
// and it must refuse requests without the token or from another origin.
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chromium, type Browser, type Page } from 'playwright-core';
import {
  freePort,
  httpRequest as request,
  listJson,
  run,
  SCRIPTS,
  skip,
  start,
  track,
  waitFor,
  withSandbox,
  PASSWORD,
  type Sandbox,
} from './helpers.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
let browser: Browser | undefined;

interface Dash {
  child: ChildProcess;
  url: string; // with the token
  base: string; // http://127.0.0.1:PORT
  token: string;
  stdout: () => string;
  stderr: () => string;
}

/** Start `dashboard.ts` in the sandbox; resolves with the URL it prints. */
async function startDashboard(sb: Sandbox, args: string[] = []): Promise<Dash> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(SCRIPTS, 'dashboard.ts'), ...args], {
    env: sb.env,
    cwd: path.resolve(SCRIPTS, '../../..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(sb, child.pid!);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const url = await waitFor(
    'the Dashboard line',
    () => {
      if (child.exitCode !== null) throw new Error(`dashboard exited (${child.exitCode}): ${err}`);
      return /^Dashboard: (\S+)$/m.exec(out)?.[1];
    },
    60_000,
  );
  const u = new URL(url);
  return {
    child,
    url,
    base: `${u.protocol}//${u.host}`,
    token: new URLSearchParams(u.hash.slice(1)).get('token')!,
    stdout: () => out,
    stderr: () => err,
  };
}

async function stopDashboard(d: Dash): Promise<void> {
  if (d.child.exitCode !== null) return;
  const closed = new Promise((r) => d.child.once('close', r));
  d.child.kill('SIGTERM');
  await closed;
}

async function newPage(dir: string): Promise<Page> {
  browser ??= await chromium.launch({ executablePath: CHROMIUM });
  const page = await browser.newPage({ viewport: { width: 1440, height: 860 } });
  page.on('dialog', (d) => void d.accept()); // the Remove button's confirmation
  page.on('pageerror', (e) => fs.appendFileSync(path.join(dir, 'page-errors.txt'), `${e.message}\n`));
  return page;
}

const rowOf = (page: Page, id: string) => page.locator(`#procs tr[data-id="${id}"]`);

if (!fs.existsSync(CHROMIUM)) {
  test('the dashboard in a browser', () =>
    skip(`the dashboard's browser tests: no chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`));
} else {
  test.after(async () => {
    await browser?.close();
  });

  withSandbox(
    'a process started by start_process appears on the open page without a reload, and its output arrives line by line',
    async (sb) => {
      const dash = await startDashboard(sb);
      const page = await newPage(sb.dir);
      try {
        await page.goto(dash.url);
        await page.locator('#empty').waitFor({ state: 'visible', timeout: 90_000 });
        assert.not.match(page.url(), /token/, 'the token is dropped from the address bar');
        await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
        const prog = 'import time\nfor i in range(1, 1000):\n    print("tick %d" % i, flush=True)\n    time.sleep(0.3)';
        const { id } = await start(sb, ['--name', 'ticker', '--no-pty', '--', 'python3', '-c', prog]);
        await rowOf(page, id).waitFor({ timeout: 90_000 });
        // biome-ignore lint/performance/useDomNodeTextContent: the text as the page shows it
        assert.match(await rowOf(page, id).locator('.status').innerText(), /running/);
        assert.is(
          await page.evaluate(() => (window as unknown as { marker: number }).marker),
          42,
          'same page: no reload',
        );
        await rowOf(page, id).click();
        await page.locator('#log', { hasText: 'tick 2' }).waitFor({ timeout: 90_000 });
        // A line printed after the page opened the stream arrives by itself.
        const later = (await page.locator('#log .l').count()) + 3;
        await page.locator(`#log .l >> nth=${later}`).waitFor({ timeout: 90_000 });
        // Search narrows the lines to the matches.
        await page.fill('#search', '^tick 1$');
        assert.equal(await page.locator('#log .l').allInnerTexts(), ['tick 1']);
        await page.fill('#search', '');
        await page.screenshot({ path: path.join(sb.dir, 'dashboard-list.png') });
        // A narrow window (a phone): each process a card, nothing wider than the window.
        await page.setViewportSize({ width: 390, height: 800 });
        assert.is(await page.locator('#procs thead').isVisible(), false);
        assert.ok(
          await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth),
          'no sideways scrolling',
        );
        await page.screenshot({ path: path.join(sb.dir, 'dashboard-narrow.png'), fullPage: true });
        await page.setViewportSize({ width: 1440, height: 860 });
        // The stream filter: input shows nothing yet, then what send_input typed.
        await page.selectOption('#stream', 'input');
        assert.is(await page.locator('#log .l').count(), 0);
        await page.fill('#send-text', 'typed from the page');
        await page.click('#send-form button');
        await page.locator('#log .l-input', { hasText: 'typed from the page' }).waitFor({ timeout: 90_000 });
        await page.locator('#notice', { hasText: `to process ${id}` }).waitFor();
      } finally {
        await page.close();
        await stopDashboard(dash);
      }
    },
  );

  withSandbox(
    'a PTY REPL: typed into the terminal view it echoes; Stop on the page stops it as stop_process does',
    async (sb) => {
      const dash = await startDashboard(sb);
      const page = await newPage(sb.dir);
      try {
        const port = await freePort();
        const web = await start(sb, [
          '--name',
          'web',
          '--no-pty',
          '--wait-port',
          String(port),
          'python3',
          '-m',
          'http.server',
          String(port),
          '--bind',
          '127.0.0.1',
        ]);
        const { id } = await start(sb, [
          '--name',
          'repl',
          '--wait-for',
          'mini> ',
          'python3',
          'tests/fixtures/mini-repl.py',
        ]);
        await page.goto(dash.url);
        // Its ports are links to them.
        const link = rowOf(page, web.id).locator('.ports a');
        await link.waitFor({ timeout: 90_000 });
        assert.is(await link.getAttribute('href'), `http://127.0.0.1:${port}/`);
        await rowOf(page, id).click();
        await page.locator('#term .xterm-rows', { hasText: 'mini>' }).waitFor({ timeout: 90_000 });
        await page.click('#term');
        await page.keyboard.type('hello terminal');
        await page.keyboard.press('Enter');
        await page.locator('#term .xterm-rows', { hasText: 'echo: hello terminal' }).waitFor({ timeout: 90_000 });
        const logs = await run(sb, 'get_logs.ts', [id]);
        assert.match(logs.stdout, /echo: hello terminal/, 'the process itself got the keystrokes');
        await page.evaluate(() => scrollTo(0, 0)); // the click into the terminal scrolled it into view
        await page.screenshot({ path: path.join(sb.dir, 'dashboard-terminal.png') });
        // DASHBOARD_SCREENSHOT=docs/dashboard.png: the picture README shows.
        if (process.env.DASHBOARD_SCREENSHOT) await page.screenshot({ path: process.env.DASHBOARD_SCREENSHOT });
        await page.click('#b-stop');
        await rowOf(page, id).locator('.status', { hasText: 'stopped' }).waitFor({ timeout: 90_000 });
        await page.locator('#notice', { hasText: `Stopped process ${id}` }).waitFor();
        const listed = (await listJson(sb)).find((p) => p.id === id)!;
        assert.is(listed.status, 'stopped');
        const events = await run(sb, 'get_logs.ts', [id, '--stream', 'events']);
        assert.match(events.stdout, /SIGTERM/);
        // Remove, after the confirmation: gone from the page and from the list.
        await page.click('#b-remove');
        await rowOf(page, id).waitFor({ state: 'detached', timeout: 90_000 });
        assert.equal(
          (await listJson(sb)).map((p) => p.id),
          [web.id],
        );
        assert.not.ok(
          fs.existsSync(path.join(sb.dir, 'page-errors.txt')),
          fs.existsSync(path.join(sb.dir, 'page-errors.txt'))
            ? fs.readFileSync(path.join(sb.dir, 'page-errors.txt'), 'utf8')
            : '',
        );
      } finally {
        await page.close();
        await stopDashboard(dash);
      }
    },
  );

  withSandbox(
    'requests without the token, with a wrong one, or from another Host or Origin are refused',
    async (sb) => {
      const { id } = await start(sb, ['--no-pty', '--', 'sleep', '600']);
      const dash = await startDashboard(sb);
      try {
        const tok = { 'X-BG-Token': dash.token };
        const host = new URL(dash.base).host;
        assert.is((await request(dash.base, '/api/events', {})).status, 401);
        assert.is(
          (await request(dash.base, `/api/log/${id}`, { Cookie: `bgdash_${new URL(dash.base).port}=${dash.token}` }))
            .status,
          401,
          'no cookie carries the token, reads included',
        );
        assert.is(
          (await request(dash.base, `/api/log/${id}`, { 'X-BG-Token': 'x'.repeat(dash.token.length) })).status,
          401,
        );
        assert.is(
          (
            await request(
              dash.base,
              `/api/stop/${id}`,
              { Cookie: `bgdash_${new URL(dash.base).port}=${dash.token}` },
              'POST',
            )
          ).status,
          401,
          'a change needs the header, not just the cookie',
        );
        assert.is(
          (await request(dash.base, '/api/events', { ...tok, Host: `evil.example:${new URL(dash.base).port}` })).status,
          403,
          'DNS rebinding',
        );
        assert.is((await request(dash.base, '/', { Host: 'evil.example' })).status, 403);
        assert.is(
          (await request(dash.base, `/api/stop/${id}`, { ...tok, Origin: 'http://evil.example' }, 'POST')).status,
          403,
          'another origin',
        );
        assert.is((await listJson(sb))[0]!.status, 'running', 'none of them stopped it');
        const ok = await request(dash.base, '/api/events', { ...tok, Host: host });
        assert.is(ok.status, 200);
        assert.match(ok.body, new RegExp(id));
        for (const secret of [PASSWORD, dash.token]) assert.not.ok(ok.body.includes(secret), 'no secret in the list');
        const page = await request(dash.base, '/', {});
        assert.is(page.status, 200);
        assert.not.ok(page.body.includes(dash.token));
        // In the browser: without the fragment the page says what to open, and shows no process.
        const p = await newPage(sb.dir);
        try {
          await p.goto(`${dash.base}/`);
          await p.locator('#notice', { hasText: 'needs the token' }).waitFor({ timeout: 90_000 });
          assert.is(await p.locator('#procs tbody tr').count(), 0);
        } finally {
          await p.close();
        }
        assert.not.ok(dash.stderr().includes('warning'), 'no warning on loopback');
      } finally {
        await stopDashboard(dash);
      }
    },
  );

  withSandbox(
    "the token never reaches another port of 127.0.0.1 (a browser sends a host's cookies to all its ports)",
    async (sb) => {
      const dash = await startDashboard(sb);
      // Another server on this machine (any local user's, or a managed process behind a port link).
      let heard = '';
      const other = http.createServer((req, res) => {
        heard += `${JSON.stringify(req.headers)}\n`;
        res.end('<p>other</p>');
      });
      await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()));
      const page = await newPage(sb.dir);
      try {
        await page.goto(dash.url);
        await page.locator('#conn', { hasText: 'live' }).waitFor({ timeout: 90_000 });
        await page.goto(`http://127.0.0.1:${(other.address() as { port: number }).port}/`);
        await page.evaluate(() => fetch('/x')); // a same-site request of its own, too
        assert.ok(heard.includes('"host"'), 'the other server was reached');
        assert.not.ok(heard.includes(dash.token), `the token went to another port: ${heard}`);
      } finally {
        await page.close();
        other.close();
        await stopDashboard(dash);
      }
    },
  );

  withSandbox(
    "opening a PTY process on the page types nothing into it: the replay's terminal queries go unanswered",
    async (sb) => {
      // Device-attributes and cursor-position queries, printed before the prompt: a terminal
      // answers them as if typed; replayed for each viewer they must not reach the process.
      const { id } = await start(sb, [
        '--name',
        'asks',
        '--wait-for',
        'mini> ',
        'sh',
        '-c',
        "printf 'asking\\033[c\\033[6n\\n'; exec python3 tests/fixtures/mini-repl.py",
      ]);
      const dash = await startDashboard(sb);
      const page = await newPage(sb.dir);
      try {
        await page.goto(dash.url);
        await rowOf(page, id).click();
        await page.locator('#term .xterm-rows', { hasText: 'mini>' }).waitFor({ timeout: 90_000 });
        await page.click('#term');
        await page.keyboard.type('z');
        await page.keyboard.press('Enter');
        await page.locator('#term .xterm-rows', { hasText: 'echo: ' }).waitFor({ timeout: 90_000 });
        const input = await run(sb, 'get_logs.ts', [id, '--stream', 'input']);
        assert.is(input.stdout.replace(/\n/g, ''), 'z^M', 'only what was typed (each keystroke its own send)');
        assert.match((await run(sb, 'get_logs.ts', [id])).stdout, /^echo: z$/m);
      } finally {
        await page.close();
        await stopDashboard(dash);
      }
    },
  );

  withSandbox(
    'the page shows a command with C1, U+2028 and bidi controls as list_processes does: escaped, as text',
    async (sb) => {
      const { id } = await start(sb, ['--no-pty', '--', 'true # <b>\u0085\u2028\u202e\u2066</b>']);
      const dash = await startDashboard(sb);
      const page = await newPage(sb.dir);
      try {
        await page.goto(dash.url);
        await rowOf(page, id).waitFor({ timeout: 90_000 });
        const cmd = await rowOf(page, id)
          .locator('.command')
          .evaluate((td) => ({ text: td.textContent, tags: td.children.length }));
        assert.equal(
          cmd,
          { text: 'true # <b>\\x85\\u2028\\u202e\\u2066</b>', tags: 0 },
          'escaped, and no markup made of it',
        );
        const table = await run(sb, 'list_processes.ts', []);
        assert.ok(table.stdout.includes(cmd.text!), 'the same text as the table');
      } finally {
        await page.close();
        await stopDashboard(dash);
      }
    },
  );

  withSandbox(
    '--detach: the dashboard runs as a managed process, gets the token over its handoff only, and stop_process ends it',
    async (sb) => {
      const r = await run(sb, 'dashboard.ts', ['--detach'], { timeoutMs: 120_000 });
      assert.is(r.code, 0, r.stderr);
      const url = new URL(/^Dashboard: (\S+)$/m.exec(r.stdout)![1]!);
      const token = new URLSearchParams(url.hash.slice(1)).get('token')!;
      const base = `${url.protocol}//${url.host}`;
      const listed = (await listJson(sb)).find((p) => p.name === 'dashboard')!;
      assert.is(listed.status, 'running');
      assert.equal(listed.ports, [Number(url.port)]);
      const ok = await request(base, '/api/events', { 'X-BG-Token': token });
      assert.is(ok.status, 200);
      assert.match(ok.body, /"name":"dashboard"/);
      // Neither the token nor the password is in its command line or its log.
      const log = await run(sb, 'get_logs.ts', ['dashboard', '--stream', 'all']);
      assert.match(log.stdout, /Dashboard: http:\/\/127\.0\.0\.1:\d+\/ \(the token was given to the caller\)/);
      for (const secret of [token, PASSWORD]) {
        assert.not.ok(
          log.stdout.includes(secret) || listed.command.includes(secret),
          'no secret in its log or command',
        );
      }
      const stop = await run(sb, 'stop_process.ts', ['dashboard']);
      assert.is(stop.code, 0, stop.stderr);
      assert.match(stop.stdout, /SIGTERM ended it \(exit status 0\)/);
      const after = await request(base, '/', {}).then(
        () => 'answered',
        (e: Error) => e.message,
      );
      assert.match(after, /ECONNREFUSED/, 'nothing listens on its port any more');
    },
  );
}

test.run();
