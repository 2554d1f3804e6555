// Find the process a user means: an exact ID, else a name (the live one, or the most recent),
// else a unique ID prefix. What fails says how to list them, in the caller's words (`hints`).
import { oneLine } from '../util/format.ts';
import { BgError } from '../errors.ts';
import type { ProcessRecord, StateDoc } from '../store/state.ts';
import { findRecord } from '../store/state.ts';
import { liveNameHolder } from './status.ts';
import type { Hints } from '../install/hints.ts';

export function resolveProcess(doc: StateDoc, ref: string, hints: Hints): ProcessRecord {
  const wanted = ref.trim();
  if (!wanted)
    throw new BgError('USAGE', 'the process ID is empty. Give an ID, a unique prefix, or a name from list_processes.');
  const lower = wanted.toLowerCase();
  const exact = findRecord(doc, lower);
  if (exact) return exact;
  const named = doc.processes.filter((p) => p.name === wanted);
  if (named.length) return liveNameHolder(doc, wanted) ?? named[named.length - 1]!;
  const matches = doc.processes.filter((p) => p.id.startsWith(lower));
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) {
    throw new BgError(
      'NOT_FOUND',
      `no process with ID or name "${oneLine(ref)}" (list them with: ${hints.call('list_processes')}).`,
    );
  }
  const list = matches
    .map((p) => `  ${p.id}  ${p.name ? `[${oneLine(p.name)}] ` : ''}${oneLine(p.command)}`)
    .join('\n');
  throw new BgError(
    'AMBIGUOUS',
    `"${oneLine(ref)}" matches ${matches.length} processes; give more of the ID:\n${list}`,
  );
}

/**
 * resolveProcess for each reference. Any that fails: one error naming every failure (the
 * first one's code), and that nothing was `verb` when there were several.
 */
export function resolveAll(doc: StateDoc, refs: string[], verb: string, hints: Hints): ProcessRecord[] {
  const found: ProcessRecord[] = [];
  const failed: BgError[] = [];
  for (const ref of refs) {
    try {
      found.push(resolveProcess(doc, ref, hints));
    } catch (err) {
      if (!(err instanceof BgError)) throw err;
      failed.push(err);
    }
  }
  if (failed.length === 0) return found;
  const text = failed.map((e) => e.message).join('\n');
  throw new BgError(failed[0]!.code, refs.length > 1 ? `${text} Nothing was ${verb}.` : text);
}
