// list_processes's use case, once for the scripts, the MCP server and the page: every managed
// process with its status checked live (not remembered), its listening ports and what it left
// running; shown as the table, or as JSON with every field.
import { allStats, bootId, isPortable, type ProcStat } from '../process/proc.ts';
import { listeningPorts, type PortScan } from '../process/ports.ts';
import { type LiveStatus, liveLeftovers, liveStatus } from '../process/status.ts';
import { waitingCell, waitingOf } from '../process/input-state.ts';
import type { ProcessRecord, StateDoc } from '../store/state.ts';
import { localStamp, oneLine } from '../util/format.ts';
import { branchCell, severalCheckouts, staleOf, startedFrom } from './provenance.ts';
import { recordRedactor } from '../util/redact.ts';

/** A process as listed: its record, its status checked now, its ports, what it left running. */
export interface Listed {
  p: ProcessRecord;
  s: LiveStatus;
  ports: number[];
  leftovers: ProcStat[]; // an ended process's background jobs that still run
  stale?: boolean | null; // with ListOptions.stale: its worktree moved to another commit (ops/provenance.ts)
}

/** What a listing may add: only what `here` (checkouts, ops/provenance.ts) started; `stale` computed. */
export interface ListOptions {
  here?: readonly string[];
  stale?: boolean;
}

/**
 * Every process (or those with `status`), checked live: the one listing, for every front end.
 * Secrets in command lines are shown as [REDACTED:kind] (shownRecord).
 */
export function listed(doc: StateDoc, status?: string, opts: ListOptions = {}): Listed[] {
  const boot = bootId();
  const { here } = opts;
  const recs = here ? doc.processes.filter((p) => startedFrom(p, here)) : doc.processes;
  // The portable layer reads the whole table with one ps, and each record's check below is
  // answered from it (portable.ts stat); else each would run a ps of its own.
  const table = isPortable() && recs.some((p) => !p.ended || p.leftovers?.length) ? allStats() : undefined;
  let rows = recs.map((p: ProcessRecord) => ({ p: shownRecord(p), s: liveStatus(p, boot) }));
  if (status) rows = rows.filter((r) => r.s.status === status);
  // Ports come from /proc: only worth reading for processes that run.
  const live = (r: (typeof rows)[number]) => r.s.status === 'running' || r.s.status === 'orphaned';
  // An ended process's background jobs that still run (a server started with &): their ports.
  const left = new Map(
    rows.filter((r) => !live(r) && r.p.leftovers?.length).map((r) => [r.p.id, liveLeftovers(r.p, boot)]),
  );
  const stats = table ?? (rows.some(live) || [...left.values()].some((l) => l.length) ? allStats() : []);
  const scan: PortScan = {}; // /proc/net/tcp{,6} read once for the whole listing
  const portsOf = (r: (typeof rows)[number]) =>
    live(r)
      ? listeningPorts(r.p.pid, stats, scan)
      : [...new Set((left.get(r.p.id) ?? []).flatMap((st) => listeningPorts(st.pid, stats, scan)))].sort(
          (a, b) => a - b,
        );
  const heads = new Map<string, string>(); // each worktree's HEAD, read once (stale)
  return rows.map((r) => ({
    ...r,
    ports: portsOf(r),
    leftovers: left.get(r.p.id) ?? [],
    ...(opts.stale ? { stale: staleOf(r.p, live(r), heads) } : {}),
  }));
}

/** `p` as listed: secrets in its command line and argv replaced by markers (util/redact.ts). */
export function shownRecord(p: ProcessRecord): ProcessRecord {
  const r = recordRedactor(p);
  const command = r.text(p.command);
  const argv = p.argv.map((a) => r.text(a));
  return r.hidden ? { ...p, command, argv } : p;
}

/** What an empty listing says: none with `status`, none started `here` (its checkouts), or none at all in `dataDir`. */
export function emptyListText(status: string | undefined, dataDir: string, here?: readonly string[]): string {
  const which = status ? `processes with status ${status}` : 'processes';
  if (here) return `No ${which} started from ${here.map(oneLine).join(' or ')}.`;
  return status ? `No ${which}.` : `No managed processes in ${oneLine(dataDir)}.`;
}

/** One process as JSON: every field but those internal to the log checks and the socket. */
export function listedJson({ p, s, ports, leftovers: left, stale }: Listed): Record<string, unknown> {
  const {
    socket: _socket,
    env,
    secretEnv,
    newCursor: _cursor,
    newCursors: _cursors,
    logVersion: _chained,
    logEnd: _end,
    waitingForInput: _waiting,
    ...rest
  } = p;
  const leftovers = left.map((st) => p.leftovers!.find((l) => l.pid === st.pid)!);
  return {
    ...rest,
    ...(leftovers.length ? { leftovers } : { leftovers: undefined }),
    exitCode: p.exitCode ?? null,
    signal: p.signal ?? null,
    envKeys: Object.keys(env ?? {}),
    ...(secretEnv ? { secretEnvKeys: Object.keys(secretEnv) } : {}),
    status: s.status,
    exitStatus: s.exitStatus ?? null,
    ports,
    restarts: p.restarts ?? 0,
    legacy: !!p.legacy,
    provenance: p.provenance ?? null,
    stale: stale ?? null,
    // People attached (attach_process, the page): the supervisor's count, while it runs.
    viewers: s.status === 'running' ? p.viewers : undefined,
    waitingForInput: waitingOf(p, s),
  };
}

/** The table list_processes prints (header row first). */
export function processTable(rows: Listed[]): string {
  // The Python skill's columns first, in its order (ID, PID, STATUS, STARTED ... COMMAND), so
  // what read its table by position still works; ours go before COMMAND, which stays last.
  // BRANCH only when the rows come from more than one checkout: which one serves :3000.
  const branch = severalCheckouts(rows.map((r) => r.p));
  const table = [
    ['ID', 'PID', 'STATUS', 'STARTED', 'NAME', 'RESTARTS', 'PORTS', 'INPUT', ...(branch ? ['BRANCH'] : []), 'COMMAND'],
  ];
  for (const { p, s, ports } of rows) {
    table.push([
      p.id,
      String(p.pid),
      s.label,
      localStamp(Date.parse(p.startedAt), false),
      p.name === undefined ? '-' : oneLine(p.name),
      String(p.restarts ?? 0),
      ports.length ? ports.join(',') : '-',
      waitingCell(waitingOf(p, s)),
      ...(branch ? [branchCell(p)] : []),
      oneLine(p.command),
    ]);
  }
  return formatTable(table);
}

/** Rows as aligned columns, two spaces apart; the last column is not padded. */
function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return `${rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n')}\n`;
}
