// Keypresses for send_input --key / --keys: the bytes an xterm sends for each key, which is
// what TUIs (curses, top, installers' menus) under our PTY expect (TERM=xterm-256color).
// Cursor keys depend on the terminal's mode: a program that turns on application cursor keys
// (ESC[?1h, as curses does with keypad()) reads ESC O A for up, and takes ESC [ A for a lone
// Escape followed by text. The mode is read back from the output the program wrote.
import { BgError } from '../errors.ts';
import type { LogSetReader } from '../log/format/logset.ts';
import { oneLine } from '../util/format.ts';

const NAMED_KEYS: Record<string, string> = {
  enter: '\r',
  return: '\r',
  tab: '\t',
  'shift-tab': '\x1b[Z',
  backtab: '\x1b[Z',
  escape: '\x1b',
  esc: '\x1b',
  backspace: '\x7f',
  space: ' ',
  up: '\x1b[A',
  down: '\x1b[B',
  right: '\x1b[C',
  left: '\x1b[D',
  home: '\x1b[H',
  end: '\x1b[F',
  pageup: '\x1b[5~',
  pagedown: '\x1b[6~',
  insert: '\x1b[2~',
  delete: '\x1b[3~',
  f1: '\x1bOP',
  f2: '\x1bOQ',
  f3: '\x1bOR',
  f4: '\x1bOS',
  f5: '\x1b[15~',
  f6: '\x1b[17~',
  f7: '\x1b[18~',
  f8: '\x1b[19~',
  f9: '\x1b[20~',
  f10: '\x1b[21~',
  f11: '\x1b[23~',
  f12: '\x1b[24~',
};

// The keys whose bytes change in application cursor mode: ESC [ x becomes ESC O x.
const CURSOR_KEYS = new Set(['up', 'down', 'right', 'left', 'home', 'end']);

export const KEY_NAMES = Object.keys(NAMED_KEYS);

export interface KeyMode {
  pty: boolean;
  appCursor?: boolean; // the program turned on application cursor keys (ESC[?1h)
}

/** The bytes for a key name: the table above, ctrl-<letter>, alt-<key> (ESC, then the key), or one character. */
export function keyBytes(name: string, mode: KeyMode): string {
  const k = name
    .toLowerCase()
    .replace(/^(c|ctl|control)-/, 'ctrl-')
    .replace(/^(m|meta|opt|option)-/, 'alt-');
  if (k === 'enter' || k === 'return') return mode.pty ? '\r' : '\n';
  if (NAMED_KEYS[k])
    return mode.appCursor && CURSOR_KEYS.has(k) ? NAMED_KEYS[k].replace('\x1b[', '\x1bO') : NAMED_KEYS[k];
  const m = /^ctrl-([a-z@[\\\]^_])$/.exec(k);
  if (m) return String.fromCharCode(m[1]!.toUpperCase().charCodeAt(0) - 64);
  if (k.startsWith('alt-') && k.length > 4) {
    const rest = name.slice(name.indexOf('-') + 1);
    // alt-x, alt-X (case kept), alt-. ; or alt- with any other key name (alt-enter, alt-ctrl-c).
    if ([...rest].length === 1 && rest > ' ' && rest !== '\x7f') return `\x1b${rest}`;
    return `\x1b${keyBytes(rest, mode)}`;
  }
  // One printable character is the key that types it (--key q, --key y), case kept.
  if ([...name].length === 1 && name > ' ' && name !== '\x7f') return name;
  throw new BgError(
    'USAGE',
    `unknown key "${oneLine(name)}". Use one of: ${KEY_NAMES.join(', ')}, ctrl-<letter> (e.g. ctrl-c), alt-<key> (e.g. alt-x) or one character (e.g. q).`,
  );
}

/** The names in a --keys list: 'down down enter' (spaces or commas between). */
export function splitKeys(list: string): string[] {
  return list.split(/[\s,]+/).filter(Boolean);
}

export function needsCursorMode(names: string[]): boolean {
  return names.some((n) => CURSOR_KEYS.has(n.toLowerCase().replace(/^(alt|m|meta|opt|option)-/, '')));
}

// How far back to look for the mode: a program sets it once it starts, or on each redraw.
const MODE_SCAN_BYTES = 32 << 20;

/** Whether the program's latest output turned application cursor keys on (ESC[?1h) and not off again. */
export function readAppCursorMode(reader: LogSetReader): boolean {
  let found: boolean | undefined;
  let scanned = 0;
  let after: Buffer = Buffer.alloc(0); // the start of the newer record: a sequence may span two records
  reader.backward((rec) => {
    if (rec.stream !== 'stdout') return true;
    const text = Buffer.concat([rec.data, after.subarray(0, 16)]).toString('latin1');
    let last: boolean | undefined;
    for (const m of text.matchAll(/\x1b\[\?([\d;]*)([hl])/g)) if (m[1]!.split(';').includes('1')) last = m[2] === 'h';
    after = rec.data;
    scanned += rec.data.length;
    if (last !== undefined) found = last;
    return found === undefined && scanned < MODE_SCAN_BYTES;
  });
  return found ?? false;
}
