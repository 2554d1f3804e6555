// Issue 27's promise across the other parts: the event stream (watch_processes, MCP get_events
// and its notifications), get_logs --budget's digest, and a failed start's last lines show
// secrets as [REDACTED:kind], as get_logs does. Real processes, the scripts as a user runs them,
// the MCP server through the SDK's own client.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import crypto from 'node:crypto';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { waitFor, withSandbox, type Sandbox, viaFastPath } from './helpers.ts';
import { mcpTest, textOf } from './mcp-helpers.ts';
import { watch } from './watch-helpers.ts';

// Every script through the fast path (node dist/<x>.mjs, the same sources bundled), as
// logs.test.ts: a third of tsx's CPU per call; none of these assertions is about the form.
const { listJson, run, start } = viaFastPath;

const pick = (n: number, a: string) => Array.from(crypto.randomBytes(n), (b) => a[b % a.length]).join('');
const awsKey = () => `AKIA${pick(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}`;
const password = () => pick(16, 'abcdefghijkmnopqrstuvwxyz23456789');

/**
 * A process printing two kinds of secret (a key the rules know, an --env value), given through
 * variables so that its command line holds neither, and ending with an error line holding one.
 */
function secretArgs(k: string, pw: string, extra = ''): string[] {
  const script = `sleep 1.5; ${extra}echo "aws $AWS_K"; echo "pw $DB_PASSWORD"; echo "Error: login failed with $DB_PASSWORD" >&2; sleep 0.3; exit 3`;
  return ['--no-pty', '--env', `AWS_K=${k}`, '--env', `DB_PASSWORD=${pw}`, '--', 'sh', '-c', script];
}

function assertHidden(text: string, k: string, pw: string, what: string): void {
  assert.ok(!text.includes(k), `${what} shows the key:\n${text}`);
  assert.ok(!text.includes(pw), `${what} shows the password:\n${text}`);
}

withSandbox(
  'watch_processes (plain and --json, --match) shows secrets as [REDACTED:kind]; --match sees the redacted text; --reveal shows them',
  async (sb) => {
    const k = awsKey();
    const pw = password();
    // The first start makes the data dir's key: the watchers need one to read events with.
    await start(sb, ['--', 'true']);
    // --new: each prints the state now first, once it reads from the event log's end.
    const json = watch(sb, ['--new', '--json', '--match', 'aws|pw|REDACTED']);
    const plain = watch(sb, ['--new', '--match', 'aws|pw']);
    const raw = watch(sb, ['--new', '--json', '--match', k.slice(0, 12)]);
    const shown = watch(sb, ['--new', '--json', '--reveal', '--match', k.slice(0, 12)]);
    for (const w of [json, plain, raw, shown]) await w.line(/"event":"summary"| now: /, 30_000);
    await start(sb, secretArgs(k, pw));
    await json.line(/"event":"failed"/, 30_000);
    await plain.line(/ failed: /, 30_000);
    await shown.line(/"event":"failed"/, 30_000);
    await raw.line(/"event":"failed"/, 30_000);
    const j = json.lines.join('\n');
    assertHidden(j, k, pw, 'watch_processes --json');
    assert.match(j, /"line":"aws \[REDACTED:aws-access-token\]"/);
    assert.match(j, /"line":"Error: login failed with \[REDACTED:env:DB_PASSWORD\]"/);
    const p = plain.lines.join('\n');
    assertHidden(p, k, pw, 'watch_processes');
    assert.match(p, /output: aws \[REDACTED:aws-access-token\]/);
    assert.match(p, /failed: .*\[REDACTED:env:DB_PASSWORD\]/);
    // A pattern for the secret itself matches nothing unless --reveal.
    assert.ok(!raw.lines.some((l) => l.includes('"event":"output"')), raw.lines.join('\n'));
    assert.ok(
      shown.lines.some((l) => l.includes(`"line":"aws ${k}"`)),
      shown.lines.join('\n'),
    );
    assert.ok(shown.lines.join('\n').includes(pw), shown.lines.join('\n'));
    for (const w of [json, plain, raw, shown]) await w.stop();
  },
);

mcpTest('MCP get_events and its notifications show secrets as [REDACTED:kind]', async (sb, _note, open) => {
  const k = awsKey();
  const pw = password();
  await start(sb, ['--', 'true']);
  const s = await open();
  const got: unknown[] = [];
  s.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    if (n.params.logger === 'background-manager.events') got.push(n.params.data);
  });
  await s.client.subscribeResource({ uri: 'bg://events' });
  await start(sb, secretArgs(k, pw));
  await waitFor('the failed notification', () => got.some((g) => JSON.stringify(g).includes('"failed"')), 30_000);
  const notes = JSON.stringify(got);
  assertHidden(notes, k, pw, 'the notifications');
  assert.match(notes, /\[REDACTED:env:DB_PASSWORD\]/);
  const res = await s.call('get_events', { since: 0 });
  assertHidden(textOf(res), k, pw, 'get_events text');
  assertHidden(JSON.stringify(res.structuredContent), k, pw, 'get_events structured');
  assert.match(textOf(res), /failed: .*\[REDACTED:env:DB_PASSWORD\]/);
  const resource = await s.client.readResource({ uri: 'bg://events' });
  assertHidden(JSON.stringify(resource), k, pw, 'bg://events');
});

const ended = (sb: Sandbox, id: string) =>
  waitFor(
    'the process to end',
    async () => (await listJson(sb)).some((p) => p.id === id && p.status.startsWith('exited')),
    30_000,
  );

withSandbox(
  'get_logs --budget digests redacted lines, --grep matches redacted text, --reveal shows them',
  async (sb) => {
    const k = awsKey();
    const pw = password();
    const { id } = await start(sb, secretArgs(k, pw, 'seq 1 300; '));
    await ended(sb, id);
    const d = await run(sb, 'get_logs.ts', [id, '--budget', '500', '--stream', 'all']);
    assertHidden(d.stdout, k, pw, 'get_logs --budget');
    assert.match(d.stdout, /\[REDACTED:aws-access-token\]/);
    assert.match(d.stdout, /Error: login failed with \[REDACTED:env:DB_PASSWORD\]/);
    assert.match(d.stderr, /get_logs: note: 2 secrets were hidden as \[REDACTED:kind\].*--reveal shows them/);
    const g = await run(sb, 'get_logs.ts', [id, '--budget', '500', '--grep', k.slice(0, 12)]);
    assertHidden(g.stdout, k, pw, 'get_logs --budget --grep');
    assert.match(g.stdout, /digest of 0 lines/);
    const r = await run(sb, 'get_logs.ts', [id, '--budget', '500', '--grep', k.slice(0, 12), '--reveal']);
    assert.match(r.stdout, new RegExp(`aws ${k}`));
    assert.is(r.stderr, '');
  },
);

mcpTest('MCP get_logs budget, and its default digest, are made of redacted lines', async (sb, _note, open) => {
  const k = awsKey();
  const pw = password();
  const { id } = await start(sb, secretArgs(k, pw, 'seq 1 3000; '));
  await ended(sb, id);
  const s = await open();
  for (const args of [
    { id, budget: 500, stream: 'all' },
    { id, stream: 'all' },
  ]) {
    const res = await s.call('get_logs', args);
    const text = textOf(res);
    assertHidden(text + JSON.stringify(res.structuredContent), k, pw, `get_logs ${JSON.stringify(args)}`);
    assert.match(text, /digest of/);
    assert.match(text, /\[REDACTED:env:DB_PASSWORD\]/);
    assert.match(text, /secrets? (was|were) hidden/);
  }
  const shown = await s.call('get_logs', { id, budget: 500, reveal: true });
  assert.ok(textOf(shown).includes(k), textOf(shown));
});

withSandbox("a failed start_process --wait-for prints its last lines' secrets as [REDACTED:kind]", async (sb) => {
  const k = awsKey();
  const pw = password();
  const out = await run(sb, 'start_process.ts', ['--wait-for', 'never-printed', ...secretArgs(k, pw)]);
  assert.is(out.code, 1, out.stdout + out.stderr);
  assertHidden(out.stdout + out.stderr, k, pw, 'start_process --wait-for');
  assert.match(out.stdout, /aws \[REDACTED:aws-access-token\]/);
  assert.match(out.stdout, /Error: login failed with \[REDACTED:env:DB_PASSWORD\]/);
});

// The line that made it ready is printed (`Ready: <line>`): a server that prints its URL with a
// token in it (Jupyter does) must not show it either.
withSandbox("a start's Ready: line shows the secret as [REDACTED:kind]", async (sb) => {
  const k = awsKey();
  const pw = password();
  const out = await run(sb, 'start_process.ts', [
    '--wait-for',
    'serving',
    '--no-pty',
    '--env',
    `AWS_K=${k}`,
    '--env',
    `DB_PASSWORD=${pw}`,
    '--',
    'sh',
    '-c',
    'echo "serving with $AWS_K and $DB_PASSWORD"; sleep 30',
  ]);
  assert.is(out.code, 0, out.stdout + out.stderr);
  assertHidden(out.stdout + out.stderr, k, pw, 'start_process --wait-for');
  assert.match(out.stdout, /Ready: serving with \[REDACTED:aws-access-token\] and \[REDACTED:env:DB_PASSWORD\]/);
  await run(sb, 'stop_process.ts', [(await listJson(sb))[0]!.id]);
});

test.run();
