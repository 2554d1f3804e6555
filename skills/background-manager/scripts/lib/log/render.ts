// Turns what a program wrote to a terminal into the text a person would have seen: colour and
// cursor escape sequences removed, "\r" redraws (progress bars) collapsed to their final
// state, backspaces applied, other control bytes dropped. Invalid UTF-8 becomes U+FFFD.

// CSI, OSC (ended by BEL or ST), DCS/SOS/PM/APC strings, other ESC sequences, then text.
const TOKEN =
  /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[PX^_][^\x1b]*(?:\x1b\\)?|\x1b[ -/]*[0-~]?|\r\n|[\r\n\b\t]|[\x00-\x08\x0b-\x1f\x7f]|[^\x00-\x1f\x7f\x1b]+/g;

// Cursor moves past this column are clamped: output must not make us allocate without bound.
const MAX_COL = 4096;

export function renderTerminal(text: string): string {
  const out: string[] = [];
  let line: string[] = [];
  let col = 0;
  const put = (s: string) => {
    for (const ch of s) {
      while (line.length < col) line.push(' ');
      line[col++] = ch;
    }
  };
  for (const m of text.matchAll(TOKEN)) {
    const t = m[0];
    const c = t.charCodeAt(0);
    if (c === 0x1b) {
      if (t[1] === '[') {
        const final = t[t.length - 1];
        const n = Number.parseInt(t.slice(2), 10);
        if (final === 'K') {
          const mode = Number.isNaN(n) ? 0 : n;
          if (mode === 0) line.length = Math.min(line.length, col);
          else if (mode === 2) line = [];
        } else if (final === 'G') col = Math.min(MAX_COL, Math.max(0, (Number.isNaN(n) ? 1 : n) - 1));
        else if (final === 'C') col = Math.min(MAX_COL, col + (Number.isNaN(n) ? 1 : n));
        else if (final === 'D') col = Math.max(0, col - (Number.isNaN(n) ? 1 : n));
      }
      continue;
    }
    if (t === '\n' || t === '\r\n') {
      out.push(line.join(''));
      line = [];
      col = 0;
    } else if (t === '\r') col = 0;
    else if (t === '\b') col = Math.max(0, col - 1);
    else if (t === '\t') put('\t');
    else if (c >= 0x20 && c !== 0x7f) put(t);
  }
  if (line.length) out.push(line.join(''));
  else if (text.length && !/\n$/.test(text)) out.push('');
  return out.join('\n') + (/\r?\n$/.test(text) ? '\n' : '');
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

export function decodeUtf8(buf: Uint8Array): string {
  return utf8.decode(buf);
}

export function countNewlines(buf: Uint8Array): number {
  let n = 0;
  let ix = -1;
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  while ((ix = b.indexOf(0x0a, ix + 1)) >= 0) n++;
  return n;
}
