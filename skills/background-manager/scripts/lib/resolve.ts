// Find the process a user means: an exact ID, else a unique ID prefix.
import { BgError } from './errors.ts';
import type { ProcessRecord, StateDoc } from './state.ts';

export function resolveProcess(doc: StateDoc, ref: string): ProcessRecord {
  const wanted = ref.trim().toLowerCase();
  if (!wanted) throw new BgError('USAGE', 'the process ID is empty. Give an ID or a unique prefix from list_processes.');
  const exact = doc.processes.find((p) => p.id.toLowerCase() === wanted);
  if (exact) return exact;
  const matches = doc.processes.filter((p) => p.id.toLowerCase().startsWith(wanted));
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) {
    throw new BgError('NOT_FOUND', `no process with ID "${ref}". Run list_processes to see the IDs.`);
  }
  const list = matches.map((p) => `  ${p.id}  ${p.command}`).join('\n');
  throw new BgError('AMBIGUOUS', `"${ref}" matches ${matches.length} processes; give more of the ID:\n${list}`);
}
