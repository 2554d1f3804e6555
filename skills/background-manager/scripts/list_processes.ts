// list_processes: every managed process with its checked (not remembered) status.
import { makeParser, runMain, isEntry } from './lib/cli.ts';
import { openContext } from './lib/context.ts';
import { liveStatus } from './lib/status.ts';
import { bootId } from './lib/proc.ts';
import type { ProcessRecord } from './lib/state.ts';

function localTime(iso: string): string {
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

export async function main(argv: string[]): Promise<number> {
  const args = await makeParser(argv, 'Usage: list_processes.ts [--json]\n\nLists every managed process and its status, checked live: running, exited(code),\nstopped(signal), killed(signal), zombie, exiting, lost (gone with no recorded end),\nunverified (a Python-era entry whose PID exists but cannot be proven to be ours).')
    .option('json', { type: 'boolean', default: false, describe: 'One JSON array with every field' })
    .example('$0', 'Show the table')
    .example('$0 --json', 'For programs')
    .parseAsync();
  const ctx = openContext({ create: false });
  const doc = ctx.store.read();
  const boot = bootId();
  const rows = doc.processes.map((p: ProcessRecord) => ({ p, s: liveStatus(p, boot) }));
  if (args.json) {
    const out = rows.map(({ p, s }) => ({
      id: p.id,
      pid: p.pid,
      status: s.status,
      exitCode: p.exitCode ?? null,
      signal: p.signal ?? null,
      exitStatus: s.exitStatus ?? null,
      started: p.startedAt,
      ended: p.endedAt ?? null,
      command: p.command,
      argv: p.argv,
      cwd: p.cwd,
      pty: p.pty,
      legacy: !!p.legacy,
    }));
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    return 0;
  }
  if (rows.length === 0) {
    process.stdout.write('No managed processes.\n');
    return 0;
  }
  const table = [['ID', 'PID', 'STATUS', 'STARTED', 'COMMAND']];
  for (const { p, s } of rows) table.push([p.id, String(p.pid), s.label, localTime(p.startedAt), p.command]);
  process.stdout.write(formatTable(table));
  return 0;
}

if (isEntry(import.meta.url)) await runMain('list_processes', main);
