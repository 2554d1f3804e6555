// tests/run.mjs itself, on the fixtures in tests/fixtures/runner: a skip() is counted and shown,
// the test that skipped is not counted as passed, CI=true turns a skip into a failed run, and
// nothing a test prints can pass for the runner's closing line or uvu's counts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './helpers.ts';

const CLOSING = /^(\d+) passed, (\d+) failed, (\d+) skipped$/gm;

/** node tests/run.mjs --full --dir tests/fixtures/runner <filter>, with CI as given (unset if undefined). */
function runner(filter: string, ci: string | undefined): Promise<{ code: number | null; out: string }> {
  const env = { ...process.env };
  delete env.CI;
  if (ci !== undefined) env.CI = ci;
  return new Promise((resolve, reject) => {
    const c = spawn(
      process.execPath,
      [path.join(ROOT, 'tests/run.mjs'), '--full', '--dir', 'tests/fixtures/runner', filter],
      { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    c.on('error', reject);
    c.on('close', (code) => resolve({ code, out }));
  });
}

/** The closing counts: the one line of that form, which must be the last. */
function closing(out: string): string {
  const lines = out.trimEnd().split('\n');
  const found = [...out.matchAll(CLOSING)].map((m) => m[0]);
  assert.equal(found, [lines.at(-1)], `one closing line, the last one:\n${out}`);
  return found[0]!;
}

test('a skip is counted, shown and not a pass; the run exits 0 without CI and 1 with CI=true; a test cannot fake the counts', async () => {
  for (const ci of [undefined, 'false', 'true']) {
    const r = await runner('skips', ci);
    assert.is(closing(r.out), '2 passed, 0 failed, 1 skipped', `CI=${ci}`);
    assert.match(r.out, /^SKIP skips\.test\.ts: 2 passed, 0 failed, 1 skipped in [\d.]+ s$/m, `CI=${ci}`);
    assert.match(r.out, /^SKIPPED in skips\.test\.ts: the fixture check: needs something this machine lacks$/m);
    if (ci === 'true') {
      assert.is(r.code, 1, `CI=true and a skip: the run fails\n${r.out}`);
      assert.match(r.out, /^FAILED: 1 skipped, and CI is set/m);
    } else {
      assert.is(r.code, 0, `CI=${ci}: a skip alone does not fail the run\n${r.out}`);
      assert.not.match(r.out, /^FAILED/m);
    }
  }
});

test('a failing test is counted as failed and fails the run; counts add up over files', async () => {
  const fails = await runner('fails', undefined);
  assert.is(fails.code, 1, fails.out);
  assert.is(closing(fails.out), '1 passed, 1 failed, 0 skipped');
  assert.match(fails.out, /^FAIL fails\.test\.ts: 1 passed, 1 failed, 0 skipped in [\d.]+ s \(exit 1\)$/m);
  assert.match(fails.out, /^FAILED: fails\.test\.ts \(exit 1\)$/m);
  const both = await runner('', 'true');
  assert.is(both.code, 1, both.out);
  assert.is(closing(both.out), '4 passed, 2 failed, 1 skipped');
});

test('a test that says SKIP and then fails counts as failed, not skipped, and takes no pass from the others', async () => {
  const r = await runner('skipthenfail', undefined);
  assert.is(r.code, 1, r.out);
  assert.is(closing(r.out), '1 passed, 1 failed, 0 skipped');
  assert.match(r.out, /^FAIL skipthenfail\.test\.ts: 1 passed, 1 failed, 0 skipped in [\d.]+ s \(exit 1\)$/m);
  assert.not.match(r.out, /^SKIPPED in/m);
});

test.run();
