// restart_process: stop a process, then run the same command again under the same ID. The
// script's front end: flags in, a checked request (ops/restart.ts), the result in words out.
import { listHint, makeParser } from '../cli/cli.ts';
import { CLI_WAITS, cliFrontEnd, printReady } from '../cli/front-end.ts';
import { EXIT } from '../errors.ts';
import { entryBundlesBuilt } from '../install/bundle.ts';
import { STOP_GRACE_SEC, WAIT_TIMEOUT_SEC } from '../ops/defaults.ts';
import { awaitReady } from '../ops/ready.ts';
import { checkRestart, restart, restartedLine, type RestartRequest } from '../ops/restart.ts';
import { resolveProcess } from '../process/resolve.ts';
import { openContext } from '../store/context.ts';

function parse(argv: string[]) {
  return makeParser(
    argv,
    'Usage: $0 <id|name> [--timeout SECONDS] [--wait-for REGEX | --wait-port PORT] [--wait-timeout SECONDS] [--no-wait]\n\nStops the process (if it runs) as stop_process does, then starts the same command\nwith the same working folder, --env values and options, under the same ID. Its log\ncontinues. The rest of the environment is the one restart_process is called with.\nIf it was started with --wait-for or --wait-port, the restart waits the same way\n(for output of the new run only) unless told otherwise here. A detached dashboard\nis handed BG_PASSWORD from here and a new token: its new URL is printed, and the\nexit is 0 only once it serves (the page and MCP cannot restart it). Of restarts\nmade at once, one starts the new run; the others say so and exit 0 (no wait;\nof a detached dashboard: exit 1: the other call printed the URL).',
  )
    .option('timeout', {
      type: 'number',
      defaultDescription: String(STOP_GRACE_SEC),
      describe: 'Seconds to wait after SIGTERM before SIGKILL',
      requiresArg: true,
    })
    .option('wait-for', {
      type: 'string',
      describe:
        "Return only once a line of the new run (or a row of a full-screen program's screen) matches this regular expression (instead of what start_process was given)",
      requiresArg: true,
    })
    .option('wait-port', {
      type: 'number',
      describe: 'Return only once the new run listens on this TCP port (instead of what start_process was given)',
      requiresArg: true,
    })
    .option('wait-timeout', {
      type: 'number',
      describe: `Seconds to wait for readiness (default: as at start, else ${WAIT_TIMEOUT_SEC})`,
      requiresArg: true,
    })
    .option('wait', {
      type: 'boolean',
      defaultDescription: 'true',
      describe: 'Wait for readiness as the process was started with; --no-wait returns once it runs',
    })
    .example('$0 web', 'Restart the process named web (and wait as start_process did)')
    .example("$0 web --wait-for 'Serving HTTP'", 'Restart it; return once the new run prints that')
    .demandCommand(1, 1, `give the process ID or name (${listHint()}).`, 'give one process ID or name.')
    .parseAsync();
}

export async function main(argv: string[]): Promise<number> {
  const args = await parse(argv);
  const fe = cliFrontEnd(argv);
  const req: RestartRequest = {
    graceSec: args.timeout,
    waitFor: args.waitFor,
    waitPort: args.waitPort,
    waitTimeout: args.waitTimeout,
    wait: args.wait,
  };
  checkRestart(req, fe);
  const ctx = openContext({ create: false });
  const rec = resolveProcess(ctx.store.read(), String(args._[0]), fe.hints);
  const note = (text: string) => process.stderr.write(`restart_process: note: ${rec.id}: ${text}.\n`);
  const done = await restart(ctx, rec, req, fe, { waits: CLI_WAITS, note, handsOver: true });
  if (done.dashboardUrl) process.stdout.write(`Dashboard: ${done.dashboardUrl}\n`);
  process.stdout.write(`${restartedLine(rec, done)}\n`);
  // A restart another call made: that call waits for readiness and reports it.
  if (done.joined) return EXIT.OK;
  const { wait, from } = done;
  const code = wait.ready
    ? printReady(await awaitReady(ctx, done.started.id, wait, fe.hints, { from }), 'restart_process')
    : EXIT.OK;
  await entryBundlesBuilt(); // a rebuild of dist/ that ran beside the start
  return code;
}
