// How an entry script runs, and whether the bundles in dist/ (made by build.mjs) are current.
// Under `npx tsx`, every module goes through tsx's loader: about 70 of them (yargs and
// proper-lockfile included) cost about 0.1 s per call. So scripts/<name>.ts hands over to the
// fast path, dist/<name>.mjs, when its bundle is newer than every source; when a source is
// newer (someone is editing), it runs the TypeScript itself. Node built-ins only here: this
// module is loaded before that choice.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { skillRoot } from '../store/paths.ts';
import { newestSourceMtime } from '../../../sources.mjs';

/** Whether every one of these files under dist/ exists and is at least as new as every source. */
export function bundlesFresh(distFiles: string[], skill = skillRoot()): boolean {
  const built = distFiles.map((f) => mtimeOf(path.join(skill, 'dist', f)));
  if (built.some((m) => m === undefined)) return false;
  return Math.min(...(built as number[])) >= newestSourceMtime(skill);
}

function mtimeOf(file: string): number | undefined {
  return fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs;
}

/** Run entry script `name`: its fresh bundle if there is one, else `load()`'s main. */
export async function runScript(name: string, load: () => Promise<{ main: (argv: string[]) => Promise<number | void> }>): Promise<void> {
  const skill = skillRoot();
  if (bundlesFresh([`${name}.mjs`, `bundle/${name}.js`], skill)) {
    (globalThis as Record<symbol, unknown>)[Symbol.for('background-manager.bundle-checked')] = true; // the launcher need not look again
    await import(pathToFileURL(path.join(skill, 'dist', `${name}.mjs`)).href);
    return;
  }
  const [{ runMain }, { main }] = await Promise.all([import('./cli.ts'), load()]);
  await runMain(name, main);
}
