// Find the process a user means: an exact ID, else a name (the live one, or the most recent),
// else a unique ID prefix.
import { oneLine } from './lines.ts';
import { BgError } from './errors.ts';
import type { ProcessRecord, StateDoc } from './state.ts';
import { isLive } from './status.ts';

export function resolveProcess(doc: StateDoc, ref: string): ProcessRecord {
  const wanted = ref.trim();
  if (!wanted) throw new BgError('USAGE', 'the process ID is empty. Give an ID, a unique prefix, or a name from list_processes.');
  const lower = wanted.toLowerCase();
  const exact = doc.processes.find((p) => p.id === lower);
  if (exact) return exact;
  const named = doc.processes.filter((p) => p.name === wanted);
  if (named.length) return named.find((p) => isLive(p)) ?? named[named.length - 1]!;
  const matches = doc.processes.filter((p) => p.id.startsWith(lower));
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) {
    throw new BgError('NOT_FOUND', `no process with ID or name "${ref}". Run list_processes to see them.`);
  }
  const list = matches.map((p) => `  ${p.id}  ${p.name ? `[${p.name}] ` : ''}${oneLine(p.command)}`).join('\n');
  throw new BgError('AMBIGUOUS', `"${ref}" matches ${matches.length} processes; give more of the ID:\n${list}`);
}

/** resolveProcess for one of `count` references: an error says that none was acted on. */
export function resolveAll(doc: StateDoc, ref: string, count: number, verb: string): ProcessRecord {
  try {
    return resolveProcess(doc, ref);
  } catch (err) {
    if (count > 1 && err instanceof BgError) throw new BgError(err.code, `${err.message} Nothing was ${verb}.`);
    throw err;
  }
}
