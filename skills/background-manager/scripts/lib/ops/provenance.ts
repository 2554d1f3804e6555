// Where each process was started from, as list_processes uses it: which processes the current
// checkout started (--here; an MCP client's roots), and which run old code (`stale`: the
// worktree's HEAD moved to another commit since the run started). The record's fields are
// written at the start (control/launch.ts, lib/util/git.ts); nothing here writes.
import type { ProcessRecord } from '../store/state.ts';
import { findWorktree, headCommit, type Provenance, UNKNOWN } from '../util/git.ts';
import { oneLine } from '../util/format.ts';
import type { Hints } from '../install/hints.ts';

/** What a start's provenance is matched by: its worktree's root inside git, else its folder. */
export function checkoutOf(p: Provenance): string {
  return p.git ? p.git.worktree : p.folder;
}

/** The checkouts `folders` are in (a shell's folder; an MCP client's roots): what --here keeps. */
export function hereCheckouts(folders: readonly string[]): string[] {
  return [...new Set(folders.map((f) => findWorktree(f) ?? f))];
}

/** Whether `p` was started from one of `checkouts` (a record older than provenance never was). */
export function startedFrom(p: ProcessRecord, checkouts: readonly string[]): boolean {
  return !!p.provenance && checkouts.includes(checkoutOf(p.provenance));
}

/**
 * Whether a live run's worktree is now on another commit than the run started on; null when
 * not known (not inside git, a commit unreadable then or now) or when it does not run. `heads`
 * keeps each worktree's commit for one listing.
 */
export function staleOf(p: ProcessRecord, live: boolean, heads: Map<string, string>): boolean | null {
  const g = p.provenance?.git;
  if (!live || !g || g.commit === UNKNOWN) return null;
  let now = heads.get(g.worktree);
  if (now === undefined) heads.set(g.worktree, (now = headCommit(g.worktree)));
  return now === UNKNOWN ? null : now !== g.commit;
}

/** The BRANCH cell: the branch, @commit when detached, ? when unknown, - outside git. */
export function branchCell(p: ProcessRecord): string {
  const g = p.provenance?.git;
  if (!g) return '-';
  if (g.branch === null) return g.commit === UNKNOWN ? '@?' : `@${g.commit.slice(0, 8)}`;
  return g.branch === UNKNOWN ? '?' : oneLine(g.branch);
}

/** Whether the listed processes come from more than one checkout (then the table shows BRANCH). */
export function severalCheckouts(ps: readonly ProcessRecord[]): boolean {
  return new Set(ps.flatMap((p) => (p.provenance ? [checkoutOf(p.provenance)] : []))).size > 1;
}

/** One line per stale process, saying which commit it runs, where its worktree is now, and the fix. */
export function staleLines(rows: { p: ProcessRecord; stale?: boolean | null }[], hints: Hints): string[] {
  return rows
    .filter((r) => r.stale)
    .map(({ p }) => {
      const g = p.provenance!.git!;
      const who = p.name === undefined ? p.id : `${p.id} (${oneLine(p.name)})`;
      return `Stale: ${who} runs commit ${g.commit.slice(0, 8)}; its worktree is now at ${headCommit(g.worktree).slice(0, 8)}. Restart it to run the new code: ${hints.call('restart_process', { ref: p.name ?? p.id })}`;
    });
}
