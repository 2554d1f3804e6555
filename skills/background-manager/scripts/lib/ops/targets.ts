// The processes a verb that takes several acts on (stop_process, remove_process): the IDs and
// names given, or a sweep (--all, --exited), never both and never neither. The check and its
// messages are written here once; each front end words them (its option names, how to list IDs).
import { BgError } from '../errors.ts';
import type { Hints } from '../install/hints.ts';
import { resolveAll } from '../process/resolve.ts';
import type { ProcessRecord, StateDoc } from '../store/state.ts';

/** How a front end names, in these messages, the sweep option and the IDs. */
export interface TargetWords {
  /** The sweep option: '--all' (scripts), 'all' (MCP). */
  sweep: string;
  /** The sweep option turned on: '--all' (scripts), 'all: true' (MCP). */
  sweepOn: string;
  /** The IDs: 'IDs' (scripts), 'ids' (MCP). */
  ids: string;
  /** What to give and where to see it: 'ID or name (list them with: ...)'. */
  give: string;
  /** How the messages point to another call (install/hints.ts). */
  hints: Hints;
}

/** Refused (USAGE) unless exactly one of `refs` and the sweep is given. */
export function checkTargets(refs: string[], sweep: boolean, words: TargetWords): void {
  if (sweep ? refs.length > 0 : refs.length === 0) {
    throw new BgError(
      'USAGE',
      sweep ? `${words.sweep} takes no ${words.ids}.` : `give the process ${words.give}, or ${words.sweepOn}.`,
    );
  }
}

/**
 * The records `refs` name, each once however often it is named; any that names none: one
 * error naming every failure, and that nothing was `verb` (resolveAll).
 */
export function resolveTargets(doc: StateDoc, refs: string[], verb: string, hints: Hints): ProcessRecord[] {
  return [...new Map(resolveAll(doc, refs, verb, hints).map((p) => [p.id, p])).values()];
}
