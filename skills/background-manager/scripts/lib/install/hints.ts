// Commands shown in messages (hints), written so that they run as printed from where the
// caller stands. Kept out of paths.ts, which every entry script loads at start-up.
import fs from 'node:fs';
import path from 'node:path';
import { scriptPath, skillRoot } from './paths.ts';
import { shellQuote } from '../util/format.ts';

/**
 * How to run one of the scripts from where the caller stands, for hints in messages and
 * --help: in the form the current script was run by (node dist/<x>.mjs, the documented form,
 * or npx tsx scripts/<x>.ts, the compatible one), so that what the caller copies runs as what
 * they ran and the compatible form's output stays as it was (REFERENCE.md, "Calling the
 * scripts"). The path is relative to the current folder inside the repository; outside it,
 * node with a full path, where npx would not find tsx.
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
