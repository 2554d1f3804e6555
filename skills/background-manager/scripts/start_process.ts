// start_process: run a command in the background under a supervisor.
import path from 'node:path';
import { makeParser, runMain, isEntry } from './lib/cli.ts';
import { parseSize, startProcess } from './lib/launch.ts';
import { MIN_MAX_LOG_SIZE } from './lib/logset.ts';
import { BgError } from './lib/errors.ts';
import { scriptPath } from './lib/paths.ts';

export async function main(argv: string[]): Promise<number> {
  const args = await makeParser(argv, 'Usage: start_process.ts [options] <command> [args...]\n\nRuns a command in the background and prints its ID. Everything from the first\nnon-option argument on is the command. Several arguments run directly (no shell);\none argument is a shell command line (sh -c), so pipes and && work.')
    .parserConfiguration({ 'halt-at-non-option': true, 'populate--': true, 'parse-positional-numbers': false })
    .option('cwd', { type: 'string', describe: 'Working folder for the command (default: the current one)' })
    .option('pty', { type: 'boolean', default: true, describe: 'Run under a pseudo-terminal; --no-pty uses pipes and keeps stdout and stderr apart' })
    .option('max-log-size', { type: 'string', default: '100M', describe: 'Cap on the log kept on disk (e.g. 50M, 1G); the oldest output goes first', requiresArg: true })
    .example('$0 python3 -m http.server 8080', 'Start a web server (arguments run as given)')
    .example("$0 'npm run build && npm test'", 'One argument: run through sh -c')
    .example('$0 --no-pty -- node server.js --port 3000', 'Pipes instead of a terminal; -- ends the options')
    .parseAsync();
  const command = [...(args._ as (string | number)[]), ...((args['--'] as (string | number)[] | undefined) ?? [])].map(String);
  const maxLogSize = parseSize(args.maxLogSize);
  if (maxLogSize === undefined || maxLogSize < MIN_MAX_LOG_SIZE) {
    throw new BgError('USAGE', `--max-log-size must be a size of at least 1M, like 50M or 2G (got "${args.maxLogSize}").`);
  }
  const started = await startProcess({ command, cwd: args.cwd ?? process.cwd(), pty: args.pty, maxLogSize });
  const getLogs = path.relative(process.cwd(), scriptPath('get_logs.ts'));
  process.stdout.write(`Started process ${started.id} (PID ${started.pid})\n`);
  process.stdout.write(`Read its output with: npx tsx ${getLogs.startsWith('..') ? scriptPath('get_logs.ts') : getLogs} ${started.id}\n`);
  return 0;
}

if (isEntry(import.meta.url)) await runMain('start_process', main);
