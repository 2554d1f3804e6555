// The MCP server's answer bounds (lib/mcp/result.ts), on lines made here: a line cut at
// MAX_LINE_CHARS stays valid text, and an answer holds at most MAX_TEXT_BYTES of it.
import * as assert from 'uvu/assert';
import {
  MAX_LINE_CHARS,
  MAX_TEXT_BYTES,
  fitBytes,
  shownLine,
} from '../../skills/background-manager/scripts/lib/mcp/result.ts';
import { unitSuite } from './harness.ts';

const test = unitSuite('mcp answers');
const line = (text: string) => ({ stream: 'stdout' as const, time: 0, bytes: Buffer.from(text), complete: true });
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

test('a long line is cut between characters, never inside an emoji (a lone surrogate is not text)', () => {
  for (const lead of ['', 'x', 'xy']) {
    const text = shownLine(line(lead + '\u{1F600}'.repeat(MAX_LINE_CHARS))).text;
    assert.not.ok(loneSurrogate.test(text), `cut after ${JSON.stringify(lead)}`);
    assert.match(text, /… \(\d+ more characters\)$/);
    assert.ok(text.length <= MAX_LINE_CHARS + 40);
  }
});

test('lines of 4-byte characters still fit the byte bound', () => {
  const lines = Array.from({ length: 100 }, () => shownLine(line('\u{1F600}'.repeat(5000))));
  const fit = fitBytes(lines, 'last');
  const bytes = fit.lines.reduce((n, l) => n + Buffer.byteLength(l.text) + 1, 0);
  assert.ok(bytes <= MAX_TEXT_BYTES, `${bytes} bytes`);
  assert.ok(fit.omitted > 0);
});

test.run();
