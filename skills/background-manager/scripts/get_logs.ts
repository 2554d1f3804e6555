// get_logs: the last lines a process printed, readable text by default, exact bytes with --raw.
import { makeParser, runMain, isEntry } from './lib/cli.ts';
import { openContext } from './lib/context.ts';
import { resolveProcess } from './lib/resolve.ts';
import { readLogTail } from './lib/logview.ts';
import { decodeUtf8, renderTerminal } from './lib/render.ts';
import { liveStatus } from './lib/status.ts';
import { BgError, EXIT } from './lib/errors.ts';

export async function main(argv: string[]): Promise<number> {
  const args = await makeParser(argv, 'Usage: get_logs.ts <id> [-n LINES] [--raw]\n\nPrints the last LINES lines of a process\'s output (stdout and stderr), while it runs\nor after it ended. Terminal escape sequences and \\r redraws are rendered away\nunless --raw is given.')
    .positional('id', { type: 'string', describe: 'Process ID or a unique prefix of one' })
    .option('n', { alias: 'lines', type: 'number', default: 20, describe: 'Lines from the end; 0 for all', requiresArg: true })
    .option('raw', { type: 'boolean', default: false, describe: 'The exact bytes the process wrote' })
    .example('$0 a1b2', 'Last 20 lines')
    .example('$0 a1b2 -n 50', 'Last 50 lines')
    .example('$0 a1b2 -n 0 --raw > out.bin', 'Everything, byte for byte')
    .demandCommand(1, 1, 'Give the process ID (see list_processes).', 'Give one process ID.')
    .parseAsync();
  const lines = args.n;
  if (!Number.isInteger(lines) || lines < 0) {
    throw new BgError('USAGE', `-n must be a whole number of lines, 0 or more (got ${String(argv[argv.indexOf('-n') + 1] ?? lines)}).`);
  }
  const ctx = openContext({ create: false });
  const rec = resolveProcess(ctx.store.read(), String(args._[0]));
  const slice = readLogTail(ctx.dataDir, ctx.unlocked?.keys, ctx.password, rec, lines);
  const running = ['running', 'exiting', 'zombie'].includes(liveStatus(rec).status);
  let damaged = false;
  for (const issue of slice.issues) {
    if (issue.kind === 'torn-tail' && running) continue; // a record being written right now
    if (issue.kind !== 'torn-tail') damaged = true;
    process.stderr.write(`get_logs: warning: ${issue.message}\n`);
  }
  if (args.raw) process.stdout.write(slice.data);
  else {
    const text = renderTerminal(decodeUtf8(slice.data));
    // A last line still being written (a prompt, a progress bar) ends the output cleanly.
    process.stdout.write(text && !text.endsWith('\n') ? text + '\n' : text);
  }
  if (slice.missing && !running) process.stderr.write(`get_logs: no log file for ${rec.id}.\n`);
  return damaged ? EXIT.DAMAGED : EXIT.OK;
}

if (isEntry(import.meta.url)) await runMain('get_logs', main);
