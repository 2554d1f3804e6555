// attach_process's filter (lib/util/term-filter.ts) in every state: a C1 control in any form
// (UTF-8 C2 80..9F, or a bare byte 0x80..0x9F outside a valid UTF-8 sequence) never reaches the
// person's terminal, nor an OSC/DCS/APC/PM/SOS or screen title (ESC k) string, nor a query the
// terminal would answer into the process's input in the person's name; colours, cursor moves,
// the alternate screen and UTF-8 text (whose continuation bytes may be 0x80..0x9F) pass.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { filterTerminalOutput, TermFilter } from '../../skills/background-manager/scripts/lib/util/term-filter.ts';

const bytes = (s: string) => Buffer.from(s, 'latin1'); // one char, one byte: bare 0x80..0xff as they are
const utf8 = (s: string) => Buffer.from(s, 'utf8');
const hex = (b: Buffer) => b.toString('hex').replace(/(..)/g, '$1 ').trim();

/** Where `out` holds a C1 control: a byte 0x80..0x9F not inside a valid UTF-8 character from U+00A0. */
function c1At(out: Buffer): number {
  for (let i = 0; i < out.length; i++) {
    if (out[i]! < 0x80 || out[i]! > 0x9f) continue;
    let j = i - 1;
    while (j >= 0 && i - j <= 3 && out[j]! >= 0x80 && out[j]! <= 0xbf) j--;
    const lead = out[j] ?? 0;
    const len = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 0;
    if (j < 0 || len === 0 || i >= j + len) return i;
    try {
      const ch = new TextDecoder('utf-8', { fatal: true }).decode(out.subarray(j, j + len));
      if ([...ch].length !== 1 || ch.codePointAt(0)! < 0xa0) return i;
    } catch {
      return i;
    }
  }
  return -1;
}

/** A query the terminal answers: ENQ, ESC Z (DECID), or a CSI listed in REFERENCE.md's attach section. */
function queryIn(out: Buffer): string | undefined {
  const s = out.toString('latin1');
  if (s.includes('\x05')) return 'ENQ';
  if (/\x1bZ/.test(s)) return 'ESC Z';
  for (const m of s.matchAll(/\x1b\[([\x30-\x3f]*)([\x20-\x2f]*)([\x40-\x7e])/g)) {
    const [all, p = '', i = '', f = ''] = m;
    const q =
      f === 'c' ||
      f === 'n' ||
      f === 't' ||
      (f === 'p' && i === '$') ||
      (f === 'x' && i === '') ||
      (f === 'q' && p.startsWith('>')) ||
      (f === 'u' && (p.startsWith('?') || i === '$' || i === '&')) ||
      (f === 'y' && i === '*') ||
      (f === 'w' && i === '$') ||
      (f === 'v' && i === '"') ||
      (f === '|' && (i === '#' || i === "'")) ||
      ((f === 'S' || f === 'm') && p.startsWith('?'));
    if (q) return JSON.stringify(all);
  }
  return undefined;
}

/** Nothing that reaches beyond the screen: the invariants every output keeps. */
function safe(out: Buffer, what: string): void {
  const at = c1At(out);
  assert.is(at, -1, `${what}: a C1 control at ${at} in ${hex(out)}`);
  assert.not.match(out.toString('latin1'), /\x1b[\]P_^Xk]/, `${what}: a string starts in ${hex(out)}`);
  assert.is(queryIn(out), undefined, `${what}: a query in ${hex(out)}`);
}

const C1_CODES = [0x80, 0x85, 0x90, 0x98, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f];
const C1_FORMS = C1_CODES.flatMap((c) => [
  { name: `C2 ${c.toString(16)}`, s: `\xc2${String.fromCharCode(c)}` },
  { name: `bare ${c.toString(16)}`, s: String.fromCharCode(c) },
]);
/** Each state of the filter, reached by what comes before the C1 control. */
const STATES = {
  text: 'A',
  esc: '\x1b',
  'esc intermediate': '\x1b(',
  'esc control': '\x1b\n',
  csi: '\x1b[',
  'csi params': '\x1b[?1;',
  'csi intermediate': '\x1b[1$',
  osc: '\x1b]0;t',
  'osc esc': '\x1b]0;t\x1b',
  dcs: '\x1bP$q',
  'screen title': '\x1bkt',
  'utf-8 lead': '\xe2',
  'utf-8 lead+1': '\xe2\x82',
};
/** What follows the C1 control: the rest of the sequence it would start. */
const KINDS = {
  osc52: '52;c;SGVsbG8=\x07',
  'osc52 st': '52;c;SGVsbG8=\x1b\\',
  sgr: '31m',
  query: '6n',
  'da query': '>c',
  dcs: '$q"p\x1b\\',
  text: 'plain',
};

test('every state x every C1 form x sequence kind: no C1, string or query comes out', () => {
  let n = 0;
  for (const [state, pre] of Object.entries(STATES))
    for (const form of C1_FORMS)
      for (const [kind, post] of Object.entries(KINDS)) {
        const input = bytes(`${pre}${form.s}${post}Z\x1b]52;c;x\x07`);
        safe(filterTerminalOutput(input), `${state} / ${form.name} / ${kind}`);
        // cut byte by byte: the same
        const t = new TermFilter();
        const cut = Buffer.concat([...input].map((b) => t.write(Buffer.of(b))));
        assert.is(hex(cut), hex(filterTerminalOutput(input)), `${state} / ${form.name} / ${kind}: cut`);
        n++;
      }
  assert.ok(n > 1000);
});

test("the reviewer's repros: OSC 52 behind ESC or CSI with a C1, a bare 0x9d", () => {
  for (const s of ['\x1b\u009d52;c;SGVsbG8=\x07', '\x1b[\u009d52;c;SGVsbG8=\x07'])
    safe(filterTerminalOutput(utf8(s)), s);
  safe(filterTerminalOutput(bytes('\x9d52;c;SGVsbG8=\x07')), 'bare 9d');
  assert.is(filterTerminalOutput(utf8('A\x1b\u009d52;c;SGVsbG8=\x07B')).toString(), 'AB');
  assert.is(filterTerminalOutput(bytes('A\x9d52;c;SGVsbG8=\x07B')).toString(), 'AB'); // a bare 0x9D starts an OSC, as in an 8-bit terminal
});

test('screen/tmux title strings (ESC k ... ESC \\) go', () => {
  assert.is(filterTerminalOutput(utf8('A\x1bkowned\x1b\\B\x1bkx\x07C')).toString(), 'ABC');
});

test('ESC with a control inside it cannot leave the terminal waiting to start a string', () => {
  assert.is(filterTerminalOutput(utf8('A\x1b\n]52;c;x\x07B')).toString(), 'A\nB');
});

test('queries the terminal answers go: DA, DSR, DECRQM, DECID, ENQ, XTVERSION, ...', () => {
  const queries = [
    '\x1b[c',
    '\x1b[0c',
    '\x1b[>c',
    '\x1b[>0c',
    '\x1b[=c',
    '\x1b[5n',
    '\x1b[6n',
    '\x1b[?6n',
    '\x1b[?15n',
    '\x1b[?996n',
    '\x1b[?2026$p',
    '\x1b[4$p',
    '\x1b[x',
    '\x1b[1x',
    '\x1b[>q',
    '\x1b[?u',
    '\x1b[1$w',
    '\x1b[1$u',
    '\x1b[&u',
    '\x1b[1;1;1;1;1;1*y',
    '\x1b["v',
    '\x1b[?1;1S',
    '\x1b[?4m',
    '\x1b[1;1;1;1#|',
    "\x1b[1'|",
    '\x1b[18t',
    '\x1bZ',
    '\x05',
  ];
  for (const q of queries) assert.is(filterTerminalOutput(utf8(`A${q}B`)).toString(), 'AB', JSON.stringify(q));
});

test('what must pass: colours, cursor moves, modes, alternate screen, UTF-8 with 0x80..0x9F continuation bytes', () => {
  const s =
    'é€Ā ✜ ✛ ❟ ⚝ 𝄞 \x1b[1;38;2;10;20;30mrgb\x1b[0m\x1b[10;5H\x1b[2J\x1b[K\x1b[?1049h\x1b[?25l\x1b[?1049l' +
    '\x1b[3A\x1b[s\x1b[u\x1b[ q\x1b[!p\x1b[>4;2m\x1b[1;24r\x1b(B\x1b)0\x1b7\x1b8\x1bM\x1b=\x1b>\r\n\t\x07\b';
  assert.is(filterTerminalOutput(utf8(s)).toString(), s);
  assert.is(hex(filterTerminalOutput(utf8('é€Ā'))), 'c3 a9 e2 82 ac c4 80');
  const t = new TermFilter(); // a character cut between chunks stays whole
  const out = Buffer.concat([...utf8('Ā€')].map((b) => t.write(Buffer.of(b))));
  assert.is(out.toString(), 'Ā€');
});

test('fuzz: random pieces, random cuts: never a C1, string or query, and cut as whole', () => {
  const pieces = [
    'A',
    'é',
    '€',
    'Ā',
    '\x1b',
    '[',
    ']',
    'P',
    'k',
    '_',
    '^',
    'X',
    'Z',
    '\\',
    '\x07',
    '\x18',
    '\x05',
    '\n',
    '?',
    '>',
    '$',
    '6',
    'n',
    'c',
    'p',
    'q',
    'u',
    '1',
    ';',
    '(',
    ' ',
    '\u0085',
    '\u009b',
    '\u009c',
    '\u009d',
  ].map(utf8);
  const bare = [0x80, 0x85, 0x90, 0x9b, 0x9c, 0x9d, 0x9f, 0xc2, 0xe2, 0xa0, 0xff].map((b) => Buffer.of(b));
  const all = [...pieces, ...bare];
  let seed = 12345;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  for (let round = 0; round < 3000; round++) {
    const input = Buffer.concat(Array.from({ length: 1 + rnd(24) }, () => all[rnd(all.length)]!));
    const whole = filterTerminalOutput(input);
    safe(whole, `fuzz ${hex(input)}`);
    const t = new TermFilter();
    const parts: Buffer[] = [];
    for (let i = 0; i < input.length; ) {
      const k = 1 + rnd(4);
      parts.push(t.write(input.subarray(i, i + k)));
      i += k;
    }
    assert.is(hex(Buffer.concat(parts)), hex(whole), `fuzz cut ${hex(input)}`);
  }
});

test.run();
