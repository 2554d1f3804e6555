// Hints in messages: another call a message points to, worded by the front end that answers
// (`Hints`). The scripts name shell commands, written so that they run as printed from where
// the caller stands (SHELL_HINTS); the MCP server names tools and their arguments
// (mcp/hints.ts). Kept out of paths.ts, which every entry script loads at start-up.
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

/** Another call a message points to: the process it acts on, and options set (true: turned on). */
export interface HintCall {
  ref?: string;
  options?: Record<string, true | string>;
}

/**
 * How a front end words the calls and options its messages point to. Every message that says
 * what to do next takes one from its caller, so the scripts say `node .../stop_process.mjs web`
 * and `--force` where the MCP server says `the stop_process tool (ids: ["web"])` and `force: true`.
 */
export interface Hints {
  /** Whether the caller types commands in a shell (the scripts, the page's own words) or calls tools (MCP). */
  shell: boolean;
  /** Another call, as this front end makes it. `verb`: a script's name, which is its tool's too. */
  call(verb: string, c?: HintCall): string;
  /** An option of a call, named as this front end names it: `--cwd` / `cwd`; with `on`, set: `--force` / `force: true`. */
  option(field: string, on?: true): string;
}

/** A request field as the scripts' flag: maxLogSize -> --max-log-size. */
export function flagOf(field: string): string {
  return `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** A request field as MCP's argument: maxLogSize -> max_log_size. */
export function argOf(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** The scripts' hints: shell commands that run as printed (howToRun), flags. */
export const SHELL_HINTS: Hints = {
  shell: true,
  call: (verb, c = {}) =>
    [
      howToRun(verb),
      ...Object.entries(c.options ?? {}).map(([k, v]) => (v === true ? flagOf(k) : `${flagOf(k)} ${shellQuote(v)}`)),
      ...(c.ref === undefined ? [] : [shellQuote(c.ref)]),
    ].join(' '),
  option: (field) => flagOf(field),
};
