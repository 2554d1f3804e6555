// remove_process: forget finished processes and delete their logs. The removal is
// ops/remove.ts; this script turns argv into its request and prints what it removed.
import { listHint, makeParser } from '../cli/cli.ts';
import { SHELL_HINTS } from '../install/hints.ts';
import { openContext } from '../store/context.ts';
import { checkRemove, NOTHING_TO_REMOVE, removeProcesses } from '../ops/remove.ts';
import { EXIT } from '../errors.ts';

export async function main(argv: string[]): Promise<number> {
  const args = await makeParser(
    argv,
    'Usage: $0 <id|name>... [--force]\n       $0 --exited [--force]\n\nForgets processes that have ended and deletes their logs. A running process is\nrefused unless --force, which stops it first; so is an ended one whose background\njobs still run (--exited keeps it, unless --force). Nothing is removed if any is refused.',
  )
    .option('exited', { type: 'boolean', default: false, describe: 'Remove every process that has ended' })
    .option('force', {
      type: 'boolean',
      default: false,
      describe: 'Stop running ones (and background jobs ended ones left running) first, then remove them',
    })
    .example('$0 a1b2', 'Forget a1b2 and delete its log')
    .example('$0 --exited', 'Clean up everything that has ended')
    .parseAsync();
  const req = checkRemove(
    { refs: args._.map(String), exited: args.exited, force: args.force },
    {
      sweep: '--exited',
      sweepOn: '--exited',
      ids: 'IDs',
      give: `IDs or names to remove (${listHint()})`,
      hints: SHELL_HINTS,
    },
  );
  const removed = await removeProcesses(openContext({ create: false }), req, (note) =>
    process.stderr.write(`remove_process: note: ${note}\n`),
  );
  if (removed.length === 0) process.stdout.write(`${NOTHING_TO_REMOVE}\n`);
  for (const line of removed) process.stdout.write(`${line}\n`);
  return EXIT.OK;
}
