// attach's rules in ops/ (lib/ops/attach.ts, attach-note.ts): the detach key, and send_input's
// note while people are attached.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BgError } from '../../skills/background-manager/scripts/lib/errors.ts';
import { DETACH_KEY, detachKeyByte, keyLabel } from '../../skills/background-manager/scripts/lib/ops/attach.ts';
import { attachedNote } from '../../skills/background-manager/scripts/lib/ops/attach-note.ts';
import type { ProcessRecord } from '../../skills/background-manager/scripts/lib/store/state.ts';

test('detach keys: ctrl-] by default, ctrl-<letter>, ^X, the five others', () => {
  assert.is(detachKeyByte(DETACH_KEY), 0x1d);
  assert.is(detachKeyByte('ctrl-q'), 0x11);
  assert.is(detachKeyByte('CTRL-Q'), 0x11);
  assert.is(detachKeyByte('^a'), 0x01);
  assert.is(detachKeyByte('ctrl-\\'), 0x1c);
  assert.is(detachKeyByte('ctrl-_'), 0x1f);
  assert.is(keyLabel(0x1d), 'Ctrl-]');
  assert.is(keyLabel(0x11), 'Ctrl-Q');
});

test('a detach key that is not a control key is refused (exit 2), naming the choices', () => {
  for (const bad of ['q', 'ctrl-1', 'alt-x', '', 'ctrl-ab']) {
    try {
      detachKeyByte(bad);
      assert.unreachable(bad);
    } catch (err) {
      assert.instance(err, BgError);
      assert.is((err as BgError).exitCode, 2);
      assert.match((err as Error).message, /ctrl-<letter>/);
    }
  }
});

test("send_input's note: none without viewers; one person, or how many", () => {
  const rec = { id: 'a1b2c3d4' } as ProcessRecord;
  assert.is(attachedNote(rec), undefined);
  assert.match(
    attachedNote({ ...rec, viewers: 1 })!,
    /^note: a person is attached to process a1b2c3d4 \(attach_process\)/,
  );
  assert.match(attachedNote({ ...rec, viewers: 3 })!, /^note: 3 people are attached/);
});

test.run();
