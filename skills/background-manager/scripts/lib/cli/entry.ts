// How an entry script runs: its bundle in dist/ when that is current (the fast path), else the
// TypeScript through runMain. Under `npx tsx`, every module goes through tsx's loader: about 70
// of them (yargs and proper-lockfile included) cost about 0.1 s per call. So scripts/<name>.ts
// hands over to dist/<name>.mjs when its bundle is newer than every source; when a source is
// newer (someone is editing), it runs the TypeScript itself. Node built-ins only here, and
// cli.ts only once the choice is made: this module is loaded before that choice.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { skillRoot } from '../install/paths.ts';
import { bundlesFresh } from '../../../sources.mjs';
import { BUNDLE_CHECKED, fastPathGlobals } from '../install/fastpath.ts';

/** Run entry script `name`: its fresh bundle if there is one, else `load()`'s main. */
export async function runScript(
  name: string,
  load: () => Promise<{ main: (argv: string[]) => Promise<number | void> }>,
): Promise<void> {
  const skill = skillRoot();
  if (bundlesFresh(skill, [`${name}.mjs`, `bundle/${name}.js`])) {
    fastPathGlobals[BUNDLE_CHECKED] = true; // the launcher need not look again
    await import(pathToFileURL(path.join(skill, 'dist', `${name}.mjs`)).href);
    return;
  }
  const [{ runMain }, { main }] = await Promise.all([import('./cli.ts'), load()]);
  await runMain(name, main);
}
