// The terminal's mode as `stty -a` prints it (lib/process/ttyinput.ts): read with the terminal
// as stty's stdin, the one form GNU stty and BSD/macOS stty both take (GNU names a device with
// -F, BSD with -f), and parsed from either's output.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import type * as ptyTypes from '@lydell/node-pty';
import { parseTtyMode, readTtyMode } from '../../skills/background-manager/scripts/lib/process/ttyinput.ts';
import { ROOT } from '../helpers.ts';

// macOS `stty -a` (its stty is FreeBSD's: bin/stty/print.c, POSIX format: `lflags:` then
// `cchars:` with `name = value;`, lines wrapped at 72 columns with a tab), on a terminal in
// canonical mode, then the same with icanon off and another eof.
const MACOS = `speed 9600 baud; 50 rows; 200 columns;
lflags: icanon isig iexten echo echoe -echok echoke -echonl echoctl
\t-echoprt -altwerase -noflsh -tostop -flusho pendin -nokerninfo
\t-extproc
iflags: -istrip icrnl -inlcr -igncr ixon -ixoff ixany imaxbel iutf8
\t-ignbrk brkint -inpck -ignpar -parmrk
oflags: opost onlcr -oxtabs -onocr -onlret
cflags: cread cs8 -parenb -parodd hupcl -clocal -cstopb -crtscts -dsrflow
\t-dtrflow -mdmbuf
cchars: discard = ^O; dsusp = ^Y; eof = ^D; eol = <undef>;
\teol2 = <undef>; erase = ^?; intr = ^C; kill = ^U; lnext = ^V;
\tmin = 1; quit = ^\\; reprint = ^R; start = ^Q; status = ^T;
\tstop = ^S; susp = ^Z; time = 0; werase = ^W;
`;
const MACOS_RAW = MACOS.replace('lflags: icanon', 'lflags: -icanon').replace('eof = ^D;', 'eof = ^B;');
const MACOS_UNDEF = MACOS.replace('eof = ^D;', 'eof = <undef>;');

// GNU coreutils `stty -a`.
const GNU = `speed 38400 baud; rows 50; columns 200; line = 0;
intr = ^C; quit = ^\\; erase = ^?; kill = ^U; eof = ^D; eol = <undef>; eol2 = <undef>; swtch = <undef>; start = ^Q; stop = ^S;
susp = ^Z; rprnt = ^R; werase = ^W; lnext = ^V; discard = ^O; min = 1; time = 0;
-parenb -parodd -cmspar cs8 -hupcl -cstopb cread -clocal -crtscts
-ignbrk -brkint -ignpar -parmrk -inpck -istrip -inlcr -igncr icrnl ixon -ixoff -iuclc -ixany -imaxbel iutf8
opost -olcuc -ocrnl onlcr -onocr -onlret -ofill -ofdel nl0 cr0 tab0 bs0 vt0 ff0
isig icanon iexten echo echoe echok -echonl -noflsh -xcase -tostop -echoprt echoctl echoke -flusho -extproc
`;

test("stty -a's output, macOS (BSD) and GNU: canonical mode and the eof byte", () => {
  assert.equal(parseTtyMode(MACOS), { canonical: true, eof: 4 });
  assert.equal(parseTtyMode(MACOS_RAW), { canonical: false, eof: 2 });
  assert.equal(parseTtyMode(MACOS_UNDEF), { canonical: true, eof: 4 }, '<undef>: the usual ^D');
  assert.equal(parseTtyMode(GNU), { canonical: true, eof: 4 });
  assert.equal(parseTtyMode(GNU.replace(' icanon ', ' -icanon ')), { canonical: false, eof: 4 });
});

/** A stty that takes BSD's options only, as macOS's does (-f names a device; -F is refused), in front of the real one. */
function bsdOptionsStty(dir: string): void {
  const real = ['/usr/bin/stty', '/bin/stty'].find((p) => fs.existsSync(p))!;
  fs.writeFileSync(
    path.join(dir, 'stty'),
    `#!/bin/sh
for a in "$@"; do
  case "$a" in -F*) echo "stty: illegal option -- F" >&2; echo "usage: stty [-a | -e | -g] [-f file] [arguments]" >&2; exit 1;; esac
done
exec ${real} "$@"
`,
    { mode: 0o755 },
  );
}

test('a real terminal: its mode is read with GNU stty and with a stty that takes only BSD options', async () => {
  const pty = createRequire(path.join(ROOT, 'skills/background-manager/package.json'))(
    '@lydell/node-pty',
  ) as typeof ptyTypes;
  const term = pty.spawn('sleep', ['30'], { cols: 80, rows: 24, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bgm-stty-'));
  const savedPath = process.env.PATH;
  try {
    const pts = (term as unknown as { ptsName: string }).ptsName;
    assert.equal(readTtyMode(pts), { canonical: true, eof: 4 }, 'GNU stty');
    bsdOptionsStty(dir);
    process.env.PATH = `${dir}:${savedPath}`;
    assert.equal(readTtyMode(pts), { canonical: true, eof: 4 }, 'a stty without -F');
  } finally {
    process.env.PATH = savedPath;
    term.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
