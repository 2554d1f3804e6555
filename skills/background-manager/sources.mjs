// The sources every bundle in dist/ is made from, and the newest time one of them changed. Plain
// JavaScript with node built-ins only: build.mjs, the fast path's launchers (dist/<name>.mjs)
// and scripts/lib/install/bundle.ts all ask this one question the same way.
// Node's built-ins through require(), not import: an ES module's import of node:fs or
// node:crypto makes node build an ESM facade that reads every export, getters included, and
// so loads fs's streams and WebCrypto (10-60 ms of each fast-path call, which needs neither).
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const fs = require('node:fs');
const path = require('node:path');

// scripts/ (every .ts, in every folder below it) and web/ (the page: every file).
export const SOURCE_DIRS = [
  { dir: 'scripts', only: '.ts' },
  { dir: 'web', only: '' },
];

/** The newest modification time (ms) among build.mjs, sources.mjs, keycache-locate.mjs, package-lock.json and the sources in SOURCE_DIRS. */
export function newestSourceMtime(skill) {
  const mtime = (f) => fs.statSync(f, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  // package-lock.json too: an install that updates a package bundled into dist/ makes it stale.
  let newest = Math.max(
    ...['build.mjs', 'sources.mjs', 'keycache-locate.mjs', 'package-lock.json'].map((f) => mtime(path.join(skill, f))),
  );
  const walk = (dir, only) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const f = path.join(dir, e.name);
      if (e.isDirectory()) walk(f, only);
      else if (e.name.endsWith(only)) newest = Math.max(newest, mtime(f));
    }
  };
  for (const { dir, only } of SOURCE_DIRS) if (fs.existsSync(path.join(skill, dir))) walk(path.join(skill, dir), only);
  return newest;
}
