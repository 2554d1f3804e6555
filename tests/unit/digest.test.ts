// get_logs --budget's digest as a pure function over generated lines (log/read/digest.ts with
// the rules of ops/digest.ts): repeats and near-repeats folded, errors, traces and failed test
// reports kept whole, head and tail kept, the size within the budget, bounded state.
import * as assert from 'uvu/assert';
import { digestLines, type DigestLine } from '../../skills/background-manager/scripts/lib/log/read/digest.ts';
import {
  CHARS_PER_TOKEN,
  classify,
  digestNote,
  digestRules,
} from '../../skills/background-manager/scripts/lib/ops/digest.ts';
import { DigestSource } from '../../skills/background-manager/scripts/lib/log/read/digest-source.ts';
import type { Line } from '../../skills/background-manager/scripts/lib/log/read/lines.ts';
import { unitSuite } from './harness.ts';

const test = unitSuite('digest');

function* gen(n: number, f: (i: number) => string, t0 = 1_800_000_000_000): Generator<DigestLine> {
  for (let i = 0; i < n; i++) yield { text: f(i), time: t0 + i };
}
function* concat(...parts: Iterable<DigestLine>[]): Generator<DigestLine> {
  for (const p of parts) yield* p;
}
const size = (lines: string[]) => lines.reduce((n, l) => n + l.length + 1, 0);

const WORDS = {
  budget: '--budget',
  since: '--since',
  grep: '--grep',
  after: '-A',
  new: '--new',
  sep: ' ',
  option: (n: string, v: string | number) => `${n} ${typeof v === 'string' ? `'${v}'` : v}`,
};

test('a flood of exact repeats is one line with its count', () => {
  const out = digestLines(
    concat(
      gen(3, (i) => `starting ${i}`),
      gen(100_000, () => 'GET /health 200'),
    ),
    digestRules(500),
  );
  assert.ok(out.lines.includes('[x99,988] GET /health 200'), out.lines.join('\n'));
  assert.equal(out.lines.filter((l) => l === 'GET /health 200').length, 12, 'the head and the tail');
  assert.equal(out.stats.lines, 100_003);
  assert.ok(size(out.lines) <= 500 * CHARS_PER_TOKEN);
});

test('near-repeats fold as a template with the count of each value', () => {
  const out = digestLines(
    concat(
      gen(20, (i) => `boot ${i}`),
      gen(100_000, (i) => (i === 50_000 ? 'GET /health 500' : 'GET /health 200')),
      gen(20, (i) => `bye ${i}`),
    ),
    digestRules(500),
  );
  assert.ok(out.lines.includes('GET /health {200 x99,999, 500 x1}'), out.lines.join('\n'));
});

test('IDs, hex, UUIDs and times fold; many values show as first … last', () => {
  const uuid = (i: number) => `${i.toString(16).padStart(8, '0')}-1234-4abc-8def-${i.toString(16).padStart(12, '0')}`;
  const out = digestLines(
    gen(
      50_000,
      (i) =>
        `2026-12-06T10:${String(Math.floor(i / 1000) % 60).padStart(2, '0')}:00Z req ${uuid(i)} took ${i % 97}ms at 0x${(i * 4096).toString(16)}`,
    ),
    digestRules(400),
  );
  const folded = out.lines.find((l) => l.startsWith('[x'));
  assert.ok(folded, out.lines.join('\n'));
  assert.match(folded!, /^\[x49,985\] \{2026-12-06T10:00:00Z … 2026-12-06T10:49:00Z\} req \{/);
});

test('error lines are never folded, and a stack trace in the middle of 100k lines is kept whole with context', () => {
  const trace = [
    'TypeError: Cannot read properties of undefined (reading "id")',
    '    at handler (/srv/app/routes.js:42:17)',
    '    at Layer.handle (/srv/node_modules/express/lib/router/layer.js:95:5)',
    '    at next (/srv/node_modules/express/lib/router/route.js:137:13)',
  ];
  const out = digestLines(
    concat(
      gen(50_000, (i) => `GET /items/${i} 200 ${i % 13}ms`),
      gen(1, () => 'POST /items 500'),
      trace.map((text) => ({ text })),
      gen(50_000, (i) => `GET /items/${i} 200 ${i % 13}ms`),
      gen(3, () => 'ERROR db timeout'),
    ),
    digestRules(600),
  );
  const at = out.lines.indexOf(trace[0]!);
  assert.ok(at > 0, out.lines.join('\n'));
  assert.equal(out.lines.slice(at - 1, at + trace.length), ['POST /items 500', ...trace]);
  assert.equal(out.lines.filter((l) => l === 'ERROR db timeout').length, 3, 'errors are not folded');
  assert.ok(size(out.lines) <= 600 * CHARS_PER_TOKEN, `${size(out.lines)}`);
  assert.equal(out.stats.lines, 100_008);
});

test('Python, Go, Java and Rust traces keep their frames', () => {
  const traces = {
    python: [
      'Traceback (most recent call last):',
      '  File "/app/main.py", line 3, in <module>',
      '    main()',
      '  File "/app/main.py", line 2, in main',
      '    raise ValueError("boom")',
      'ValueError: boom',
    ],
    go: [
      'panic: runtime error: index out of range [5] with length 3',
      '',
      'goroutine 1 [running]:',
      'main.main()',
      '\t/tmp/x/main.go:8 +0x1d',
      'exit status 2',
    ],
    java: [
      'Exception in thread "main" java.lang.IllegalStateException: boom',
      '\tat com.acme.App.run(App.java:10)',
      '\tat com.acme.App.main(App.java:4)',
      'Caused by: java.io.IOException: disk',
      '\t... 2 more',
    ],
    rust: [
      "thread 'main' panicked at src/main.rs:2:5:",
      'boom',
      'stack backtrace:',
      '   0: rust_begin_unwind',
      '             at /rustc/abc/library/std/src/panicking.rs:645:5',
      '   1: app::main',
    ],
  };
  for (const [lang, trace] of Object.entries(traces)) {
    const out = digestLines(
      concat(
        gen(30_000, (i) => `tick ${i}`),
        trace.map((text) => ({ text })),
        gen(30_000, (i) => `tock ${i}`),
      ),
      digestRules(400),
    );
    const at = out.lines.indexOf(trace[0]!);
    assert.ok(at >= 0, `${lang}: ${out.lines.join('\n')}`);
    assert.equal(out.lines.slice(at, at + trace.length), trace, lang);
  }
});

test('a block too big for the budget keeps its start and its end', () => {
  const frames = Array.from({ length: 400 }, (_, i) => `    at f${i} (/srv/deep.js:${i}:1)`);
  const out = digestLines(
    concat(
      gen(1000, (i) => `line ${i}`),
      [{ text: 'RangeError: Maximum call stack size exceeded' }, ...frames.map((text) => ({ text }))],
      gen(1000, (i) => `line ${i}`),
    ),
    digestRules(300),
  );
  assert.ok(out.lines.includes('RangeError: Maximum call stack size exceeded'));
  assert.ok(out.lines.includes(frames[frames.length - 1]!), out.lines.join('\n'));
  assert.ok(out.lines.some((l) => /more lines of this block left out/.test(l)));
  assert.ok(size(out.lines) <= 300 * CHARS_PER_TOKEN);
});

test('the classifier: errors and warnings, and counts of none are neither', () => {
  for (const t of [
    'ERROR boom',
    'npm ERR! code 1',
    'Error: x',
    'not ok 3 - adds',
    '--- FAIL: TestX (0.00s)',
    'FAILED a.py::t - x',
    'E       assert 2 == 3',
    '✖ adds (2ms)',
    'TypeError: x',
  ])
    assert.equal(classify(t), 'error', t);
  for (const t of ['WARN low disk', 'warning: unused variable', '(node:1) DeprecationWarning: x'])
    assert.equal(classify(t), 'warning', t);
  for (const t of ['# fail 0', 'ℹ fail 0', '0 errors, 0 warnings', 'GET /errors-page 200', 'all good'])
    assert.equal(classify(t), undefined, t);
});

test('bounded state: a million distinct lines keep the fold table at its cap', () => {
  const before = process.memoryUsage().heapUsed;
  const out = digestLines(
    gen(1_000_000, (i) => `${'abcdefghij'[i % 10]}${(i * 7919).toString(36)} word${i % 7} ${'x'.repeat(i % 50)}`),
    digestRules(1000),
  );
  assert.equal(out.stats.lines, 1_000_000);
  assert.ok(process.memoryUsage().heapUsed - before < 200 << 20);
  assert.ok(size(out.lines) <= 1000 * CHARS_PER_TOKEN);
  assert.ok(out.stats.omitted > 0);
});

test('the note counts what it left out and names a narrower read, never everything', () => {
  const out = digestLines(
    concat(
      gen(10_000, (i) => `ok ${i}`),
      [{ text: 'TypeError: x is not a function', time: Date.parse('2026-12-06T10:00:00Z') }],
      gen(10_000, (i) => `ok ${i}`),
    ),
    digestRules(300),
  );
  const note = digestNote(out.stats, WORDS, { newRead: true, chars: size(out.lines) });
  assert.match(note, /digest of 20,001 lines/);
  assert.match(note, /--grep 'TypeError' -A 20/);
  assert.match(note, /--since '2026-12-06T09:59:59.000Z'/);
  assert.match(note, /--new position moved to the end/);
  assert.not.match(note, /-n 0|lines: 0/);
});
test('a progress bar redrawn with \\r over a line too long to hold shows its last state', () => {
  const got: DigestLine[] = [];
  const src = new DigestSource(false, (l) => got.push(l));
  const piece = (text: string, over: Partial<Line>): Line => ({
    stream: 'stdout',
    time: 5,
    bytes: Buffer.from(text),
    complete: false,
    ...over,
  });
  let bar = '';
  for (let p = 0; p <= 100; p++) bar += `\rdownloading ${p}% ${'#'.repeat(p)}`;
  const big = bar.repeat(200); // about 1.2 MB, in pieces
  const cuts = [0, 400_000, 800_000, big.length];
  for (let i = 0; i < 3; i++)
    src[i < 2 ? 'piece' : 'line'](
      piece(big.slice(cuts[i], cuts[i + 1]), { ...(i ? { continued: true as const } : {}), complete: i === 2 }),
    );
  assert.is(got.length, 1);
  assert.ok(
    got[0]!.text.startsWith(`downloading 100% ${'#'.repeat(100)} [its last redraw of `),
    got[0]!.text.slice(0, 200),
  );
  assert.is(got[0]!.time, 5);
});

test('a digest of nothing says so', () => {
  const out = digestLines([], digestRules(300));
  assert.equal(out.lines, []);
  assert.is(
    digestNote(out.stats, WORDS, { newRead: true, chars: 0 }),
    '[digest of 0 lines: nothing was selected; the --new position moved to the end of this output]',
  );
});

test.run();
