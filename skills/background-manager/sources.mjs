// The sources every bundle in dist/ is made from, the newest time one of them changed, and so
// whether dist/ is current (bundlesFresh: the one test of it, which the fast path's launchers
// and scripts/lib/install/bundle.ts ask; build.mjs stamps what it builds to match). Plain
// JavaScript with node built-ins only: build.mjs runs under plain node.
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
      // Joined by hand: path.join normalises every name, a few ms of each fast-path call.
      const f = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(f, only);
      else if (e.name.endsWith(only)) newest = Math.max(newest, mtime(f));
    }
  };
  for (const { dir, only } of SOURCE_DIRS) if (fs.existsSync(path.join(skill, dir))) walk(path.join(skill, dir), only);
  return newest;
}

/**
 * Whether every one of these files under dist/ exists and is at least as new as every source.
 * build.mjs gives what it builds the newest source's time from before the build began, so a
 * source edited during a build counts as newer.
 */
export function bundlesFresh(skill, distFiles) {
  const built = distFiles.map((f) => fs.statSync(path.join(skill, 'dist', f), { throwIfNoEntry: false })?.mtimeMs);
  if (built.some((m) => m === undefined)) return false;
  return Math.min(...built) >= newestSourceMtime(skill);
}
