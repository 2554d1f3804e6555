// Secrets hidden from what agents read (issue 27, part 1): real processes, real encrypted logs,
// the scripts as a user runs them, and the MCP server through the SDK's own client.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import crypto from 'node:crypto';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { chromium } from 'playwright-core';
import { SCRIPTS, track, waitFor, withSandbox, type Sandbox, viaFastPath } from './helpers.ts';
import { mcpTest, textOf } from './mcp-helpers.ts';

// Every script through the fast path (node dist/<x>.mjs, the same sources bundled), as
// logs.test.ts: a third of tsx's CPU per call; none of these assertions is about the form.
const { listJson, run, start } = viaFastPath;

const pick = (n: number, a: string) => Array.from(crypto.randomBytes(n), (b) => a[b % a.length]).join('');
const awsKey = () => `AKIA${pick(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}`;
const logs = (sb: Sandbox, args: string[]) => run(sb, 'get_logs.ts', args);
const ended = async (sb: Sandbox, id: string) =>
  waitFor(
    'the process to end',
    async () => (await listJson(sb)).some((p) => p.id === id && p.status.startsWith('exited')),
    20_000,
  );

withSandbox(
  'a secret in a line, split over two records, coloured, and an --env value: hidden in every read mode; --reveal restores them',
  async (sb) => {
    const k = awsKey();
    const pw = pick(14, 'abcdefghijkmnopqrstuvwxyz23456789');
    const script = `echo "aws ${k}"; printf 'split ${k.slice(0, 10)}'; sleep 0.5; printf '${k.slice(10)} end\\n'; printf 'col \\033[31m${k.slice(0, 8)}\\033[0m${k.slice(8)}\\n'; echo "pw ${pw}"; sleep 1`;
    const { id } = await start(sb, ['--env', `DB_PASSWORD=${pw}`, '--', 'sh', '-c', script]);
    await ended(sb, id);
    for (const mode of [
      [],
      ['-n', '0'],
      ['--new'],
      ['--since', '1h'],
      ['--raw'],
      ['--json'],
      ['-f'],
      ['--stream', 'all'],
    ]) {
      const out = await logs(sb, [id, ...mode]);
      // --stream all shows the start event, which quotes the command: this one holds the key in
      // pieces (its printf halves), which no rule sees as a key (a documented limit).
      assert.ok(!out.stdout.includes(mode[1] === 'all' ? k : k.slice(8)), `${mode.join(' ')}: ${out.stdout}`);
      assert.ok(!out.stdout.includes(pw), `${mode.join(' ')}: ${out.stdout}`);
      assert.ok(out.stdout.includes('[REDACTED:aws-access-token]'), `${mode.join(' ')}: ${out.stdout}`);
      assert.match(out.stderr, /get_logs: note: [23] secrets were hidden as \[REDACTED:kind\].*--reveal shows them/);
    }
    const plain = await logs(sb, [id]);
    assert.match(plain.stdout, /^aws \[REDACTED:aws-access-token\]$/m);
    assert.match(plain.stdout, /^split \[REDACTED:aws-access-token\] end$/m);
    assert.match(plain.stdout, /^col \[REDACTED:aws-access-token\]$/m);
    assert.match(plain.stdout, /^pw \[REDACTED:env:DB_PASSWORD\]$/m);
    // --grep for the raw secret finds nothing; with --reveal it finds it, exactly.
    const grep = await logs(sb, [id, '--grep', k.slice(0, 12)]);
    assert.is(grep.stdout, '');
    const shown = await logs(sb, [id, '--grep', k.slice(0, 12), '--reveal']);
    assert.is(shown.stdout, `aws ${k}\nsplit ${k} end\ncol ${k}\n`);
    assert.is(shown.stderr, '');
    // --wait-for matches the redacted text only.
    const miss = await logs(sb, [id, '--wait-for', k.slice(4, 14), '--timeout', '1']);
    assert.ok(!miss.stdout.includes(k.slice(8)), miss.stdout);
    const hit = await logs(sb, [id, '--wait-for', 'REDACTED:env:DB_PASSWORD']);
    assert.is(hit.stdout, 'pw [REDACTED:env:DB_PASSWORD]\n');
  },
);

withSandbox('input sent, a command line, and --secret-env for an inherited variable', async (sb) => {
  const tok = `ghp_${pick(36, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789')}`;
  const mine = pick(20, 'abcdefghijkmnopqrstuvwxyz');
  const env = { ...sb.env, MY_VALUE: mine };
  const out = await run(
    sb,
    'start_process.ts',
    [
      '--no-pty',
      '--secret-env',
      'MY_VALUE',
      '--',
      'sh',
      '-c',
      `echo "$MY_VALUE"; read x; echo got; echo ${tok} >/dev/null`,
    ],
    { env },
  );
  assert.is(out.code, 0, out.stderr);
  const id = /Started process ([0-9a-f]{8})/.exec(out.stdout)![1]!;
  await run(sb, 'send_input.ts', [id, `login ${tok}`]);
  await ended(sb, id);
  const input = await logs(sb, [id, '--stream', 'input']);
  assert.is(input.stdout, '[REDACTED:github-pat]\n'.replace('[', 'login ['));
  const o = await logs(sb, [id]);
  assert.match(o.stdout, /^\[REDACTED:env:MY_VALUE\]$/m);
  const list = await run(sb, 'list_processes.ts', []);
  assert.ok(!list.stdout.includes(tok), list.stdout);
  assert.ok(list.stdout.includes('[REDACTED:github-pat]'), list.stdout);
  const json = await run(sb, 'list_processes.ts', ['--json']);
  assert.ok(!json.stdout.includes(tok) && !json.stdout.includes(mine), json.stdout);
  const bad = await run(sb, 'start_process.ts', ['--secret-env', 'NOPE_NOT_SET', '--', 'true']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /--secret-env NOPE_NOT_SET: no such variable/);
});

mcpTest('MCP get_logs hides secrets unless reveal, and says so', async (sb, _note, open) => {
  const k = awsKey();
  const { id } = await start(sb, ['--', 'sh', '-c', `echo "key ${k}"; sleep 0.2`]);
  await ended(sb, id);
  const s = await open();
  const res = await s.call('get_logs', { id });
  assert.ok(!textOf(res).includes(k), textOf(res));
  assert.match(textOf(res), /key \[REDACTED:aws-access-token\]/);
  assert.match(textOf(res), /1 secret was hidden.*reveal: true shows them/);
  const grep = await s.call('get_logs', { id, grep: k.slice(0, 10) });
  assert.ok(!textOf(grep).includes(k), textOf(grep));
  const shown = await s.call('get_logs', { id, reveal: true });
  assert.match(textOf(shown), new RegExp(`key ${k}`));
});

withSandbox('the page shows markers, and the secret on a click; its command cell a marker', async (sb) => {
  const k = awsKey();
  const { id } = await start(sb, ['--no-pty', '--', 'sh', '-c', `echo "key ${k} here"; sleep 60`]);
  const dash = spawn(process.execPath, ['--import', 'tsx', path.join(SCRIPTS, 'dashboard.ts')], {
    env: sb.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(sb, dash.pid!);
  let out = '';
  dash.stdout!.on('data', (d) => (out += d));
  const url = await waitFor('the Dashboard line', () => /^Dashboard: (\S+)$/m.exec(out)?.[1], 60_000);
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' });
  try {
    const page = await browser.newPage();
    await page.goto(url);
    const row = page.locator(`#procs tr[data-id="${id}"]`);
    await row.waitFor({ timeout: 90_000 });
    assert.match((await row.locator('.command').textContent()) ?? '', /\[REDACTED:aws-access-token\]/);
    assert.ok(!((await row.locator('.command').textContent()) ?? '').includes(k));
    await row.click();
    const secret = page.locator('#log .secret');
    await secret.waitFor({ timeout: 90_000 });
    assert.is(await secret.textContent(), '[REDACTED:aws-access-token]');
    assert.is(await page.locator('#log .l').first().textContent(), 'key [REDACTED:aws-access-token] here');
    await secret.click();
    assert.is(await page.locator('#log .l').first().textContent(), `key ${k} here`);
  } finally {
    await browser.close();
    dash.kill('SIGTERM');
    await run(sb, 'stop_process.ts', [id]);
  }
});

test.run();
