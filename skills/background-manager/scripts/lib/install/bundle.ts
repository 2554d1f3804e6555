// Whether the bundles in dist/ (made by build.mjs) are current, for the entry scripts
// (lib/cli/entry.ts) and the supervisor; start_process rebuilds them here at run time when a
// source is newer.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { skillRoot, supervisorBundlePath } from './paths.ts';
import { bundlesFresh } from '../../../sources.mjs';

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
  if (bundlesFresh(skillRoot(), [path.basename(out), 'log-thread.mjs'])) return out;
  // The helper esbuild starts for the first build below serves the second one too.
  await withoutEnv(secretVars, async () => {
    const mod = (await import(pathToFileURL(path.join(skillRoot(), 'build.mjs')).href)) as {
      build(names?: string[]): Promise<void>;
      ENTRY_SCRIPTS: string[];
    };
    await mod.build(['supervisor', 'log-thread']);
    // The page too: the entry bundles are stamped with the newest source time, web/ included.
    entryBuild = mod.build([...mod.ENTRY_SCRIPTS, 'page']).catch(() => undefined); // the .ts scripts then run from source
  });
  return out;
}

/**
 * Run `fn` (a build) with these environment variables out of process.env, and put them back
 * after: esbuild starts a helper process with our environment, and the password stays out of it.
 */
export async function withoutEnv<T>(vars: readonly string[], fn: () => Promise<T>): Promise<T> {
  const saved = vars.map((v) => [v, process.env[v]] as const);
  for (const v of vars) delete process.env[v];
  try {
    return await fn();
  } finally {
    for (const [k, v] of saved) if (v !== undefined) process.env[k] = v;
  }
}
