// Long input for a terminal in canonical (line) mode: the kernel keeps at most 4095 bytes of
// an unfinished line and drops the rest. Cutting such a line into pieces, each handed over
// with the terminal's EOF character (which, after some characters, makes them readable
// without ending the input), delivers it whole. Raw-mode programs get the bytes as they are.
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';

export const MAX_CANON_PIECE = 4000;

export interface TtyMode {
  canonical: boolean;
  eof: number; // the VEOF byte, usually ^D
}

/**
 * The terminal's mode, read with `stty -a` with the terminal as its stdin: the one form GNU
 * stty and BSD/macOS stty both take (GNU names a device with -F, BSD with -f). Opened without
 * becoming our controlling terminal, and without blocking; undefined when it cannot be read.
 */
export function readTtyMode(pts: string): TtyMode | undefined {
  let fd: number;
  try {
    fd = fs.openSync(pts, fs.constants.O_RDONLY | fs.constants.O_NOCTTY | fs.constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const r = spawnSync('stty', ['-a'], { stdio: [fd, 'pipe', 'pipe'], encoding: 'utf8', timeout: 2000 });
    return r.status === 0 && r.stdout ? parseTtyMode(r.stdout) : undefined;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The mode in `stty -a`'s output. Both print the flag as `icanon` or `-icanon` among others
 * (BSD on its `lflags:` line) and the character as `eof = ^D;` (BSD on its `cchars:` lines,
 * wrapped with a tab); `<undef>` and the like leave the usual ^D.
 */
export function parseTtyMode(text: string): TtyMode {
  const canonical = /(^|\s)icanon(\s|$)/.test(text);
  const m = /(?:^|[\s;])eof = ([^;]+);/.exec(text);
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
