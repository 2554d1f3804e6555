// Commands shown in messages (hints), written so that they run as printed from where the
// caller stands. Kept out of paths.ts, which every entry script loads at start-up.
import fs from 'node:fs';
import path from 'node:path';
import { scriptPath, skillRoot } from './paths.ts';
import { shellQuote } from '../util/format.ts';

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
  const shown = (p: string) => shellQuote(inside ? path.relative(process.cwd(), p) : p);
  const bundle = path.join(skill, 'dist', `${script}.mjs`);
  if (/\.mjs$/.test(process.argv[1] ?? '') || (!inside && fs.existsSync(bundle))) return `node ${shown(bundle)}`;
  if (inside) return `npx tsx ${shown(scriptPath(`${script}.ts`))}`;
  // Outside, without a build: the repository's own tsx, so the caller's folder stays the cwd.
  return `${shellQuote(path.join(repo, 'node_modules', '.bin', 'tsx'))} ${shown(scriptPath(`${script}.ts`))}`;
}
