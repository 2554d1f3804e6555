// get_logs --budget (issue 27, part 2): a digest of large generated logs written by real
// processes into real encrypted logs. A flood of repeats, near-repeats, a progress bar, a stack
// trace in the middle of 100k lines, a real failing `node --test` and `pytest` run: the error
// survives, the output holds the budget (characters measured), the note names a narrower read;
// --new moves its position; refusals; the MCP tool's budget and its default.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { withSandbox, waitFor, skip, type Sandbox, viaFastPath } from './helpers.ts';
import { mcpTest, textOf } from './mcp-helpers.ts';

// Every script through the fast path (node dist/<x>.mjs, the same sources bundled), as
// logs.test.ts: a third of tsx's CPU per call; none of these assertions is about the form.
const { run, start, listJson } = viaFastPath;

const logs = (sb: Sandbox, id: string, args: string[] = []) => run(sb, 'get_logs.ts', [id, ...args]);
const CHARS_PER_TOKEN = 4;

/** Start `script` (node -e) without a terminal and wait until it has exited. */
async function ran(sb: Sandbox, args: string[]): Promise<string> {
  const { id } = await start(sb, ['--no-pty', ...args]);
  await waitFor(
    `process ${id} to end`,
    async () => (await listJson(sb)).find((p) => p.id === id)?.status !== 'running',
    120_000,
  );
  return id;
}

function nodeScript(sb: Sandbox, name: string, body: string): string {
  const file = path.join(sb.dir, name);
  fs.writeFileSync(file, body);
  return file;
}

// 100k lines: boot lines, health checks (one 500 among them), requests with IDs, a TypeError
// with its stack in the middle, a progress bar redrawn with \r, and an ending.
const BIG = `
const out = [];
const w = (s) => { out.push(s); if (out.length >= 2000) { process.stdout.write(out.join('\\n') + '\\n'); out.length = 0; } };
for (let i = 0; i < 5; i++) w('boot step ' + i + ' ready');
for (let i = 0; i < 100000; i++) {
  if (i === 50000) {
    w('POST /orders 500 in 12ms');
    w('TypeError: Cannot read properties of undefined (reading "total")');
    w('    at price (/srv/app/orders.js:42:17)');
    w('    at handle (/srv/app/routes.js:7:5)');
    w('    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)');
  }
  if (i % 2) w('GET /health ' + (i === 77777 ? 500 : 200));
  else w('GET /items/' + (i * 7919 % 100003) + ' 200 in ' + (i % 40) + 'ms req=' + (i * 2654435761 % 4294967296).toString(16).padStart(8, '0'));
}
process.stdout.write(out.join('\\n') + '\\n');
let bar = '';
for (let p = 0; p <= 100; p += 5) bar += '\\rdownloading [' + '#'.repeat(p / 5).padEnd(20) + '] ' + p + '%';
process.stdout.write(bar + '\\n');
process.stdout.write('shutting down after 100000 requests\\n');
`;

withSandbox(
  '--budget: 100k lines with a trace in the middle hold the budget, the trace whole, repeats folded, the bar in its last state',
  async (sb) => {
    const id = await ran(sb, ['node', nodeScript(sb, 'big.js', BIG)]);
    const r = await logs(sb, id, ['--budget', '1000']);
    assert.is(r.code, 0, r.stderr);
    const out = r.stdout;
    assert.ok(out.length <= 1000 * CHARS_PER_TOKEN, `${out.length} characters for 1000 tokens:\n${out}`);
    assert.ok(
      out.includes(
        [
          'POST /orders 500 in 12ms',
          'TypeError: Cannot read properties of undefined (reading "total")',
          '    at price (/srv/app/orders.js:42:17)',
          '    at handle (/srv/app/routes.js:7:5)',
          '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
        ].join('\n'),
      ),
      out,
    );
    assert.match(out, /GET \/health \{200 x49,99\d, 500 x1\}/);
    assert.match(out, /downloading \[#{20}\] 100%/);
    assert.not.match(out, /downloading \[#{19} \]/);
    assert.ok(out.startsWith('boot step 0 ready\n'), out);
    assert.match(out, /shutting down after 100000 requests\n/);
    const note = out.trimEnd().split('\n').pop()!;
    assert.match(note, /^\[digest of 100,012 lines in [\d,]+ characters: /);
    assert.match(note, /--grep TypeError -A 20/);
    assert.match(note, /--since 20\d\d-/);
    assert.not.match(note, /-n 0/);
  },
);

withSandbox('--budget with --since, --grep and --stream digests only what they select', async (sb) => {
  const id = await ran(sb, [
    'node',
    '-e',
    "for (let i = 0; i < 3000; i++) console.log('GET /a ' + i); for (let i = 0; i < 3000; i++) console.error('WARN slow query ' + i + 'ms');",
  ]);
  const grep = await logs(sb, id, ['--budget', '300', '--grep', '^GET']);
  assert.is(grep.code, 0, grep.stderr);
  assert.match(grep.stdout, /digest of 3,000 lines/);
  assert.not.match(grep.stdout, /WARN/);
  const stderr = await logs(sb, id, ['--budget', '300', '--stream', 'stderr']);
  assert.match(stderr.stdout, /digest of 3,000 lines/);
  assert.match(stderr.stdout, /WARN slow query 2999ms/);
  assert.not.match(stderr.stdout, /GET \/a/);
  assert.ok(stderr.stdout.length <= 300 * CHARS_PER_TOKEN, `${stderr.stdout.length}`);
  const since = await logs(sb, id, ['--budget', '300', '--since', '1d']);
  assert.match(since.stdout, /digest of 6,000 lines/);
  const future = await logs(sb, id, ['--budget', '300', '--since', '2999-01-01T00:00:00Z']);
  assert.match(future.stdout, /digest of 0 lines/);
});

withSandbox('--budget --new digests what is new, moves the position to the end, and says so', async (sb) => {
  const id = await ran(sb, ['node', '-e', "for (let i = 0; i < 20000; i++) console.log('tick ' + i)"]);
  const first = await logs(sb, id, ['--new', '--budget', '300']);
  assert.is(first.code, 0, first.stderr);
  assert.match(first.stdout, /digest of 20,000 lines/);
  assert.match(first.stdout, /the --new position moved to the end of this output/);
  const again = await logs(sb, id, ['--new']);
  assert.is(again.stdout, '', 'nothing is new after a --budget --new read');
});

withSandbox('--budget: a failing node --test run keeps its failure report whole', async (sb) => {
  const dir = path.join(sb.dir, 'suite');
  fs.mkdirSync(dir);
  const lines = ["import test from 'node:test';", "import assert from 'node:assert';"];
  for (let i = 0; i < 400; i++) lines.push(`test('passes ${i}', () => { assert.ok(true); });`);
  lines.push("test('adds up', () => { assert.strictEqual(1 + 1, 3); });");
  for (let i = 400; i < 800; i++) lines.push(`test('passes ${i}', () => { assert.ok(true); });`);
  fs.writeFileSync(path.join(dir, 'math.test.mjs'), `${lines.join('\n')}\n`);
  const id = await ran(sb, ['--cwd', dir, 'node', '--test', '--test-reporter=tap', 'math.test.mjs']);
  const full = (await logs(sb, id, ['-n', '0'])).stdout;
  assert.match(full, /not ok 401 - adds up/, 'the run failed as meant');
  const r = await logs(sb, id, ['--budget', '600']);
  const out = r.stdout;
  assert.ok(out.length <= 600 * CHARS_PER_TOKEN, `${out.length}`);
  const at = full.indexOf('not ok 401 - adds up');
  const report = full.slice(at, full.indexOf('  ...\n', at) + 6);
  assert.ok(out.includes(report), `the report:\n${report}\nnot in:\n${out}`);
  assert.match(out, /# fail 1/);
  assert.match(out.trimEnd().split('\n').pop()!, /--grep 'not ok/);
});

withSandbox('--budget: a failing pytest run keeps its FAILURES section and summary', async (sb) => {
  if (spawnSync('python3', ['-m', 'pytest', '--version']).status !== 0)
    return skip('python3 -m pytest is not installed');
  const dir = path.join(sb.dir, 'pysuite');
  fs.mkdirSync(dir);
  const body = ['def add(a, b):', '    return a + b', ''];
  for (let i = 0; i < 300; i++) body.push(`def test_ok_${i}():`, `    assert add(${i}, 1) == ${i + 1}`, '');
  body.push('def test_broken():', '    assert add(2, 2) == 5', '');
  fs.writeFileSync(path.join(dir, 'test_math.py'), body.join('\n'));
  const id = await ran(sb, ['--cwd', dir, 'python3', '-m', 'pytest', '-v', '-p', 'no:cacheprovider', 'test_math.py']);
  const r = await logs(sb, id, ['--budget', '500']);
  const out = r.stdout;
  assert.ok(out.length <= 500 * CHARS_PER_TOKEN, `${out.length}`);
  for (const want of [
    /=+ FAILURES =+/,
    /_+ test_broken _+/,
    />\s+assert add\(2, 2\) == 5/,
    /E\s+assert 4 == 5/,
    /FAILED test_math.py::test_broken - assert 4 == 5/,
    /=+ 1 failed, 300 passed/,
  ])
    assert.match(out, want);
  assert.match(out, /\[x\d+\] test_math\.py::test_ok_\{\d+ … \d+\} PASSED/);
});

withSandbox('--budget is refused where it does not apply, with the reason and nothing read', async (sb) => {
  const id = await ran(sb, ['node', '-e', "console.log('x')"]);
  for (const [args, want] of [
    [
      ['--budget', '2000', '-f'],
      /--budget prints a digest of the lines read .*; --follow keeps printing lines as they come\. Leave out one of them\./,
    ],
    [['--budget', '2000', '--screen'], /--screen prints the whole screen as it stands; --budget applies to lines/],
    [['--budget', '2000', '--wait-for', 'x'], /--wait-for prints the line that matches/],
    [['--budget', '2000', '--raw'], /--raw prints the exact bytes/],
    [['--budget', '2000', '--grep', 'x', '-C', '2'], /-A, -B and -C show grep's context/],
    [['--budget', '10'], /--budget is a number of tokens \(4 characters each\) from 250 to 1,000,000 \(got 10\)/],
    [['--budget', 'lots'], /--budget is a number of tokens .*\(got lots\)/],
  ] as const) {
    const r = await logs(sb, id, [...args]);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, want);
    assert.is(r.stdout, '');
  }
});

mcpTest(
  'MCP get_logs: budget digests; without lines a big answer is a digest under the default budget',
  async (sb, _note, open) => {
    const id = await ran(sb, [
      'node',
      '-e',
      "for (let i = 0; i < 30000; i++) console.log(i === 15000 ? 'Error: disk full' : 'GET /health 200')",
    ]);
    const small = await ran(sb, ['node', '-e', "for (let i = 0; i < 5; i++) console.log('line ' + i)"]);
    const session = await open();
    const call = async (args: Record<string, unknown>, which = id) => {
      const r = await session.call('get_logs', { id: which, ...args });
      return { text: textOf(r), s: (r.structuredContent ?? {}) as Record<string, unknown>, isError: r.isError };
    };
    {
      const b = await call({ budget: 300 });
      assert.not.ok(b.isError, b.text);
      assert.ok(b.text.length <= 300 * CHARS_PER_TOKEN, `${b.text.length}`);
      assert.match(b.text, /Error: disk full/);
      assert.match(b.text, /\[x29,9\d\d\] GET \/health 200/);
      assert.match(b.text, /grep: "Error", context_after: 20/);
      assert.ok((b.s.digest as { lines: number }).lines === 30000, JSON.stringify(b.s.digest));
      // No lines, an answer past the bound: the default budget, over the last lines read.
      const d = await call({});
      assert.match(d.text, /\[x[\d,]+\] GET \/health 200/);
      assert.ok(d.text.length <= 2000 * CHARS_PER_TOKEN, `${d.text.length}`);
      assert.ok(d.s.digest, 'a digest');
      // lines given: lines, as before.
      const l = await call({ lines: 5 });
      assert.is(l.s.digest, undefined);
      assert.is((l.s.lines as unknown[]).length, 5);
      // An answer within the bound: lines, as before.
      const s = await call({}, small);
      assert.is(s.s.digest, undefined);
      assert.is((s.s.lines as unknown[]).length, 5);
      // new: all that is new, digested; the position moves to the end.
      const n = await call({ new: true });
      assert.match(n.text, /digest of 30,000 lines/);
      assert.match(n.text, /the new position moved to the end/);
      const again = await call({ new: true });
      assert.match(again.text, /\(nothing new\)/);
      const refused = await call({ budget: 300, screen: true });
      assert.ok(refused.isError);
      assert.match(refused.text, /screen returns the whole screen as it stands; budget applies to lines/);
    }
  },
);

test.run();
