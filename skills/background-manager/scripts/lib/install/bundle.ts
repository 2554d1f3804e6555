// How an entry script runs, and whether the bundles in dist/ (made by build.mjs) are current;
// start_process rebuilds them here at run time when a source is newer.
// Under `npx tsx`, every module goes through tsx's loader: about 70 of them (yargs and
// proper-lockfile included) cost about 0.1 s per call. So scripts/<name>.ts hands over to the
// fast path, dist/<name>.mjs, when its bundle is newer than every source; when a source is
// newer (someone is editing), it runs the TypeScript itself. Node built-ins only here: this
// module is loaded before that choice.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { skillRoot, supervisorBundlePath } from './paths.ts';
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
export async function runScript(
  name: string,
  load: () => Promise<{ main: (argv: string[]) => Promise<number | void> }>,
): Promise<void> {
  const skill = skillRoot();
  if (bundlesFresh([`${name}.mjs`, `bundle/${name}.js`], skill)) {
    (globalThis as Record<symbol, unknown>)[Symbol.for('background-manager.bundle-checked')] = true; // the launcher need not look again
    await import(pathToFileURL(path.join(skill, 'dist', `${name}.mjs`)).href);
    return;
  }
  const [{ runMain }, { main }] = await Promise.all([import('../cli/cli.ts'), load()]);
  await runMain(name, main);
}

let entryBuild: Promise<void> = Promise.resolve();

/** The entry scripts' rebuild that ensureSupervisorBundle started, if any: await it before exiting. */
export function entryBundlesBuilt(): Promise<void> {
  return entryBuild;
}

/**
 * The supervisor's bundles (and its log thread's), rebuilt first if missing or older than their
 * sources. The entry scripts' bundles are rebuilt too (about 0.6 s idle, seconds under load), so
 * that the .ts scripts hand over to them again, but while the supervisor boots rather than
 * before it starts (a start racing a build of dist/ took 10 s under load): the caller awaits
 * entryBundlesBuilt() before it exits. A source that does not build stops only that part.
 * `secretVars`: environment variables kept from esbuild's helper process.
 */
export async function ensureSupervisorBundle(secretVars: readonly string[]): Promise<string> {
  const out = supervisorBundlePath();
  if (bundlesFresh([path.basename(out), 'log-thread.mjs'])) return out;
  // esbuild starts a helper process with our environment: the password stays out of it (the
  // helper is started by the first build below and serves the second one too).
  const saved = secretVars.map((v) => [v, process.env[v]] as const);
  for (const v of secretVars) delete process.env[v];
  try {
    const mod = (await import(pathToFileURL(path.join(skillRoot(), 'build.mjs')).href)) as {
      build(names?: string[]): Promise<void>;
      ENTRY_SCRIPTS: string[];
    };
    await mod.build(['supervisor', 'log-thread']);
    // The page too: the entry bundles are stamped with the newest source time, web/ included.
    entryBuild = mod.build([...mod.ENTRY_SCRIPTS, 'page']).catch(() => undefined); // the .ts scripts then run from source
  } finally {
    for (const [k, v] of saved) if (v !== undefined) process.env[k] = v;
  }
  return out;
}
