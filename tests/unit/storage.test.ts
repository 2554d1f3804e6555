// Storage in process: the sealed record format, the key file (its bounds still checked under the
// test KDF cost), and the state store's read-modify-write.
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { open, seal, subKeys, useTestKdfCost } from '../../skills/background-manager/scripts/lib/store/crypto.ts';
import {
  DEFAULT_ITERATIONS,
  KEY_FILE,
  makeKeyFile,
  rewrapKey,
  unlock,
} from '../../skills/background-manager/scripts/lib/store/keys.ts';
import { StateStore, STATE_FILE } from '../../skills/background-manager/scripts/lib/store/state.ts';
import { BgError } from '../../skills/background-manager/scripts/lib/errors.ts';
import {
  contextOf,
  endedRecord,
  PASSWORD,
  TEST_KDF_ITERATIONS,
  type UnitDir,
  unitSuite,
  withUnitDir,
} from './harness.ts';

const test = unitSuite('storage');

const withDir = (name: string, fn: (u: UnitDir) => Promise<void> | void) => withUnitDir(test, name, fn);

function bgErrorOf(fn: () => unknown): BgError {
  try {
    fn();
  } catch (err) {
    if (err instanceof BgError) return err;
    throw err;
  }
  throw new Error('no error thrown');
}

test('a sealed record opens with its keys and its AAD only', () => {
  const keys = subKeys(randomBytes(32));
  const blob = seal(keys, Buffer.from('aad'), Buffer.from('secret text'));
  assert.is(open(keys, Buffer.from('aad'), blob)?.toString(), 'secret text');
  assert.is(open(keys, Buffer.from('other'), blob), undefined);
  assert.is(open(subKeys(randomBytes(32)), Buffer.from('aad'), blob), undefined);
  const flipped = Buffer.from(blob);
  flipped[flipped.length - 40]! ^= 1;
  assert.is(open(keys, Buffer.from('aad'), flipped), undefined);
});

withDir('a key file made under the test cost still records the real count, and unlocks again', (u) => {
  const first = unlock(u.dataDir, PASSWORD, { create: true })!;
  const k = JSON.parse(fs.readFileSync(path.join(u.dataDir, KEY_FILE), 'utf8'));
  assert.is(k.kdf.iterations, DEFAULT_ITERATIONS);
  const again = unlock(u.dataDir, PASSWORD, { create: false })!;
  assert.ok(again.dataKey.equals(first.dataKey));
});

withDir('the wrong password is WRONG_PASSWORD (exit 3), and the key file is unchanged', (u) => {
  unlock(u.dataDir, PASSWORD, { create: true });
  const before = fs.readFileSync(path.join(u.dataDir, KEY_FILE));
  const err = bgErrorOf(() => unlock(u.dataDir, 'not the password', { create: false }));
  assert.is(err.code, 'WRONG_PASSWORD');
  assert.is(err.exitCode, 3);
  assert.ok(fs.readFileSync(path.join(u.dataDir, KEY_FILE)).equals(before));
});

withDir("key.json's iteration bounds hold under the test cost: 50,000 is refused as altered", (u) => {
  fs.mkdirSync(u.dataDir, { recursive: true });
  fs.writeFileSync(path.join(u.dataDir, KEY_FILE), JSON.stringify(makeKeyFile(PASSWORD, randomBytes(32), 50_000)));
  const err = bgErrorOf(() => unlock(u.dataDir, PASSWORD, { create: false }));
  assert.is(err.code, 'DAMAGED');
  assert.match(err.message, /kdf\.iterations 50000 is outside 100,000 to 10,000,000/);
});

withDir('the test cost lives in this process only: without it the same file derives another key', (u) => {
  unlock(u.dataDir, PASSWORD, { create: true });
  useTestKdfCost(undefined); // the real 600,000: one slow derivation
  try {
    assert.is(bgErrorOf(() => unlock(u.dataDir, PASSWORD, { create: false })).code, 'WRONG_PASSWORD');
  } finally {
    useTestKdfCost(TEST_KDF_ITERATIONS);
  }
});

withDir('a new password re-wraps the same data key; the old one then fails', (u) => {
  const first = unlock(u.dataDir, PASSWORD, { create: true })!;
  rewrapKey(u.dataDir, PASSWORD, 'new password');
  assert.ok(unlock(u.dataDir, 'new password', { create: false })!.dataKey.equals(first.dataKey));
  assert.is(bgErrorOf(() => unlock(u.dataDir, PASSWORD, { create: false })).code, 'WRONG_PASSWORD');
});

withDir('the state store keeps what update wrote, encrypted, with a rising generation', async (u) => {
  const ctx = contextOf(u);
  await ctx.store.update((doc) => void doc.processes.push(endedRecord('aaaa0001')));
  await ctx.store.update((doc) => void doc.processes.push(endedRecord('aaaa0002')));
  const doc = new StateStore({ dataDir: u.dataDir, keys: ctx.unlocked!.keys }).read();
  assert.equal(
    doc.processes.map((p) => p.id),
    ['aaaa0001', 'aaaa0002'],
  );
  assert.ok((doc.generation ?? 0) >= 2);
  assert.not.match(fs.readFileSync(path.join(u.dataDir, STATE_FILE)).toString('latin1'), /aaaa0001|echo hello/);
});

withDir('a state file with one byte flipped is DAMAGED (exit 6), not read', async (u) => {
  const ctx = contextOf(u);
  await ctx.store.update((doc) => void doc.processes.push(endedRecord('aaaa0001')));
  const file = path.join(u.dataDir, STATE_FILE);
  const raw = fs.readFileSync(file);
  raw[raw.length - 5]! ^= 0x40;
  fs.writeFileSync(file, raw);
  const err = bgErrorOf(() => ctx.store.read());
  assert.is(err.code, 'DAMAGED');
  assert.is(err.exitCode, 6);
});

test.run();
