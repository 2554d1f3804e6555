// get_logs's planner: which mode and query each combination of flags asks for, without a log.
import * as assert from 'uvu/assert';
import { queryAt, type ReadOptions } from '../../skills/background-manager/scripts/lib/log/read/read-plan.ts';
import { planRead } from '../../skills/background-manager/scripts/lib/ops/logs.ts';
import { BgError } from '../../skills/background-manager/scripts/lib/errors.ts';
import { unitSuite } from './harness.ts';

const test = unitSuite('get_logs planRead');

const base: ReadOptions = {
  raw: false,
  follow: false,
  new: false,
  timestamps: false,
  stream: 'output',
  screen: false,
  json: false,
};
const plan = (o: Partial<ReadOptions>) => planRead({ ...base, ...o });
const cursor = { fileId: 'f', offset: 96, seq: 3 };

test('no flags: the last 20 lines of stdout and stderr, selected from the end', () => {
  const p = plan({});
  assert.is(p.mode, 'tail');
  assert.is(p.query.lines, 20);
  assert.is(p.query.from, 'tail');
  assert.is(p.delivery, 'select');
  assert.equal([...p.query.streams], ['stdout', 'stderr']);
  assert.is(p.view, undefined);
  assert.is(p.saveCursor, false);
  assert.is(queryAt(p, cursor).from, undefined); // a cursor does not apply to a tail
});

test('-n 0 streams every line; -n 0 --raw --reveal copies the records as they are', () => {
  assert.is(plan({ lines: 0 }).delivery, 'stream');
  assert.is(plan({ lines: 0, raw: true, reveal: true }).delivery, 'copy');
  // Without --reveal each line is looked at for secrets (issue 27).
  assert.is(plan({ lines: 0, raw: true }).delivery, 'stream');
  assert.is(plan({ lines: 0, raw: true, timestamps: true }).delivery, 'stream');
  assert.is(plan({ lines: 0, raw: true, stream: 'all' }).delivery, 'stream');
  assert.is(plan({ lines: 0, raw: true, grep: '' }).delivery, 'stream'); // an empty --grep is still a --grep
});

test('--new reads forward from the saved cursor, all of it, and saves where it stopped', () => {
  const p = plan({ new: true });
  assert.is(p.mode, 'forward');
  assert.is(p.query.lines, 0);
  assert.is(p.saveCursor, true);
  assert.equal(queryAt(p, cursor).from, cursor);
  assert.is(queryAt(p, undefined).from, null); // never read: from the oldest record
  assert.is(plan({ new: true, lines: 5 }).query.lines, 5);
});

test('--new keeps one position per view: --stream and --grep name it, the default view has none', () => {
  assert.is(plan({ new: true }).view, undefined);
  assert.is(plan({ new: true, grep: 'ERR' }).view, 'stdout+stderr grep ERR');
  assert.is(plan({ new: true, grep: 'a/b', raw: true }).view, 'stdout+stderr grep raw a/b'); // as typed, not RegExp.source
  assert.is(plan({ new: true, stream: 'all' }).view, 'stdout+stderr+input+event');
});

test('--since reads everything after the time, with no line limit', () => {
  const p = plan({ sinceMs: 1000 });
  assert.is(p.mode, 'since');
  assert.is(p.query.lines, 0);
  assert.is(p.query.sinceMs, 1000);
  assert.is(p.query.from, 'tail');
});

test('--follow keeps the tail of 20 lines first; with --new, from the cursor', () => {
  assert.is(plan({ follow: true }).mode, 'follow');
  assert.is(plan({ follow: true }).query.lines, 20);
  const n = plan({ follow: true, new: true });
  assert.is(n.mode, 'follow');
  assert.is(n.query.from, 'cursor');
});

test('--wait-for reads from the start (or the cursor with --new) and prints up to the match only with --new', () => {
  const w = plan({ waitFor: 'ready' });
  assert.is(w.mode, 'wait-for');
  assert.is(w.query.from, 'start');
  assert.is(w.query.lines, 0);
  assert.is(w.upTo, false);
  assert.ok(w.waitFor!.test('server ready'));
  assert.is(queryAt(w, cursor).from, null);
  const n = plan({ waitFor: 'ready', new: true });
  assert.is(n.upTo, true);
  assert.equal(queryAt(n, cursor).from, cursor);
  assert.is(plan({ waitFor: 'x', follow: true }).mode, 'wait-for'); // the wait decides when to return
});

test('--screen wins over every line mode; --wait-for then waits on the screen', () => {
  assert.is(plan({ screen: true }).mode, 'screen');
  assert.is(plan({ screen: true, waitFor: 'Pick' }).mode, 'screen');
});

test('a --grep or --wait-for that is not a regular expression is a usage error', () => {
  for (const o of [{ grep: '(' }, { waitFor: '[' }]) {
    try {
      plan(o);
      assert.unreachable('planned');
    } catch (err) {
      assert.instance(err, BgError);
      assert.is((err as BgError).exitCode, 2);
    }
  }
});

test('a Python-skill log shows -n lines, else 20, whatever else is asked', () => {
  assert.is(plan({ new: true }).legacyLines, 20);
  assert.is(plan({ lines: 3 }).legacyLines, 3);
});

test('--stream all labels the streams; --json and -t pass through to the format', () => {
  assert.equal(plan({ stream: 'all', json: true, timestamps: true }).format, {
    raw: false,
    json: true,
    timestamps: true,
    labelStreams: true,
  });
});

test.run();
