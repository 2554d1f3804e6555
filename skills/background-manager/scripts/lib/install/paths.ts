// Where things live. The data dir is found from this file's own location (never the
// caller's cwd), so every script and the bundled builds agree; BG_DATA_DIR overrides it.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The skill's folder (skills/background-manager): the nearest ancestor holding scripts/lib.
export function skillRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (fs.existsSync(path.join(dir, 'scripts', 'lib', 'install', 'paths.ts'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error(`cannot find the background-manager skill folder from ${fileURLToPath(import.meta.url)}`);
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
