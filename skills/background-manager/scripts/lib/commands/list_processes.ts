// list_processes: every managed process with its checked (not remembered) status.
import { makeParser } from '../cli/cli.ts';
import { openContext } from '../store/context.ts';
import { liveLeftovers, liveStatus, STATUSES, type LiveStatus } from '../process/status.ts';
import { allStats, bootId, type ProcStat } from '../process/proc.ts';
import { listeningPorts } from '../process/ports.ts';
import { localStamp, oneLine } from '../util/format.ts';
import type { ProcessRecord, StateDoc } from '../store/state.ts';

export function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return `${rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n')}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const args = await makeParser(
    argv,
    'Usage: $0 [--status STATUS] [--json]\n\nLists every managed process and its status, checked live: running, orphaned, restarting,\nexited(code), stopped(how), timeout(how), failed(how), killed(signal), zombie,\nexiting, lost (gone with no recorded end), unverified (a Python-era entry whose PID\nexists but cannot be proven to be ours).',
  )
    .option('status', {
      type: 'string',
      choices: STATUSES,
      describe: 'Only processes with this status',
      requiresArg: true,
    })
    .option('json', { type: 'boolean', default: false, describe: 'One JSON array with every field' })
    .example('$0', 'Show the table')
    .example('$0 --status running', 'Only what runs')
    .example('$0 --json', 'For programs')
    .demandCommand(0, 0, '', 'list_processes takes no arguments.')
    .parseAsync();
  const ctx = openContext({ create: false });
  const doc = ctx.store.read();
  const rows = listed(doc, args.status);
  if (args.json) {
    process.stdout.write(`${JSON.stringify(rows.map(listedJson), null, 2)}\n`);
    return 0;
  }
  if (rows.length === 0) {
    process.stdout.write(
      args.status ? `No processes with status ${args.status}.\n` : `No managed processes in ${oneLine(ctx.dataDir)}.\n`,
    );
    return 0;
  }
  process.stdout.write(processTable(rows));
  return 0;
}

/** A process as listed: its record, its status checked now, its ports, what it left running. */
export interface Listed {
  p: ProcessRecord;
  s: LiveStatus;
  ports: number[];
  leftovers: ProcStat[]; // an ended process's background jobs that still run
}

/** Every process (or those with `status`), checked live: the one listing, used by this script and the dashboard. */
export function listed(doc: StateDoc, status?: string): Listed[] {
  const boot = bootId();
  let rows = doc.processes.map((p: ProcessRecord) => ({ p, s: liveStatus(p, boot) }));
  if (status) rows = rows.filter((r) => r.s.status === status);
  // Ports come from /proc: only worth reading for processes that run.
  const live = (r: (typeof rows)[number]) => r.s.status === 'running' || r.s.status === 'orphaned';
  // An ended process's background jobs that still run (a server started with &): their ports.
  const left = new Map(
    rows.filter((r) => !live(r) && r.p.leftovers?.length).map((r) => [r.p.id, liveLeftovers(r.p, boot)]),
  );
  const stats = rows.some(live) || [...left.values()].some((l) => l.length) ? allStats() : [];
  const portsOf = (r: (typeof rows)[number]) =>
    live(r)
      ? listeningPorts(r.p.pid, stats)
      : [...new Set((left.get(r.p.id) ?? []).flatMap((st) => listeningPorts(st.pid, stats)))].sort((a, b) => a - b);
  return rows.map((r) => ({ ...r, ports: portsOf(r), leftovers: left.get(r.p.id) ?? [] }));
}

/** What --json prints for one process: every field but those internal to the log checks and the socket. */
export function listedJson({ p, s, ports, leftovers: left }: Listed): Record<string, unknown> {
  const {
    socket: _socket,
    env,
    newCursor: _cursor,
    newCursors: _cursors,
    logVersion: _chained,
    logEnd: _end,
    ...rest
  } = p;
  const leftovers = left.map((st) => p.leftovers!.find((l) => l.pid === st.pid)!);
  return {
    ...rest,
    ...(leftovers.length ? { leftovers } : { leftovers: undefined }),
    exitCode: p.exitCode ?? null,
    signal: p.signal ?? null,
    envKeys: Object.keys(env ?? {}),
    status: s.status,
    exitStatus: s.exitStatus ?? null,
    ports,
    restarts: p.restarts ?? 0,
    legacy: !!p.legacy,
  };
}

/** The table list_processes prints (header row first). */
export function processTable(rows: Listed[]): string {
  // The Python skill's columns first, in its order (ID, PID, STATUS, STARTED ... COMMAND), so
  // what read its table by position still works; ours go before COMMAND, which stays last.
  const table = [['ID', 'PID', 'STATUS', 'STARTED', 'NAME', 'RESTARTS', 'PORTS', 'COMMAND']];
  for (const { p, s, ports } of rows) {
    table.push([
      p.id,
      String(p.pid),
      s.label,
      localStamp(Date.parse(p.startedAt), false),
      p.name === undefined ? '-' : oneLine(p.name),
      String(p.restarts ?? 0),
      ports.length ? ports.join(',') : '-',
      oneLine(p.command),
    ]);
  }
  return formatTable(table);
}
