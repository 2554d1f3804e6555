// attach_process's filter of what a program's output may do to the person's terminal
// (lib/util/term-filter.ts): OSC, DCS, APC, PM, SOS strings, C1 controls and CSI t go; the
// rest, text, colours and cursor moves, passes; sequences cut between chunks are handled whole.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { filterTerminalOutput, TermFilter } from '../../skills/background-manager/scripts/lib/util/term-filter.ts';

const f = (s: string) => filterTerminalOutput(Buffer.from(s, 'utf8')).toString('utf8');

test('text, colours, cursor moves and modes pass as they are', () => {
  const s = 'plain \x1b[1;31mred\x1b[0m \x1b[10;5H\x1b[2J\x1b[?1049h\x1b[?25l\r\n\t\x07é✓\x1b(B\x1b7\x1b8';
  assert.is(f(s), s);
});

test('OSC 52 (clipboard), titles and hyperlinks go, by BEL or ST', () => {
  assert.is(f('A\x1b]52;c;aGFja2Vk\x07B'), 'AB');
  assert.is(f('A\x1b]0;owned\x1b\\B'), 'AB');
  assert.is(f('A\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\B'), 'AlinkB');
});

test('DCS, APC, PM and SOS strings go', () => {
  assert.is(f('A\x1bP$q"p\x1b\\B\x1b_app\x1b\\C\x1b^pm\x1b\\D\x1bXsos\x1b\\E'), 'ABCDE');
});

test('C1 controls go, with the 8-bit strings and CSI they start', () => {
  assert.is(f('A\u009d52;c;eA==\u009cB'), 'AB'); // 8-bit OSC ... ST
  assert.is(f('A\u009b31mB\u0085C\u0090q\u009cD'), 'ABCD'); // 8-bit CSI, NEL, DCS
});

test('window operations (CSI t: resize, report the title) go; other CSI stay', () => {
  assert.is(f('A\x1b[21tB\x1b[8;50;200tC\x1b[2K'), 'ABC\x1b[2K');
});

test('an ESC inside a string ends it and starts a new sequence', () => {
  assert.is(f('A\x1b]0;title\x1b[31mB'), 'A\x1b[31mB');
});

test('sequences cut between chunks are filtered as one', () => {
  const t = new TermFilter();
  const parts = ['A\x1b', ']52;c;aG', 'Fja2Vk\x1b', '\\B\x1b[', '21', 't', 'C\xc2', '\x9dx\x07D'];
  const out = parts.map((p) => t.write(Buffer.from(p, 'latin1')).toString('latin1')).join('');
  assert.is(out, 'ABCD');
});

test('multibyte text whose bytes look like C1 stays whole', () => {
  assert.is(f('✜ ✛ ❟ ⚝'), '✜ ✛ ❟ ⚝');
});

test.run();
