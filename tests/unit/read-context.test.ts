// The pure parts of reading lines around a stop or a match (log/read/): which open lines a read
// that stopped at a line shows before it, and grep's context windows (-A, -B, -C).
import * as assert from 'uvu/assert';
import { openedBefore } from '../../skills/background-manager/scripts/lib/log/read/logquery.ts';
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

test.run();
