// Where things live. The data dir is found from this file's own location (never the
// caller's cwd), so every script and the bundled builds agree; BG_DATA_DIR overrides it.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The skill's folder (skills/background-manager): the nearest ancestor holding scripts/lib.
export function skillRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (fs.existsSync(path.join(dir, 'scripts', 'lib', 'paths.ts'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the background-manager skill folder from ' + fileURLToPath(import.meta.url));
}

export function dataDirFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.BG_DATA_DIR;
  return fromEnv ? path.resolve(fromEnv) : path.join(skillRoot(), 'data');
}

export function logPath(dataDir: string, relative: string): string {
  return path.resolve(dataDir, relative);
}

export function scriptPath(name: string): string {
  return path.join(skillRoot(), 'scripts', name);
}

export function supervisorBundlePath(): string {
  return path.join(skillRoot(), 'dist', 'supervisor.mjs');
}

/**
 * How to run one of the scripts from where the caller stands, for hints in messages: the way
 * the current script was run (npx tsx, or node on the fast path), with a path relative to
 * the current folder inside the repository, and node with a full path outside it, where npx
 * would not find tsx.
 */
export function howToRun(script: string): string {
  const skill = skillRoot();
  const repo = path.dirname(path.dirname(skill));
  const inside = !path.relative(repo, process.cwd()).startsWith('..');
  const q = (w: string) => (/^[A-Za-z0-9_./=:@%+,-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`);
  const shown = (p: string) => q(inside ? path.relative(process.cwd(), p) : p);
  const bundle = path.join(skill, 'dist', `${script}.mjs`);
  if (/\.mjs$/.test(process.argv[1] ?? '') || (!inside && fs.existsSync(bundle))) return `node ${shown(bundle)}`;
  if (inside) return `npx tsx ${shown(scriptPath(`${script}.ts`))}`;
  // Outside, without a build: the repository's own tsx, so the caller's folder stays the cwd.
  return `${q(path.join(repo, 'node_modules', '.bin', 'tsx'))} ${shown(scriptPath(`${script}.ts`))}`;
}
