// Long input for a terminal in canonical (line) mode: the kernel keeps at most 4095 bytes of
// an unfinished line and drops the rest. Cutting such a line into pieces, each handed over
// with the terminal's EOF character (which, after some characters, makes them readable
// without ending the input), delivers it whole. Raw-mode programs get the bytes as they are.
import { spawnSync } from 'node:child_process';

export const MAX_CANON_PIECE = 4000;

export interface TtyMode {
  canonical: boolean;
  eof: number; // the VEOF byte, usually ^D
}

/** The terminal's mode, read with `stty -F`; undefined when it cannot be read. */
export function readTtyMode(pts: string): TtyMode | undefined {
  const r = spawnSync('stty', ['-F', pts, '-a'], { encoding: 'utf8', timeout: 2000 });
  if (r.status !== 0 || !r.stdout) return undefined;
  const canonical = /(^|\s)icanon(\s|$)/.test(r.stdout);
  const m = /(?:^|[\s;])eof = ([^;]+);/.exec(r.stdout);
  let eof = 4;
  if (m) {
    const v = m[1]!.trim();
    if (/^\^[@A-Z[\\\]^_]$/.test(v)) eof = v.charCodeAt(1) - 64;
    else if (v.length === 1) eof = v.charCodeAt(0);
  }
  return { canonical, eof };
}

function hasLongLine(data: Buffer): boolean {
  let start = 0;
  for (let i = 0; i <= data.length; i++) {
    if (i === data.length || data[i] === 0x0a || data[i] === 0x0d) {
      if (i - start > MAX_CANON_PIECE) return true;
      start = i + 1;
    }
  }
  return false;
}

/** The writes that deliver `data` whole to a terminal in the given mode. */
export function piecesForTty(data: Buffer, mode: () => TtyMode | undefined): Buffer[] {
  if (!hasLongLine(data)) return [data];
  const m = mode();
  if (!m?.canonical) return [data];
  const out: Buffer[] = [];
  const eof = Buffer.from([m.eof]);
  let start = 0;
  for (let i = 0; i <= data.length; i++) {
    if (i < data.length && data[i] !== 0x0a && data[i] !== 0x0d) continue;
    // A line: its long part goes in pieces, each made readable by EOF; the rest (with its
    // line end) goes as it is.
    let pos = start;
    while (i - pos > MAX_CANON_PIECE) {
      out.push(Buffer.concat([data.subarray(pos, pos + MAX_CANON_PIECE), eof]));
      pos += MAX_CANON_PIECE;
    }
    out.push(data.subarray(pos, Math.min(i + 1, data.length)));
    start = i + 1;
  }
  return out.filter((b) => b.length > 0);
}
