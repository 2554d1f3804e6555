// Issue 13, item 2: send_input --key covers what TUIs need (function keys, alt-<key>,
// shift-tab) and --keys takes several at once; arrows follow the program's cursor-key mode.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { listJson, run, start, waitFor, withSandbox } from './helpers.ts';
import { keyBytes, splitKeys } from '../skills/background-manager/scripts/lib/process/keys-input.ts';

test('a single character is the key that types it (--key q quits top, --key y answers a prompt)', () => {
  const pty = { pty: true, appCursor: false };
  assert.is(keyBytes('q', pty), 'q');
  assert.is(keyBytes('Y', pty), 'Y', 'case kept');
  assert.is(keyBytes('/', pty), '/');
  assert.throws(() => keyBytes('qq', pty), /unknown key "qq"/);
});

test('key names give the bytes an xterm sends', () => {
  const pty = { pty: true };
  assert.is(keyBytes('f1', pty), '\x1bOP');
  assert.is(keyBytes('F5', pty), '\x1b[15~');
  assert.is(keyBytes('f12', pty), '\x1b[24~');
  assert.is(keyBytes('shift-tab', pty), '\x1b[Z');
  assert.is(keyBytes('alt-x', pty), '\x1bx');
  assert.is(keyBytes('alt-X', pty), '\x1bX');
  assert.is(keyBytes('alt-enter', pty), '\x1b\r');
  assert.is(keyBytes('down', pty), '\x1b[B');
  assert.is(keyBytes('down', { pty: true, appCursor: true }), '\x1bOB');
  assert.is(keyBytes('ctrl-c', pty), '\x03');
  assert.equal(splitKeys(' down  down,enter '), ['down', 'down', 'enter']);
  assert.throws(() => keyBytes('f13', pty), /unknown key "f13"/);
});

withSandbox(
  'a curses menu driven by --keys: F5, shift-tab and alt-x are seen, and down down enter picks the third entry',
  async (sb) => {
    const { id } = await start(sb, ['--wait-for', 'Four', 'python3', 'tests/fixtures/menu.py']);
    const r = await run(sb, 'send_input.ts', [id, '--keys', 'f5 shift-tab alt-x down down enter']);
    assert.is(r.code, 0, r.stderr);
    await waitFor('the menu to exit', async () => (await listJson(sb))[0]!.status === 'exited', 30_000);
    const out = (await run(sb, 'get_logs.ts', [id, '-n', '2'])).stdout;
    assert.is(out, 'keys: F5 shift-tab alt-x\nchose: Three\n');
  },
);

withSandbox('send_input --keys with an unknown name sends nothing and exits 2', async (sb) => {
  const { id } = await start(sb, ['--no-pty', 'cat']);
  const r = await run(sb, 'send_input.ts', [id, 'text', '--keys', 'down f13']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /unknown key "f13"/);
  assert.is((await run(sb, 'get_logs.ts', [id, '--stream', 'input', '-n', '0'])).stdout, '');
});

test.run();
