// send_input's operation (ops/send.ts) in process: the nothing-to-send check in each front
// end's words, the bytes a request makes (text, Enter, keys), and the refusals that come
// before anything is sent (a bad key name, a process that is not running or has lost its
// supervisor). No supervisor is reached.
import * as assert from 'uvu/assert';
import {
  checkSend,
  type SendRequest,
  sendTo,
  sentText,
  suffixOf,
} from '../../skills/background-manager/scripts/lib/ops/send.ts';
import { contextOf, endedRecord, unitSuite, withUnitDir } from './harness.ts';
import { errorOf, me, runningRecord } from './ops-helpers.ts';

const test = unitSuite('ops/send');

const req = (over: Partial<SendRequest> = {}): SendRequest => ({ enter: true, keys: [], eof: false, ...over });

test('a request that sends nothing is refused, saying what the front end takes', async () => {
  assert.is(
    await errorOf(() => checkSend(req(), 'text, keys or eof')),
    'USAGE: nothing to send: give text, keys or eof.',
  );
  // Any one of them is something: Enter alone (empty text), keys alone, the end of input alone.
  for (const r of [req({ text: '' }), req({ keys: ['enter'] }), req({ eof: true }), req({ input: () => [] })])
    assert.is(checkSend(r, 'x'), r);
});

test('the bytes after the input: text, then Enter unless told not, then the keys', () => {
  assert.is(suffixOf(req({ text: 'yes' }), '').toString(), 'yes\n');
  assert.is(suffixOf(req({ text: 'yes', enter: false }), '').toString(), 'yes');
  assert.is(suffixOf(req({ text: 'a' }), '\x1b[A').toString(), 'a\n\x1b[A');
  // Enter follows input of any size too, but never keys alone or the end of input alone.
  assert.is(suffixOf(req({ input: () => [] }), '').toString(), '\n');
  assert.is(suffixOf(req({ keys: ['up'] }), '\x1b[A').toString(), '\x1b[A');
  assert.is(suffixOf(req({ eof: true }), '').length, 0);
});

test('no second Enter after input or text that ends with a line end already (issue 25, defect 1)', () => {
  const input = () => [];
  // `<<< 'y'`, a heredoc, a file: their last byte is a newline (\r\n too).
  assert.is(suffixOf(req({ input }), '', 0x0a).toString(), '');
  assert.is(suffixOf(req({ input }), '', 'y'.charCodeAt(0)).toString(), '\n');
  assert.is(suffixOf(req({ input }), '', 0x0d).toString(), '\n', 'a bare \r is not a line end');
  assert.is(suffixOf(req({ input }), '\t', 0x0a).toString(), '\t', 'keys still follow');
  // Text (MCP, the page, argv) by the same rule; -n (enter: false) never adds one.
  assert.is(suffixOf(req({ text: 'y\n' }), '').toString(), 'y\n');
  assert.is(suffixOf(req({ text: 'y\r\n' }), '').toString(), 'y\r\n');
  assert.is(suffixOf(req({ text: 'y\n', enter: false }), '').toString(), 'y\n');
  assert.is(suffixOf(req({ text: '' }), '').toString(), '\n', 'Enter alone');
  // Text after input: the text's end decides; empty text leaves it to the input's.
  assert.is(suffixOf(req({ input, text: '' }), '', 0x0a).toString(), '');
  assert.is(suffixOf(req({ input, text: 'x' }), '', 0x0a).toString(), 'x\n');
});

test('what send_input says it sent', () => {
  assert.is(sentText('aaaa0001', 1, false), 'Sent 1 byte to process aaaa0001.');
  assert.is(sentText('aaaa0001', 0, true), 'Sent 0 bytes to process aaaa0001 and closed its input.');
});

withUnitDir(
  test,
  'a bad key name is refused before the process is looked at, and the input is never opened',
  async (u) => {
    let opened = false;
    const r = req({
      keys: ['bogus'],
      input: () => {
        opened = true;
        return [];
      },
    });
    const msg = await errorOf(() => sendTo(contextOf(u), endedRecord('aaaa0001'), r));
    assert.match(msg, /^USAGE: unknown key "bogus"\./);
    assert.not.ok(opened);
  },
);

withUnitDir(test, 'an ended process, or one whose supervisor is gone, takes no input', async (u) => {
  const ctx = contextOf(u);
  assert.is(
    await errorOf(() => sendTo(ctx, endedRecord('aaaa0001', { exitCode: 2 }), req({ text: 'x' }))),
    'NOT_RUNNING: process aaaa0001 is not running (exited(2)); input can only go to a running process.',
  );
  // The child is this process; its supervisor a PID that is not ours.
  const orphan = runningRecord('bbbb0002', { supervisorStartTicks: me.startTicks + 1 });
  assert.match(
    await errorOf(() => sendTo(ctx, orphan, req({ text: 'x' }))),
    /^NOT_RUNNING: process bbbb0002 runs on, but its supervisor is gone/,
  );
});

test.run();
