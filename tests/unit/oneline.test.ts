// oneLine, the one escaping of user-given text (issue 23, item 8), over every code point; and
// refuseNuls, the NUL check every start makes first (item 7).
import * as assert from 'uvu/assert';
import { oneLine, shownMessage } from '../../skills/background-manager/scripts/lib/util/format.ts';
import { refuseNuls } from '../../skills/background-manager/scripts/lib/control/launch.ts';
import { BgError } from '../../skills/background-manager/scripts/lib/errors.ts';
import { unitSuite } from './harness.ts';

const test = unitSuite('oneLine');

// What REFERENCE.md lists ("How your text is shown"), written out by hand.
const RANGES: [number, number][] = [
  [0x00, 0x1f],
  [0x7f, 0x9f],
  [0x061c, 0x061c],
  [0x200e, 0x200f],
  [0x2028, 0x2029],
  [0x202a, 0x202e],
  [0x2066, 0x2069],
];
const escaped = (n: number) => RANGES.some(([a, b]) => n >= a && n <= b);

test('every code point: the listed ones become one escape, every other one stays as it is', () => {
  for (let n = 0; n <= 0x10ffff; n++) {
    if (n >= 0xd800 && n <= 0xdfff) continue; // not characters
    const c = String.fromCodePoint(n);
    const out = oneLine(c);
    if (!escaped(n)) {
      assert.is(out, c, `U+${n.toString(16)} is left alone`);
      continue;
    }
    const want =
      { 10: '\\n', 13: '\\r', 9: '\\t' }[n] ??
      (n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`);
    assert.is(out, want, `U+${n.toString(16)}`);
  }
  assert.is(oneLine('a\\x1b b'), 'a\\x1b b', 'a backslash is printed as it is');
  assert.is(oneLine('👩\u200d💻 é'), '👩\u200d💻 é', 'emoji joined by ZWJ, accents: as they are');
  assert.is(shownMessage('one\x1b\ntwo\u202e'), 'one\\x1b\ntwo\\u202e', 'a message keeps its own line breaks');
});

test('refuseNuls: a NUL in the command (string or argv), cwd, name or an env value is a usage error saying where', () => {
  const base = { command: ['sleep', '1'], cwd: '/tmp' };
  const cases: [Parameters<typeof refuseNuls>[0], RegExp][] = [
    [{ ...base, command: ['sleep 1\0; rm x'] }, /^command holds a NUL character \("sleep 1\\x00; rm x"\)/],
    [{ ...base, command: ['sleep', '1\0x'] }, /^command\[1\] holds a NUL character \("1\\x00x"\)/],
    [{ ...base, cwd: '/tmp\0/x' }, /^cwd holds a NUL/],
    [{ ...base, name: 'a\0b' }, /^name holds a NUL/],
    [{ ...base, extraEnv: { K: 'v\0' } }, /^env K holds a NUL/],
  ];
  for (const [opts, message] of cases) {
    const err = (() => {
      try {
        refuseNuls(opts);
      } catch (e) {
        return e;
      }
    })();
    assert.instance(err, BgError);
    assert.is((err as BgError).exitCode, 2);
    assert.match((err as BgError).message, message);
  }
  refuseNuls({ ...base, name: 'web', extraEnv: { K: 'v' } }); // nothing to refuse
});

test.run();
