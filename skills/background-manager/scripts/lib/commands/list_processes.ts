// list_processes: every managed process with its checked (not remembered) status. The listing
// is ops/list.ts; this script prints it as a table or as JSON.
import { makeParser } from '../cli/cli.ts';
import { openContext } from '../store/context.ts';
import { STATUSES } from '../process/status.ts';
import { emptyListText, listed, listedJson, processTable } from '../ops/list.ts';
import { hereCheckouts, staleLines } from '../ops/provenance.ts';
import { SHELL_HINTS } from '../install/hints.ts';

export async function main(argv: string[]): Promise<number> {
  const args = await makeParser(
    argv,
    'Usage: $0 [--status STATUS] [--here] [--json]\n\nLists every managed process and its status, checked live: running, orphaned, restarting,\nexited(code), stopped(how), timeout(how), failed(how), killed(signal), zombie,\nexiting, lost (gone with no recorded end), unverified (a Python-era entry whose PID\nexists but cannot be proven to be ours). A BRANCH column shows when the processes\ncome from more than one git checkout.',
  )
    .option('status', {
      type: 'string',
      choices: STATUSES,
      describe: 'Only processes with this status',
      requiresArg: true,
    })
    .option('here', {
      type: 'boolean',
      default: false,
      describe:
        'Only processes started from this git worktree (from any folder in it), or from this folder outside git; says which run old code (stale)',
    })
    .option('json', {
      type: 'boolean',
      default: false,
      describe: 'One JSON array with every field (provenance: where it was started; stale: its worktree moved on)',
    })
    .example('$0', 'Show the table')
    .example('$0 --status running', 'Only what runs')
    .example('$0 --here', 'What this checkout started')
    .example('$0 --json', 'For programs')
    .demandCommand(0, 0, '', 'list_processes takes no arguments.')
    .parseAsync();
  const ctx = openContext({ create: false });
  // The plain list reads no git file: stale only for --json and --here.
  const here = args.here ? hereCheckouts([process.cwd()]) : undefined;
  const rows = listed(ctx.store.read(), args.status, { here, stale: args.json || args.here });
  if (args.json) process.stdout.write(`${JSON.stringify(rows.map(listedJson), null, 2)}\n`);
  else if (rows.length === 0) process.stdout.write(`${emptyListText(args.status, ctx.dataDir, here)}\n`);
  else
    process.stdout.write(
      processTable(rows) +
        staleLines(rows, SHELL_HINTS)
          .map((l) => `${l}\n`)
          .join(''),
    );
  return 0;
}
