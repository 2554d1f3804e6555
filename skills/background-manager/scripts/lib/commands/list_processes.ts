// list_processes: every managed process with its checked (not remembered) status. The listing
// is ops/list.ts; this script prints it as a table or as JSON.
import { makeParser } from '../cli/cli.ts';
import { openContext } from '../store/context.ts';
import { STATUSES } from '../process/status.ts';
import { emptyListText, listed, listedJson, processTable } from '../ops/list.ts';

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
  const rows = listed(ctx.store.read(), args.status);
  if (args.json) process.stdout.write(`${JSON.stringify(rows.map(listedJson), null, 2)}\n`);
  else if (rows.length === 0) process.stdout.write(`${emptyListText(args.status, ctx.dataDir)}\n`);
  else process.stdout.write(processTable(rows));
  return 0;
}
