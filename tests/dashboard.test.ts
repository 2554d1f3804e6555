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

/** A web server on `port`, named web, started as start_process does once it listens. */
const startWeb = (sb: Sandbox, port: number) =>
  start(sb, [
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

const rowOf = (page: Page, id: string) => page.locator(`#procs tr[data-id="${id}"]`);

/**
 * The elements matching `selector` a person cannot see whole: each is scrolled to vertically
 * (the page only), then its box must lie inside the viewport and inside every ancestor that
 * clips (overflow other than visible). An empty list: all are in view.
 */
async function unseen(page: Page, selector: string): Promise<string[]> {
  return page.evaluate((sel) => {
    const bad: string[] = [];
    for (const el of Array.from(document.querySelectorAll(sel))) {
      const what = `${sel} "${(el.textContent ?? '').slice(0, 30)}"`;
      const top = el.getBoundingClientRect().top + scrollY;
      scrollTo(scrollX, Math.max(0, top - 20));
      const r = el.getBoundingClientRect();
      if (r.width < 1 || r.height < 1) bad.push(`${what}: not shown`);
      else if (r.left < -0.5 || r.right > innerWidth + 0.5 || r.top < -0.5 || r.bottom > innerHeight + 0.5)
        bad.push(`${what}: outside the viewport (${r.left},${r.top} to ${r.right},${r.bottom})`);
      for (let a = el.parentElement; a && a !== document.documentElement; a = a.parentElement) {
        const cs = getComputedStyle(a);
        if (cs.overflowX === 'visible' && cs.overflowY === 'visible') continue;
        const b = a.getBoundingClientRect();
        const right = b.left + a.clientLeft + a.clientWidth;
        const bottom = b.top + a.clientTop + a.clientHeight;
        if (r.left < b.left - 0.5 || r.right > right + 0.5 || r.top < b.top - 0.5 || r.bottom > bottom + 0.5)
          bad.push(`${what}: clipped by ${a.tagName.toLowerCase()}${a.id ? `#${a.id}` : ''}.${a.className}`);
      }
    }
    return bad;
  }, selector);
}

/** Of the elements `selectors` names, those wider inside than their box (a sideways scroll). */
async function overflowing(page: Page, selectors: string[]): Promise<string[]> {
  return page.evaluate(
    (sels) =>
      sels.flatMap((sel) =>
        Array.from(document.querySelectorAll(sel))
          .filter((el) => el.scrollWidth > el.clientWidth + 1)
          .map((el) => `${sel}: ${el.scrollWidth} px inside ${el.clientWidth}`),
      ),
    selectors,
  );
}

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
        const web = await startWeb(sb, port);
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
    'the page reads at a glance at 1280x800 and on a 390x844 phone: commands shown, rows of one height, a terminal that fits, no typing into an ended process',
    async (sb) => {
      const long = `sleep 600 # a long command line: ${'every word of it counts '.repeat(12)}end`;
      const port = await freePort();
      const procs = [
        await start(sb, ['--name', 'long-running-worker', '--no-pty', '--', long]),
        await startWeb(sb, port),
        await start(sb, ['--name', 'repl', '--wait-for', 'mini> ', 'python3', 'tests/fixtures/mini-repl.py']),
        await start(sb, ['--name', 'done', 'sh', '-c', 'echo finished; echo all done']),
      ];
      const [, , repl, done] = procs.map((p) => p.id) as [string, string, string, string];
      await waitFor(
        'done to end',
        async () => (await listJson(sb)).find((p) => p.id === done)?.status === 'exited',
        60_000,
      );
      const commands = new Map((await listJson(sb)).map((p) => [p.id, p.command]));
      const dash = await startDashboard(sb);
      const page = await newPage(sb.dir);
      // The page's viewer requests, refused as attach_process refuses (an ended process, a bad size).
      const tok = { 'X-BG-Token': dash.token };
      const ended = await request(dash.base, `/api/view/${done}?cols=80&rows=24`, tok);
      assert.is(ended.status, 409, ended.body);
      assert.match(ended.body, /is not running/);
      assert.is((await request(dash.base, `/api/view/${repl}?cols=0&rows=24`, tok)).status, 400);
      assert.is((await request(dash.base, `/api/view/${repl}`, tok, 'POST')).status, 400);
      const sends: string[] = [];
      page.on('request', (r) => r.url().includes('/api/send/') && sends.push(r.url()));
      const shots = process.env.DASHBOARD_SCREENSHOTS; // `make screenshots`: docs/, the pictures README shows
      try {
        await page.setViewportSize({ width: 1280, height: 800 });
        await page.goto(dash.url);
        for (const { id } of procs) await rowOf(page, id).waitFor({ timeout: 90_000 });
        const glance = async (when: string) => {
          assert.equal(await unseen(page, '#procs td.command'), [], `${when}: every command in view`);
          for (const { id } of procs)
            assert.is(
              await rowOf(page, id).locator('.command').getAttribute('title'),
              commands.get(id),
              `${when}: the whole command on hover`,
            );
          assert.equal(await overflowing(page, ['html', '#list-pane', '#procs']), [], `${when}: no sideways scrolling`);
          const heights = await page.$$eval('#procs tbody tr', (trs) =>
            trs.map((tr) => tr.getBoundingClientRect().height),
          );
          assert.is(new Set(heights.map(Math.round)).size, 1, `${when}: rows of one height (${heights.join(', ')})`);
          const lines = await page.$$eval('#procs td.name', (tds) =>
            tds.map((td) => {
              const r = document.createRange();
              r.selectNodeContents(td);
              return new Set(Array.from(r.getClientRects(), (b) => Math.round(b.top))).size;
            }),
          );
          assert.ok(
            lines.every((n) => n === 1),
            `${when}: names on one line (${lines})`,
          );
        };
        await glance('nothing selected');
        assert.match((await page.locator('#detail-empty').textContent()) ?? '', /select a process/i);
        assert.equal(await unseen(page, '#detail-empty'), [], 'the empty detail pane says what to do');
        await page.screenshot({ path: path.join(sb.dir, 'dashboard-1280-list.png') });

        await rowOf(page, repl).click();
        await page.locator('#term .xterm-rows', { hasText: 'mini>' }).waitFor({ timeout: 90_000 });
        await glance('a process selected');
        // The page is a viewer of the running terminal: the PTY takes the size that fits its pane.
        const fits = async (when: string) => {
          await page
            .waitForFunction(
              () => {
                const view = document.getElementById('term-view')!;
                const screen = document.querySelector('#term .xterm-screen')?.getBoundingClientRect();
                const box = view.getBoundingClientRect();
                return !!screen && screen.right <= box.right && screen.bottom <= box.bottom;
              },
              undefined,
              { timeout: 60_000 },
            )
            .catch(() => undefined); // the assertions below say what is wrong
          assert.equal(
            await overflowing(page, ['html', '#term-view']),
            [],
            `${when}: the terminal scrolls not sideways`,
          );
          assert.equal(await unseen(page, '#term .xterm-screen'), [], `${when}: the whole terminal in view`);
          const px = await page.$eval('#term .xterm-rows', (el) => Number.parseFloat(getComputedStyle(el).fontSize));
          assert.ok(px >= 10, `${when}: a legible font (${px} px)`);
        };
        await fits('1280x800');
        const sized = await waitFor(
          'the PTY resized to the page',
          async () => {
            const ev = (await run(sb, 'get_logs.ts', [repl, '--stream', 'events'])).stdout;
            return /terminal size: (\d+)x(\d+) \(was 200x50\)/.exec(ev) ?? undefined;
          },
          60_000,
          500,
        );
        assert.ok(Number(sized[1]) < 200 && Number(sized[1]) >= 80, `a 1280 px window's columns: ${sized[0]}`);
        assert.ok(await page.locator('#term-view .hint').isVisible(), 'a running PTY process says how to type');
        await page.click('#term');
        await page.keyboard.type('hello from the page');
        await page.keyboard.press('Enter');
        await page.locator('#term .xterm-rows', { hasText: 'echo: hello from the page' }).waitFor({ timeout: 90_000 });
        sends.length = 0;
        await page.screenshot({ path: path.join(sb.dir, 'dashboard-1280-terminal.png') });
        if (shots) await page.screenshot({ path: path.join(shots, 'dashboard.png') });

        // An ended process: its screen, and nothing that takes typing.
        await rowOf(page, done).click();
        await page.locator('#term .xterm-rows', { hasText: 'all done' }).waitFor({ timeout: 90_000 });
        assert.is(await page.locator('#send-form').isVisible(), false, 'no input box or Send');
        assert.is(await page.getByText('Click into the terminal').isVisible(), false);
        assert.is(
          await page
            .locator('#detail :is(input[type=text], textarea:not([readonly]), button[type=submit]):visible')
            .count(),
          0,
        );
        await page.click('#term');
        await page.keyboard.type('x');
        await page.keyboard.press('Enter');
        // Looking away let go of the REPL's terminal: back to its default size, recorded.
        await waitFor(
          'the PTY back to 200x50',
          async () =>
            /terminal size: 200x50 \(was/.test((await run(sb, 'get_logs.ts', [repl, '--stream', 'events'])).stdout),
          60_000,
          500,
        );
        await rowOf(page, repl).click();
        await page.locator('#term .xterm-rows', { hasText: 'mini>' }).waitFor({ timeout: 90_000 });
        assert.equal(sends, [], 'nothing was sent to the ended process');
        assert.ok(await page.locator('#send-form').isVisible(), 'a running process takes input again');

        // A phone: cards, each with its command; nothing wider than the screen.
        await page.setViewportSize({ width: 390, height: 844 });
        await page.evaluate(() => scrollTo(0, 0));
        assert.equal(await overflowing(page, ['html']), [], 'phone: no sideways scrolling');
        assert.equal(await unseen(page, '#procs td.command'), [], 'phone: every card shows its command');
        for (const text of await page.locator('#procs td.command').allTextContents())
          assert.ok(text.length > 0, 'phone: a command in each card');
        await fits('390x844');
        await page.evaluate(() => scrollTo(0, 0));
        if (shots) await page.screenshot({ path: path.join(shots, 'dashboard-phone.png') });
        await page.screenshot({ path: path.join(sb.dir, 'dashboard-phone.png') });

        // Hidden (another tab, a minimised window) the page lets go of the terminal, visible
        // again it holds it again; closed, it lets go.
        const events = async (re: RegExp) =>
          (await run(sb, 'get_logs.ts', [repl, '--stream', 'events'])).stdout.match(re)?.length ?? 0;
        const visibility = (state: string) =>
          page.evaluate((s) => {
            Object.defineProperty(document, 'visibilityState', { value: s, configurable: true });
            document.dispatchEvent(new Event('visibilitychange'));
          }, state);
        const [released, held] = [await events(/viewer detached/g), await events(/viewer attached/g)];
        await visibility('hidden');
        await waitFor('let go while hidden', async () => (await events(/viewer detached/g)) > released, 60_000, 500);
        await visibility('visible');
        await waitFor('held again', async () => (await events(/viewer attached/g)) > held, 60_000, 500);
        await page.close();
        await waitFor('let go on close', async () => (await events(/viewer detached/g)) > released + 1, 60_000, 500);
        assert.match(
          (await run(sb, 'get_logs.ts', [repl, '--stream', 'events'])).stdout,
          /terminal size: 200x50 \(was \d+x\d+\)\n(?![\s\S]*terminal size)/,
          'the default size again, last',
        );
        assert.not.ok(fs.existsSync(path.join(sb.dir, 'page-errors.txt')), 'no page errors');
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
