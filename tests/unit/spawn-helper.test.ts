// node-pty's spawn-helper on macOS (lib/process/spawn-helper.ts): the darwin prebuilds ship it
// 0755, and a copied skill folder may have lost the mode; a PTY start then names the file and
// the fix instead of node-pty's bare "posix_spawnp failed.". The check takes the path, so it
// runs here on a real file; where node-pty looks is resolved as node-pty resolves it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import {
  spawnHelperPath,
  spawnHelperProblem,
} from '../../skills/background-manager/scripts/lib/process/spawn-helper.ts';

function withTemp(fn: (dir: string) => void): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bgm-spawn-helper-'));
  try {
    fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('a spawn-helper without its execute bits: one line naming the file and the fix; executable: fine', () =>
  withTemp((dir) => {
    const file = path.join(dir, 'spawn-helper');
    fs.writeFileSync(file, '#!/bin/sh\n', { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    const problem = spawnHelperProblem(file);
    assert.type(problem, 'string');
    assert.not.match(problem!, '\n');
    assert.ok(problem!.includes(`chmod +x '${file}'`), problem);
    assert.match(problem!, /spawn-helper/);
    fs.chmodSync(file, 0o755);
    assert.is(spawnHelperProblem(file), undefined);
  }));

test('a missing spawn-helper, or a folder in its place: named, with the fix', () =>
  withTemp((dir) => {
    const file = path.join(dir, 'spawn-helper');
    assert.match(spawnHelperProblem(file) ?? '', /missing/);
    assert.ok((spawnHelperProblem(file) ?? '').includes(file));
    fs.mkdirSync(file);
    assert.match(spawnHelperProblem(file) ?? '', /not a file/);
  }));

test("where node-pty looks for it: @lydell/node-pty-<platform>-<arch>/spawn-helper, resolved from node-pty's folder", () =>
  withTemp((dir) => {
    const mods = path.join(dir, 'node_modules', '@lydell');
    fs.mkdirSync(path.join(mods, 'node-pty'), { recursive: true });
    fs.writeFileSync(path.join(mods, 'node-pty', 'package.json'), '{"name":"@lydell/node-pty","main":"index.js"}');
    fs.writeFileSync(path.join(mods, 'node-pty', 'index.js'), '');
    const req = createRequire(path.join(dir, 'caller.js'));
    assert.is(spawnHelperPath(req), undefined, 'no prebuild package for this system: node-pty says what is missing');
    const pkg = path.join(mods, `node-pty-${process.platform}-${process.arch}`);
    fs.mkdirSync(pkg);
    fs.writeFileSync(path.join(pkg, 'package.json'), `{"name":"@lydell/node-pty-${process.platform}-${process.arch}"}`);
    fs.writeFileSync(path.join(pkg, 'spawn-helper'), '', { mode: 0o755 });
    assert.is(spawnHelperPath(req), fs.realpathSync(path.join(pkg, 'spawn-helper')));
  }));

test.run();
