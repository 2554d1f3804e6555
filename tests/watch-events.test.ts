// watch_processes and the event log (issue 26, part 2), with real processes: each event kind
// as its line, --json, filters, --match's rate limit, a flood folded, --until-idle, --timeout,
// --new across two watchers with an exit between them, and the folder watch going on after the
// state file was replaced by rename many times (the fallback poll made too slow to help); the
// waiting-input event with its prompt (part 1's detector); the
// MCP server's events, to a subscribed client of the SDK's own and by get_events' cursor.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { chromium } from 'playwright-core';
import { freePort, run, skip, start, track, waitFor, withSandbox, PASSWORD, SCRIPTS, ROOT } from './helpers.ts';
import { unlock } from '../skills/background-manager/scripts/lib/store/keys.ts';
import { appendEvent } from '../skills/background-manager/scripts/lib/store/events.ts';
import {
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { mcpTest, textOf } from './mcp-helpers.ts';
import { watch, type Watcher } from './watch-helpers.ts';

/** Watchers print one line per event once they run: the first line shows they are watching. */
async function ready(w: Watcher): Promise<void> {
  await w.line(/ now: /);
}

const T = '\\d\\d:\\d\\d:\\d\\d';

withSandbox('each event kind as one short line: started, ready, port opened and closed, stopped', async (sb) => {
  const port = await freePort();
  await run(sb, 'list_processes.ts', []);
  const w = watch(sb, ['--new']);
  await ready(w);
  const py = `import socket; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', ${port})); s.listen(); print('up', flush=True); input(); s.close(); print('closed', flush=True); input()`;
  const web = await start(sb, ['--name', 'web', '--no-pty', '--wait-port', String(port), 'python3', '-c', py]);
  await w.line(new RegExp(`^${T} web started: python3 -c .* \\(PID ${web.pid}\\)$`));
  await w.line(new RegExp(`^${T} web ready: listening on port ${port}$`));
  await w.line(new RegExp(`^${T} web port-opened: listening on port ${port}$`));
  assert.is((await run(sb, 'send_input.ts', ['web', ''])).code, 0);
  await w.line(new RegExp(`^${T} web port-closed: port ${port} closed$`));
  const s = await run(sb, 'stop_process.ts', ['web']);
  assert.is(s.code, 0, s.stderr);
  await w.line(new RegExp(`^${T} web stopped: SIGTERM, stopped by stop_process$`));
  // A --wait-for start: ready names the line that did it.
  await start(sb, ['--name', 'greeter', '--wait-for', 'hello', '--', 'sh', '-c', 'echo hello there; sleep 60']);
  await w.line(new RegExp(`^${T} greeter ready: hello there$`));
  assert.is(await w.stop(), 0);
});

withSandbox('exited, failed (with its last error line), killed, restarted (why), in --json', async (sb) => {
  const w = watch(sb, ['--new', '--json']);
  await w.line(/"event":"summary"/);
  await start(sb, ['--name', 'ok', 'true']);
  await start(sb, ['--name', 'broken', '--', 'sh', '-c', 'echo "Error: cannot open db.sqlite" >&2; echo bye; exit 3']);
  const sleeper = await start(sb, ['--name', 'sleeper', 'sleep', '600']);
  await start(sb, ['--name', 'flaky', '--restart', 'on-failure', '--max-restarts', '1', '--', 'sh', '-c', 'exit 4']);
  const parsed = () => w.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const find = (name: string, event: string) =>
    waitFor(`${name} ${event} in ${w.lines.join('\n')}`, () =>
      parsed().find((e) => e.name === name && e.event === event),
    );
  const ok = await find('ok', 'exited');
  assert.is(ok.exitCode, 0);
  assert.is(ok.text, 'code 0');
  assert.type(ok.seq, 'number');
  const broken = await find('broken', 'failed');
  assert.is(broken.exitCode, 3);
  assert.is(broken.line, 'Error: cannot open db.sqlite');
  assert.is(broken.text, 'code 3: Error: cannot open db.sqlite');
  process.kill(sleeper.pid, 'SIGKILL');
  const killed = await find('sleeper', 'killed');
  assert.is(killed.signal, 'SIGKILL');
  const restarted = await find('flaky', 'restarted');
  assert.is(restarted.reason, 'exited with code 4');
  const gaveUp = await find('flaky', 'failed');
  assert.match(String(gaveUp.text), /^code 4, not restarted: all 1 restarts used$/);
  // Every line is one JSON object; seqs only grow.
  const seqs = parsed()
    .map((e) => e.seq)
    .filter((s) => typeof s === 'number') as number[];
  assert.equal(
    seqs,
    [...seqs].sort((a, b) => a - b),
  );
  assert.is(await w.stop(), 0);
});

withSandbox('filters: by name and by --events; other processes and kinds are not shown', async (sb) => {
  const w = watch(sb, ['--new', 'web', '--events', 'stopped,exited']);
  // The name must exist when the watch starts: a bad one is refused (exit 4, one line).
  assert.is(await w.exited, 4);
  assert.match(w.stderr(), /^watch_processes: error: no process with ID or name "web"/);
  await start(sb, ['--name', 'web', 'sleep', '600']);
  await start(sb, ['--name', 'other', 'sleep', '600']);
  const f = watch(sb, ['--new', 'web', '--events', 'stopped,exited']);
  await ready(f);
  await run(sb, 'stop_process.ts', ['other']);
  await run(sb, 'stop_process.ts', ['web']);
  await f.line(/ web stopped: /);
  // Everything of other's came before web's stop: none of it was shown, nor web's start.
  assert.is(f.lines.length, 2, f.lines.join('\n'));
  assert.is(await f.stop(), 0);
});

withSandbox('bad input: one line on stderr, exit 2, nothing written', async (sb) => {
  for (const args of [
    ['--events', 'bogus'],
    ['--match', '('],
    ['--timeout', '-1'],
    ['--events', 'output'],
  ]) {
    const r = await run(sb, 'watch_processes.ts', args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^watch_processes: error: /);
  }
  assert.not.ok(fs.existsSync(sb.env.BG_DATA_DIR!), 'no data dir made');
});

withSandbox('--match: output lines, at most one a second per process, the rest counted', async (sb) => {
  const w = watch(sb, ['--new', '--match', '^hit \\d+$', '--events', 'output']);
  await ready(w);
  await start(sb, [
    '--name',
    'chatty',
    '--',
    'sh',
    '-c',
    'for i in $(seq 1 300); do echo "hit $i"; echo miss; done; sleep 600',
  ]);
  // 300 matching lines: the first at once, the rest folded into counts.
  const counted = () =>
    w.lines
      .filter((l) => / chatty output: hit \d+/.test(l))
      .reduce((n, l) => n + 1 + Number(/\(\+(\d+) more matching lines?\)$/.exec(l)?.[1] ?? 0), 0);
  await waitFor(`300 hits counted in ${w.lines.join('\n')}`, () => counted() === 300, 20_000);
  const shown = w.lines.filter((l) => / output: /.test(l));
  assert.ok(shown.length <= 4, shown.join('\n'));
  assert.match(shown[0]!, new RegExp(`^${T} chatty output: hit 1$`));
  assert.match(shown.at(-1)!, /output: hit 300 \(\+\d+ more matching lines\)$/);
  assert.not.ok(w.lines.some((l) => /miss/.test(l)));
  assert.is(await w.stop(), 0);
});

withSandbox('a flood is folded: a few lines a second, with the count of the rest', async (sb) => {
  await run(sb, 'list_processes.ts', []);
  const w = watch(sb, ['--new']);
  await ready(w);
  // 200 events at once, through the same append the supervisors use.
  fs.mkdirSync(sb.env.BG_DATA_DIR!, { recursive: true });
  const keys = unlock(sb.env.BG_DATA_DIR!, PASSWORD, { create: true })!.keys;
  for (let i = 0; i < 200; i++)
    await appendEvent(sb.env.BG_DATA_DIR!, keys, {
      id: `0000${String(i).padStart(4, '0')}`,
      event: 'exited',
      text: 'code 0',
    });
  const total = () =>
    w.lines.slice(1).reduce((n, l) => n + (Number(/ (\d+) more events? folded/.exec(l)?.[1]) || 1), 0);
  await waitFor(`200 events in ${w.lines.join('\n')}`, () => total() === 200, 20_000);
  const lines = w.lines.slice(1);
  // At most 4 lines and a fold line per second, over the seconds the appends took.
  const secs = (l: string) => {
    const [h, m, s] = l.slice(0, 8).split(':').map(Number);
    return h! * 3600 + m! * 60 + s!;
  };
  const span = (secs(lines.at(-1)!) - secs(lines[0]!) + 86_400) % 86_400;
  assert.ok(lines.length <= 5 * (span + 2), `${lines.length} lines in ${span} s:\n${lines.join('\n')}`);
  assert.ok(
    lines.some((l) => /\d+ more events folded \(\d+ exited; ended: /.test(l)),
    lines.join('\n'),
  );
  assert.is(await w.stop(), 0);
});

withSandbox('--until-idle ends once nothing watched runs; --timeout ends with 124', async (sb) => {
  await start(sb, ['--name', 'reader', '--no-pty', 'head', '-n', '1']);
  const w = watch(sb, ['reader', '--until-idle']);
  await waitFor('the watcher running', () => fs.existsSync(`/proc/${w.child.pid}`));
  // Not idle yet: it waits for input.
  const t = watch(sb, ['--timeout', '1']);
  assert.is(await t.exited, 124, t.stderr());
  assert.is(w.child.exitCode, null);
  await run(sb, 'send_input.ts', ['reader', 'line']);
  assert.is(await w.exited, 0, w.stderr());
  assert.match(w.lines.join('\n'), / reader exited: code 0/);
});

withSandbox('--new: an exit between two watchers is not lost, and not shown twice', async (sb) => {
  await start(sb, ['--name', 'job', '--no-pty', 'head', '-n', '1']);
  await start(sb, ['--name', 'srv', 'sleep', '600']);
  const a = watch(sb, ['--new']);
  await a.line(new RegExp(`^${T} now: 2 running \\(job, srv\\)$`));
  // Its place is saved shortly after the line: wait until a second watcher of the view sees it.
  assert.is(await a.stop(), 0);
  await run(sb, 'send_input.ts', ['job', 'go']);
  await waitFor('job ended', async () => /exited/.test((await run(sb, 'list_processes.ts', [])).stdout));
  const b = watch(sb, ['--new']);
  await b.line(new RegExp(`^${T} now: 1 running \\(srv\\); 1 ended \\(job exited\\(0\\)\\)$`));
  await b.line(new RegExp(`^${T} job exited: code 0$`));
  assert.is(await b.stop(), 0);
  const c = watch(sb, ['--new']);
  await ready(c);
  await run(sb, 'stop_process.ts', ['srv']);
  await c.line(/ srv stopped: /);
  assert.not.ok(
    c.lines.some((l) => / job exited/.test(l)),
    c.lines.join('\n'),
  );
  assert.is(await c.stop(), 0);
  // Another view (other filters) keeps its own place.
  const d = watch(sb, ['--new', '--events', 'exited']);
  await ready(d);
  assert.is(await d.stop(), 0);
});

withSandbox('the folder watch still sees events after the state file was replaced many times', async (sb) => {
  await run(sb, 'list_processes.ts', []);
  // The fallback poll made slower than the test: only the folder watch can deliver in time.
  const w = watch(sb, ['--new'], { BG_WATCH_POLL_MS: '600000' });
  await ready(w);
  const state = path.join(sb.env.BG_DATA_DIR!, 'processes.json.enc');
  for (let i = 0; i < 4; i++) {
    const before = fs.existsSync(state) ? fs.statSync(state).ino : 0;
    await start(sb, ['--name', `n${i}`, 'sleep', '600']);
    assert.is.not(fs.statSync(state).ino, before, 'replaced by rename');
    await w.line(new RegExp(` n${i} started: sleep 600`));
  }
  await run(sb, 'stop_process.ts', ['n3']);
  await w.line(/ n3 stopped: /);
  assert.is(await w.stop(), 0);
});

mcpTest(
  'MCP: a client subscribed to bg://events is sent each event; get_events pages by cursor',
  async (_sb, note, open) => {
    const { client, call } = await open();
    const got: Record<string, unknown>[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      note(`<- notifications/message ${JSON.stringify(n.params.data)}`);
      if (n.params.logger === 'background-manager.events') got.push(n.params.data as Record<string, unknown>);
    });
    const updated: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updated.push(n.params.uri));
    await client.subscribeResource({ uri: 'bg://events' });
    const started = await call('start_process', { command: ['sleep', '600'], name: 'napper' });
    assert.not.ok(started.isError, textOf(started));
    const ev = await waitFor(`a started event in ${JSON.stringify(got)}`, () =>
      got.find((e) => e.event === 'started' && e.name === 'napper'),
    );
    assert.match(String(ev.text), /^sleep 600 \(PID \d+\)$/);
    await waitFor('resources/updated for bg://events', () => updated.includes('bg://events'));
    // Polling instead: the latest, then only what came after the cursor.
    const first = await call('get_events', {});
    const { next } = first.structuredContent as { next: number };
    assert.match(textOf(first), /\d\d:\d\d:\d\d napper started: sleep 600/);
    assert.not.ok((await call('stop_process', { ids: ['napper'] })).isError);
    const after = await waitFor('the stop in get_events', async () => {
      const r = await call('get_events', { since: next, events: ['stopped'] });
      return (r.structuredContent as { events: unknown[] }).events.length ? r : undefined;
    });
    assert.match(textOf(after), /^\d\d:\d\d:\d\d napper stopped: SIGTERM, stopped by stop_process\nnext: \d+$/);
    const bad = await call('get_events', { processes: ['nosuch'] });
    assert.ok(bad.isError);
    assert.match(textOf(bad), /get_events: error: no process with ID or name "nosuch"/);
  },
);

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
withSandbox("the dashboard's recent events: a new event shows on the open page without a reload", async (sb) => {
  if (!fs.existsSync(CHROMIUM)) return skip(`the page's events: no chromium at ${CHROMIUM}`);
  await start(sb, ['--name', 'early', 'sleep', '600']);
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(SCRIPTS, 'dashboard.ts')], {
    env: sb.env,
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(sb, child.pid!);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const url = await waitFor('the Dashboard line', () => /^Dashboard: (\S+)$/m.exec(out)?.[1], 60_000);
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(url);
    const items = page.locator('#events-pane li');
    await waitFor('the earlier start listed', async () =>
      /early started: sleep 600/.test((await items.first().textContent()) ?? ''),
    );
    await run(sb, 'stop_process.ts', ['early']);
    await waitFor('the stop on top', async () =>
      /^\d\d:\d\d:\d\d early stopped: SIGTERM, stopped by stop_process$/.test(
        (await items.first().textContent()) ?? '',
      ),
    );
    assert.is(await items.count(), 2);
  } finally {
    await browser.close();
    child.kill('SIGTERM');
  }
});

withSandbox("REFERENCE.md's Monitor command and plugin monitors.json run as written", async (sb) => {
  const ref = fs.readFileSync(path.join(ROOT, 'skills/background-manager/references/REFERENCE.md'), 'utf8');
  const monitorCmd = /^```text\n(node skills\/background-manager\/dist\/watch_processes\.mjs --new [^\n]*)\n```$/m.exec(
    ref,
  )?.[1];
  assert.ok(monitorCmd, 'the Monitor recipe is in REFERENCE.md');
  const entries = JSON.parse(/^```json\n(\[[\s\S]*?\])\n```$/m.exec(ref)![1]!) as Record<string, string>[];
  assert.is(entries.length, 1);
  assert.equal(Object.keys(entries[0]!).sort(), ['command', 'description', 'name']);
  // The plugin's command as the host runs it: a shell, ${CLAUDE_PLUGIN_ROOT} the plugin's root.
  for (const cmd of [monitorCmd!, entries[0]!.command!]) {
    const child = spawn('sh', ['-c', `exec ${cmd}`], {
      cwd: ROOT,
      env: { ...sb.env, CLAUDE_PLUGIN_ROOT: ROOT },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    track(sb, child.pid!);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    await waitFor(`the summary line (${cmd}): ${out}`, () => / now: /.test(out), 30_000);
    await start(sb, ['--name', 'svc', '--wait-for', 'up', '--', 'sh', '-c', 'echo up; sleep 600']);
    await waitFor(`svc ready in ${out}`, () => / svc ready: up$/m.test(out), 20_000);
    await run(sb, 'stop_process.ts', ['svc']);
    await run(sb, 'remove_process.ts', ['svc']);
    const closed = new Promise((r) => child.on('close', r));
    child.kill('SIGTERM');
    await closed;
  }
});

withSandbox('waiting for input: one line with the prompt, under a PTY and with --no-pty', async (sb) => {
  const w = watch(sb, ['--new']);
  await ready(w);
  const py = "name = input('Your name? '); print('hello', name); input('Again? ')";
  await start(sb, ['--name', 'asker', 'python3', '-c', py]);
  await start(sb, ['--name', 'piped', '--no-pty', 'python3', '-c', py]);
  await w.line(new RegExp(`^${T} asker waiting-input: Your name\\?$`));
  await w.line(new RegExp(`^${T} piped waiting-input: Your name\\?$`));
  await run(sb, 'send_input.ts', ['asker', 'Ada']);
  await w.line(new RegExp(`^${T} asker waiting-input: Again\\?$`));
  assert.is(await w.stop(), 0);
});

test.run();
