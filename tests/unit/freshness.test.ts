// bundlesFresh (sources.mjs): the one test of whether dist/ is current, which the fast path's
// launchers (install/launcher.ts) and scripts/<name>.ts (install/bundle.ts) both ask: every
// dist file named must exist and be at least as new as every source build.mjs reads.
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundlesFresh } from '../../skills/background-manager/sources.mjs';
import { unitSuite } from './harness.ts';

const test = unitSuite('bundlesFresh');

const T0 = new Date('2030-01-01T00:00:00Z').getTime();

/** A skill folder of empty files, each stamped T0 + `at` seconds. */
function skillWith(files: Record<string, number>): string {
  const skill = fs.mkdtempSync(path.join(os.tmpdir(), 'bgm-unit-fresh-'));
  for (const [f, at] of Object.entries(files)) {
    const file = path.join(skill, f);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '');
    const t = new Date(T0 + at * 1000);
    fs.utimesSync(file, t, t);
  }
  return skill;
}

const SOURCES = {
  'build.mjs': 0,
  'sources.mjs': 0,
  'keycache-locate.mjs': 0,
  'package-lock.json': 0,
  'scripts/list_processes.ts': 0,
  'scripts/lib/cli/cli.ts': 0,
  'web/app.ts': 0,
};
const DIST = ['list_processes.mjs', 'bundle/list_processes.js'];

function fresh(changes: Record<string, number>, dist = DIST): boolean {
  const skill = skillWith({ ...SOURCES, 'dist/list_processes.mjs': 5, 'dist/bundle/list_processes.js': 5, ...changes });
  try {
    return bundlesFresh(skill, dist);
  } finally {
    fs.rmSync(skill, { recursive: true, force: true });
  }
}

test('current: every dist file at least as new as every source (the same time counts)', () => {
  assert.is(fresh({}), true);
  assert.is(fresh({ 'scripts/lib/cli/cli.ts': 5 }), true);
});

test('a missing dist file is not current', () => {
  assert.is(fresh({}, [...DIST, 'bundle/nothing.js']), false);
});

test('a source newer than any one dist file: not current', () => {
  assert.is(fresh({ 'dist/list_processes.mjs': -1 }), false, 'older than the sources');
  for (const f of Object.keys(SOURCES)) assert.is(fresh({ [f]: 6 }), false, f);
});

test('what is not a source does not count: non-.ts files in scripts/, other top-level files', () => {
  assert.is(fresh({ 'scripts/notes.md': 9, 'README.md': 9, 'data/key.json': 9 }), true);
  assert.is(fresh({ 'web/index.html': 9 }), false, 'every file of web/ counts');
});

test.run();
