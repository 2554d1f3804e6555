// The sources every bundle in dist/ is made from, and the newest time one of them changed. Plain
// JavaScript with node built-ins only: build.mjs, the fast path's launchers (dist/<name>.mjs)
// and scripts/lib/cli/bundle.ts all ask this one question the same way.
import fs from 'node:fs';
import path from 'node:path';

export const SOURCE_DIRS = ['scripts', 'scripts/supervisor', 'scripts/lib', 'scripts/lib/commands', 'scripts/lib/store', 'scripts/lib/log', 'scripts/lib/process', 'scripts/lib/control', 'scripts/lib/cli'];

/** The newest modification time (ms) among build.mjs, sources.mjs, keycache-locate.mjs and the .ts sources. */
export function newestSourceMtime(skill) {
  const mtime = (f) => fs.statSync(f, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  let newest = Math.max(mtime(path.join(skill, 'build.mjs')), mtime(path.join(skill, 'sources.mjs')), mtime(path.join(skill, 'keycache-locate.mjs')));
  for (const dir of SOURCE_DIRS) {
    for (const f of fs.readdirSync(path.join(skill, dir))) if (f.endsWith('.ts')) newest = Math.max(newest, mtime(path.join(skill, dir, f)));
  }
  return newest;
}
