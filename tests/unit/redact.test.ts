// The redactor (util/redact.ts): generated secrets of each kind found (never fixed examples a
// rule lists as allowed), ordinary log lines left alone, colour and wrapped rows crossed,
// a long line in bounded time. Issue 27, part 1.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import crypto from 'node:crypto';
import {
  redactor,
  redactRows,
  rulesPicked,
  secretValues,
} from '../../skills/background-manager/scripts/lib/util/redact.ts';
import { redactBytes } from '../../skills/background-manager/scripts/lib/log/read/lines.ts';
import { decodeUtf8 } from '../../skills/background-manager/scripts/lib/log/read/render.ts';

const pick = (n: number, alphabet: string) =>
  Array.from(crypto.randomBytes(n), (b) => alphabet[b % alphabet.length]).join('');
const B62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const HEX = '0123456789abcdef';

/** Generated secrets, each with the kind its marker names. */
export function generated(): { kind: string; value: string; line: (v: string) => string }[] {
  return [
    {
      kind: 'aws-access-token',
      value: `AKIA${pick(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}`,
      line: (v) => `aws key ${v} ok`,
    },
    { kind: 'github-pat', value: `ghp_${pick(36, B62)}`, line: (v) => `token: ${v}` },
    { kind: 'gitlab-pat', value: `glpat-${pick(20, B62)}`, line: (v) => `using ${v}` },
    { kind: 'stripe-access-token', value: `sk_live_${pick(24, B62)}`, line: (v) => `stripe ${v}` },
    { kind: 'npm-access-token', value: `npm_${pick(36, B62)}`, line: (v) => `//registry/:_authToken=${v}` },
    {
      kind: 'slack-bot-token',
      value: `xoxb-${pick(12, '0123456789')}-${pick(12, '0123456789')}-${pick(24, B62)}`,
      line: (v) => `slack ${v}`,
    },
    { kind: 'jwt', value: `eyJ${pick(30, B62)}.eyJ${pick(40, B62)}.${pick(40, B62)}`, line: (v) => `jwt ${v}` },
    { kind: 'url-password', value: pick(16, B62), line: (v) => `connecting to postgres://app:${v}@db:5432/main` },
    { kind: 'authorization-header', value: pick(32, B62), line: (v) => `> Authorization: Bearer ${v}` },
    { kind: 'curl-auth-header', value: pick(32, B62), line: (v) => `curl -H 'Authorization: Bearer ${v}' https://api` },
    { kind: 'generic-api-key', value: pick(28, B62), line: (v) => `api_secret = "${v}"` },
  ];
}

test('each generated secret is replaced by the marker of its kind, nothing of it left', () => {
  for (const g of generated()) {
    const r = redactor();
    const out = r.text(g.line(g.value));
    assert.ok(!out.includes(g.value), `${g.kind}: ${out}`);
    assert.ok(out.includes('[REDACTED:'), `${g.kind}: ${out}`);
    if (g.kind !== 'generic-api-key' && g.kind !== 'curl-auth-header')
      assert.ok(out.includes(`[REDACTED:${g.kind}]`), `${g.kind}: ${out}`);
    assert.is(r.hidden, 1, g.kind);
  }
});

test("the keyword scan (a process's first short texts: list_processes) picks the rules the automaton picks", () => {
  const texts = [
    ...generated().flatMap((g) => [g.line(g.value), g.line(g.value).toUpperCase()]),
    "sh -c 'while true; do echo tick; sleep 5; done'",
    'python3 -m http.server 8080',
    'export GITHUB_TOKEN=x AWS_SECRET_ACCESS_KEY=y; curl https://u:p@h/ -H "Authorization: Basic x"',
    'Ünïcödé KEY ſecret İd',
  ];
  for (const t of texts) {
    const { scan, automaton } = rulesPicked(t);
    assert.equal(scan, automaton, t);
  }
});

test('ordinary lines are left as they are', () => {
  const r = redactor();
  const sha = pick(40, HEX);
  const lines = [
    `commit ${sha}`,
    `${sha.slice(0, 7)} Merge branch 'main' of github.com:org/repo`,
    `sha256:${pick(64, HEX)}`,
    `request id ${crypto.randomUUID()} done`,
    'GET /api/users?page=2 200 12ms',
    'Listening on http://localhost:3000/',
    'key: value',
    `data:image/png;base64,${crypto.randomBytes(300).toString('base64')}`,
    'npm run build -- --token-file ./tok',
    'Error: ENOENT: no such file or directory, open /tmp/x',
  ];
  for (const l of lines) assert.is(r.text(l), l);
  assert.is(r.hidden, 0);
});

test('--env values with a secret-looking name (8 characters or more), and --secret-env ones, as whole tokens', () => {
  const pw = pick(12, B62);
  const v = secretValues(
    { DB_PASSWORD: pw, API_KEY: 'short', PORT: '30003000', GH_TOKEN: 'abcdefgh' },
    { PLAIN: 'plainvalue1' },
  );
  assert.equal(Object.keys(v).sort(), ['DB_PASSWORD', 'GH_TOKEN', 'PLAIN']);
  const r = redactor(v);
  assert.is(r.text(`pw=${pw};`), 'pw=[REDACTED:env:DB_PASSWORD];');
  assert.is(r.text('xabcdefghx'), 'xabcdefghx'); // not a whole token
  assert.is(r.text('plainvalue1 here'), '[REDACTED:env:PLAIN] here');
});

test('a secret coloured by escape codes inside it is found in --raw text, the codes inside replaced with it', () => {
  const key = `AKIA${pick(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}`;
  const r = redactor();
  const out = r.raw(`\x1b[1mkey\x1b[0m ${key.slice(0, 6)}\x1b[31m${key.slice(6)}\x1b[0m!`);
  assert.is(out, '\x1b[1mkey\x1b[0m [REDACTED:aws-access-token]\x1b[0m!');
});

test('a private key block is hidden from BEGIN to END across lines, and a body line met alone', () => {
  const r = redactor();
  const body = () => crypto.randomBytes(48).toString('base64');
  const lines = ['-----BEGIN RSA PRIVATE KEY-----', body(), body(), '-----END RSA PRIVATE KEY-----', 'after'];
  const out = lines.map((l) => r.text(l, 'stdout'));
  assert.equal(out, [
    '[REDACTED:private-key]',
    '[REDACTED:private-key]',
    '[REDACTED:private-key]',
    '[REDACTED:private-key]',
    'after',
  ]);
  assert.is(redactor().text(body()), '[REDACTED:private-key]');
});

test('screen rows soft-wrapped into the next are read joined', () => {
  const key = `ghp_${pick(36, B62)}`;
  const row1 = `${'x'.repeat(190)} ${key.slice(0, 9)}`;
  const rows = redactRows(redactor(), [row1, key.slice(9), 'next'], [false, true, false]);
  assert.ok(!rows.join('').includes(key.slice(0, 9)), rows.join('|'));
  assert.ok(!rows.join('').includes(key.slice(9)), rows.join('|'));
  assert.ok(rows.join('').includes('[REDACTED:github-pat]'));
  assert.is(rows[2], 'next');
});

test('a long line full of keywords is read in bounded windows (6 MB here; 60 MB measured in the report)', () => {
  const r = redactor();
  const line = 'key=eyJ curl -H sk_ '.repeat(300_000);
  const t0 = Date.now();
  const out = r.text(line);
  assert.is(out.length, line.length);
  const ms = Date.now() - t0;
  assert.ok(ms < 300_000, `took ${ms} ms`); // linear in the line: a few seconds; a backtracking blow-up is hours
});

test('--raw bytes: a secret in binary output (not UTF-8) is replaced and every other byte is kept', () => {
  const key = `ghp_${pick(36, B62)}`;
  const junk = (n: number) => Buffer.from(Array.from(crypto.randomBytes(n), (b) => b | 0x80)); // never valid UTF-8 alone
  const before = junk(64);
  const after = junk(64);
  const bytes = Buffer.concat([before, Buffer.from(` token: ${key} `), after]);
  const out = redactBytes(bytes, decodeUtf8(bytes), redactor(), 'stdout');
  assert.ok(!out.includes(key), 'the secret is gone');
  assert.equal(out.subarray(0, 64), before, 'the bytes before it are as they were');
  assert.equal(out.subarray(out.length - 64), after, 'the bytes after it are as they were');
  assert.match(out.toString('latin1'), / token: \[REDACTED:github-pat\] /);
  const plain = junk(4096);
  assert.is(redactBytes(plain, decodeUtf8(plain), redactor(), 'stdout'), plain, 'no secret: the very bytes');
});

test.run();
