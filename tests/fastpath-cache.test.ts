// The fast path's code cache (build.mjs: dist/bundle/<name>.cache beside the body it was made
// from). V8 checks little more than a cached source's length, so the launcher must take a cache
// only beside the very body it was made from: an edited body of the same length runs as edited.
// And the cache that the build writes is one V8 takes (else it would be dead weight).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { spawnSync } from 'node:child_process';
import { cleanup, copySkillSources, makeSandbox, type Sandbox } from './helpers.ts';

/** A built copy of the skill folder (node_modules linked), so that its dist/ can be altered. */
function builtCopy(sb: Sandbox): string {
  const skill = path.join(sb.dir, 'repo/skills/background-manager');
  copySkillSources(skill);
  const b = spawnSync(process.execPath, [path.join(skill, 'build.mjs')], { encoding: 'utf8' });
  assert.is(b.status, 0, b.stderr);
  return skill;
}

test('the build writes a code cache that V8 accepts for the body beside it', async () => {
  const sb = makeSandbox();
  try {
    const skill = builtCopy(sb);
    const { BODY_HEAD, BODY_TAIL } = (await import(path.join(skill, 'build.mjs'))) as {
      BODY_HEAD: string;
      BODY_TAIL: string;
    };
    for (const name of ['list_processes', 'get_logs', 'send_input', 'start_process']) {
      const body = fs.readFileSync(path.join(skill, 'dist/bundle', `${name}.js`), 'utf8');
      const cache = fs.readFileSync(path.join(skill, 'dist/bundle', `${name}.cache`));
      const script = new vm.Script(BODY_HEAD + body + BODY_TAIL, { filename: name, cachedData: cache.subarray(32) });
      assert.is(script.cachedDataRejected, false, `${name}: V8 rejected the cache`);
    }
  } finally {
    cleanup(sb);
  }
});

test('a body edited after the build (same length) runs as edited, not from the stale cache', () => {
  const sb = makeSandbox();
  try {
    const skill = builtCopy(sb);
    const body = path.join(skill, 'dist/bundle/list_processes.js');
    // A constant made as the body loads (cli.ts's help epilogue), so in the cache's own code.
    const text = fs.readFileSync(body, 'utf8');
    assert.ok(text.includes('Exit codes: 0 ok'));
    const edited = text.replace('Exit codes: 0 ok', 'Exit kodes: 0 ok');
    assert.is(edited.length, text.length);
    const stamp = fs.statSync(body).mtime;
    fs.writeFileSync(body, edited);
    fs.utimesSync(body, stamp, stamp); // still as new as the sources: no rebuild
    const r = spawnSync(process.execPath, [path.join(skill, 'dist/list_processes.mjs'), '--help'], {
      encoding: 'utf8',
      env: sb.env,
    });
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, /\nExit kodes: 0 ok/);
  } finally {
    cleanup(sb);
  }
});

test.run();
