// The pure parts of reading lines around a stop or a match (log/read/): which open lines a read
// that stopped at a line shows before it, and grep's context windows (-A, -B, -C).
import * as assert from 'uvu/assert';
import { openedBefore } from '../../skills/background-manager/scripts/lib/log/read/logquery.ts';
import {
  type ContextItem,
  GrepContext,
  separatorOf,
} from '../../skills/background-manager/scripts/lib/log/read/context.ts';
import type { Line } from '../../skills/background-manager/scripts/lib/log/read/lines.ts';
import { unitSuite } from './harness.ts';

const test = unitSuite('log/read context');

const line = (text: string, over: Partial<Line> = {}): Line => ({
  stream: 'stdout',
  time: 1,
  bytes: Buffer.from(text),
  complete: true,
  ...over,
});

test('a stop shows before it only the open lines begun before it: those of other streams (issue 25, defect 2)', () => {
  const stop = line('row 2', { time: 5 });
  const prompt = line('>>> ', { time: 5, complete: false }); // "row 2\r\n>>> " in one record
  const err = line('warn: ', { stream: 'stderr', time: 3, complete: false });
  assert.equal(
    openedBefore([err, prompt], stop).map((l) => l.bytes.toString()),
    ['warn: '],
  );
  assert.equal(openedBefore([line('typed', { stream: 'input', complete: false })], stop), []);
});

/** What a window shows of `texts` (a line is a match when it starts with "E"), as grep would print it. */
function shown(texts: string[], before: number, after: number, keep = 0, endAt = texts.length): string[] {
  const got: string[] = [];
  const w = new GrepContext({ before, after, keep, isMatch: (l) => l.bytes[0] === 0x45 }, (item: ContextItem) =>
    got.push('separator' in item ? '--' : `${item.line.bytes}${item.context ? '*' : ''}`),
  );
  for (const t of texts.slice(0, endAt)) w.push(line(t));
  w.end();
  for (const t of texts.slice(endAt)) w.push(line(t));
  return got;
}
const TEXTS = ['a', 'b', 'E1', 'c', 'd', 'e', 'E2', 'E3', 'f', 'g', 'h', 'i', 'E4'];

test('grep context: groups with their lines around, -- between those apart, joined where they touch or overlap', () => {
  assert.equal(shown(TEXTS, 1, 1), ['b*', 'E1', 'c*', '--', 'e*', 'E2', 'E3', 'f*', '--', 'i*', 'E4']);
  assert.equal(shown(TEXTS, 0, 0), ['E1', '--', 'E2', 'E3', '--', 'E4']);
  // Overlapping windows make one group; a line is shown once.
  assert.equal(shown(TEXTS, 3, 0), ['a*', 'b*', 'E1', 'c*', 'd*', 'e*', 'E2', 'E3', '--', 'g*', 'h*', 'i*', 'E4']);
  assert.equal(shown(TEXTS, 0, 4), ['E1', 'c*', 'd*', 'e*', 'E2', 'E3', 'f*', 'g*', 'h*', 'i*', 'E4']);
  assert.equal(shown(['a', 'b'], 2, 2), [], 'no match, nothing');
});

test('grep context with -n: the last N matches with their context, no -- before the first', () => {
  assert.equal(shown(TEXTS, 1, 1, 1), ['i*', 'E4']);
  assert.equal(shown(TEXTS, 1, 1, 2), ['E2*', 'E3', 'f*', '--', 'i*', 'E4']);
  assert.equal(shown(TEXTS, 1, 1, 9), shown(TEXTS, 1, 1));
  // Following on after the first read (end()): -B from lines read before, -A for lines after.
  // The first group shown has its -B lines whatever they are: E2, a match not among the last one, is context.
  assert.equal(shown(TEXTS, 2, 1, 1, 8), ['e*', 'E2*', 'E3', 'f*', '--', 'h*', 'i*', 'E4']);
  assert.equal(shown(['E1', 'a', 'b', 'E2'], 2, 0, 1, 3), ['E1', 'a*', 'b*', 'E2'], 'adjacent across the end: no --');
});

test('the separator: -- as grep prints it; with --json an object of its own', () => {
  assert.is(separatorOf({ json: false }), '--\n');
  assert.equal(JSON.parse(separatorOf({ json: true })), { separator: true });
});

test.run();
