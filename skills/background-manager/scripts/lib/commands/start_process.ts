// start_process: run a command in the background under a supervisor.
import { durationSec, makeParser, typed } from '../cli/cli.ts';
import { compileRegex } from '../util/regex.ts';
import { checkName, parseEnvPairs, parseSize, planStart, startProcess } from '../control/launch.ts';
import { oneLine, shellQuote } from '../util/format.ts';
import { MIN_MAX_LOG_SIZE } from '../log/format/logset.ts';
import { entryBundlesBuilt } from '../install/bundle.ts';
import { BgError, EXIT } from '../errors.ts';
import { howToRun } from '../install/hints.ts';
import { openContext, type Context } from '../store/context.ts';
import { liveNameHolder } from '../process/status.ts';
import { stopProcess } from '../control/stop.ts';
import { reportReady } from '../control/ready.ts';
import type { Readiness, RestartMode } from '../store/state.ts';

function seconds(argv: string[], flag: string, v: number | undefined): number | undefined {
  return v === undefined ? undefined : durationSec(argv, flag, v, false);
}

/** Options that take a value, of those start_process notes after the command. */
const WITH_VALUE = ['--name', '--wait-for', '--wait-port', '--wait-timeout', '--max-restarts', '--max-log-size'];

/** "start_process.ts <options> <command>": the misplaced options moved before the command. */
function reordered(argv: string[], command: string[]): string {
  const own = argv.slice(0, argv.length - command.length);
  const moved: string[] = [];
  const rest: string[] = [command[0]!];
  for (let i = 1; i < command.length; i++) {
    const a = command[i]!;
    const flag = a.split('=')[0]!;
    if (!['--replace', '--no-pty', ...WITH_VALUE].includes(flag)) rest.push(a);
    else if (WITH_VALUE.includes(a) && i + 1 < command.length) moved.push(a, command[++i]!);
    else moved.push(a);
  }
  return `${howToRun('start_process')} ${[...own, ...moved, ...rest].map(shellQuote).join(' ')}`;
}

function parse(argv: string[]) {
  return (
    makeParser(
      argv,
      "Usage: $0 [options] <command> [args...]\n\nRuns a command in the background and prints its ID. Everything from the first\nnon-option argument on is the command. Several arguments run directly (no shell);\none argument is a shell command line (sh -c), so pipes and && work. `--` also ends\nthe options; start_process's own options put after the command go to the command\n(a note on stderr says so).",
    )
      .parserConfiguration({ 'halt-at-non-option': true, 'populate--': true, 'parse-positional-numbers': false })
      .option('name', {
        type: 'string',
        describe: 'A name to use instead of the ID in every script; unique among live processes',
        requiresArg: true,
      })
      .option('replace', {
        type: 'boolean',
        default: false,
        describe: 'With --name: stop a live process of that name first (not when this command cannot run)',
      })
      .option('cwd', {
        type: 'string',
        describe: 'Working folder for the command (default: the current one)',
        requiresArg: true,
      })
      // Not `array: true`: that would swallow the command's words after the first KEY=VALUE.
      .option('env', {
        type: 'string',
        describe: 'KEY=VALUE for the command (repeatable; kept encrypted, never in argv)',
        requiresArg: true,
      })
      .option('pty', {
        type: 'boolean',
        default: true,
        describe: 'Run under a pseudo-terminal; --no-pty uses pipes and keeps stdout and stderr apart',
      })
      .option('wait-for', {
        type: 'string',
        describe:
          'Return only once an output line (or a prompt without a newline, after 0.2 s) matches this regular expression',
        requiresArg: true,
      })
      .option('wait-port', {
        type: 'number',
        describe: 'Return only once the process tree listens on this TCP port',
        requiresArg: true,
      })
      .option('wait-timeout', {
        type: 'number',
        default: 60,
        describe: 'Seconds to wait for --wait-for / --wait-port',
        requiresArg: true,
      })
      .option('timeout', {
        type: 'number',
        describe: 'Stop the process after this many seconds (recorded as a timeout)',
        requiresArg: true,
      })
      .option('restart', {
        type: 'string',
        choices: ['no', 'on-failure', 'always'],
        default: 'no',
        describe: 'Run it again when it exits: on-failure (non-zero exit or signal) or always',
      })
      .option('max-restarts', {
        type: 'number',
        default: 10,
        describe: 'Restarts allowed before giving up (status failed)',
        requiresArg: true,
      })
      .option('max-log-size', {
        type: 'string',
        default: '100M',
        describe: 'Cap on the log kept on disk (e.g. 50M, 1G); the oldest output goes first',
        requiresArg: true,
      })
      .example('$0 python3 -m http.server 8080', 'Start a web server (arguments run as given)')
      .example("$0 'npm run build && echo built'", 'One argument: run through sh -c')
      .example('$0 --name web --wait-port 8080 python3 -m http.server 8080', 'Name it; return once it listens')
      .example("$0 --wait-for 'ready' --wait-timeout 30 -- npm run dev", 'Return once a line says ready')
      .example('$0 --restart on-failure --max-restarts 3 ./worker.sh', 'Restart it up to 3 times if it fails')
      .example('$0 --env PORT=3000 --timeout 600 --no-pty -- node server.js', 'Environment, a time limit, pipes')
      .parseAsync()
  );
}

type Args = Awaited<ReturnType<typeof parse>>;

/** The options checked (exit 2 on a bad one) and turned into what startProcess takes. */
function checked(argv: string[], args: Args) {
  const command = [...(args._ as (string | number)[]), ...((args['--'] as (string | number)[] | undefined) ?? [])].map(
    String,
  );
  const maxLogSize = parseSize(args.maxLogSize);
  if (maxLogSize === undefined || maxLogSize < MIN_MAX_LOG_SIZE) {
    throw new BgError(
      'USAGE',
      `--max-log-size must be a size of at least 1M, like 50M or 2G (got "${oneLine(String(args.maxLogSize))}").`,
    );
  }
  const name = args.name === undefined ? undefined : checkName(args.name);
  if (args.replace && !name)
    throw new BgError('USAGE', '--replace needs --name: it replaces the live process of that name.');
  const extraEnv = parseEnvPairs(([] as unknown[]).concat(args.env ?? []).map(String));
  const pattern = args.waitFor === undefined ? undefined : compileRegex('--wait-for', args.waitFor);
  const port = args.waitPort;
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536))
    throw new BgError('USAGE', `--wait-port must be a TCP port, 1 to 65535 (got ${typed(argv, port, '--wait-port')}).`);
  const waitTimeout = seconds(argv, '--wait-timeout', args.waitTimeout)!;
  const ready: Readiness | undefined =
    pattern || port !== undefined ? { pattern: args.waitFor, port, timeoutSec: waitTimeout } : undefined;
  const own = argv.slice(0, argv.length - command.length);
  if (!ready && own.some((a) => a === '--wait-timeout' || a.startsWith('--wait-timeout='))) {
    throw new BgError('USAGE', '--wait-timeout needs --wait-for or --wait-port: it says how long to wait for them.');
  }
  const timeoutSec = seconds(argv, '--timeout', args.timeout);
  if (!(Number.isInteger(args.maxRestarts) && args.maxRestarts >= 0))
    throw new BgError(
      'USAGE',
      `--max-restarts must be a whole number, 0 or more (got ${typed(argv, args.maxRestarts, '--max-restarts')}).`,
    );
  if (command.length === 0 || (command.length === 1 && command[0]!.trim() === '')) {
    throw new BgError('USAGE', `no command given. Example: ${howToRun('start_process')} python3 -m http.server 8080`);
  }
  return { command, maxLogSize, name, extraEnv, pattern, ready, timeoutSec };
}

/**
 * `start_process.ts python3 -m http.server 8080 --name web` gives --name to the server; say
 * so, unless -- marked the command (then its own --name, as docker's, is meant). Options
 * that other programs commonly have too (--cwd, --env, --timeout, --restart) are left out.
 */
function noteMisplaced(argv: string[], command: string[]): void {
  const OWN = ['name', 'replace', 'no-pty', 'wait-for', 'wait-port', 'wait-timeout', 'max-restarts', 'max-log-size'];
  const markedByDashes = argv[argv.length - command.length - 1] === '--';
  const misplaced = markedByDashes
    ? []
    : command.slice(1).filter((a) => OWN.some((o) => a === `--${o}` || a.startsWith(`--${o}=`)));
  if (misplaced.length) {
    process.stderr.write(
      `start_process: note: ${misplaced.join(', ')} came after the command, so the command gets ${misplaced.length > 1 ? 'them' : 'it'}, not start_process. Put start_process's options before the command, as in: ${reordered(argv, command)}\n`,
    );
  }
}

/**
 * --name: refused while a live process holds it, unless --replace, which stops that one first
 * and says who did: this call, or another whose stop was under way. Returns what --replace
 * tells the supervisor (which words a lost name race from it).
 */
async function claimName(
  context: () => Context,
  name: string | undefined,
  replace: boolean,
): Promise<{ id?: string } | undefined> {
  if (name && !replace) {
    // Checked again by the supervisor under the state lock; this saves starting anything.
    const holder = liveNameHolder(context().store.read(), name);
    if (holder)
      throw new BgError(
        'REFUSED',
        `the name "${name}" belongs to running process ${holder.id}. Stop it, pick another name, or pass --replace.`,
      );
  }
  if (name && replace) {
    const ctx = context();
    const live = liveNameHolder(ctx.store.read(), name);
    if (!live) return {};
    const r = await stopProcess(ctx, live, 'SIGTERM', 5000, 'replace');
    if (!r.already && r.note) process.stderr.write(`start_process: note: ${live.id}: ${r.note}.\n`);
    const said = r.already
      ? `Process ${live.id} (${name}) had already ended; nothing to stop.`
      : r.joined
        ? `Process ${live.id} (${name}) was already being stopped ${r.joined === 'timeout' ? 'by its --timeout' : 'by another call'}; it ended (${r.result.endedBy}).`
        : `Stopped process ${live.id} (${name}) to replace it (${r.result.endedBy}).`;
    process.stdout.write(`${said}\n`);
    return { id: live.id };
  }
  return undefined;
}

export async function main(argv: string[]): Promise<number> {
  const args = await parse(argv);
  const { command, maxLogSize, name, extraEnv, pattern, ready, timeoutSec } = checked(argv, args);
  noteMisplaced(argv, command);
  // The key is derived once, late: startProcess asks for it while the supervisor boots.
  let unlocked: Context | undefined;
  const context = () => (unlocked ??= openContext({ create: true }));
  const cwd = args.cwd ?? process.cwd();
  // A command that cannot run is refused before --replace stops the live process.
  planStart({ command, cwd, pty: args.pty, name, extraEnv });
  const replacing = await claimName(context, name, args.replace);
  const started = await startProcess({
    command,
    cwd,
    pty: args.pty,
    maxLogSize,
    name,
    extraEnv,
    restart: { mode: args.restart as RestartMode, max: args.restart === 'no' ? 0 : args.maxRestarts },
    timeoutSec,
    ready,
    replacing,
    context,
  });
  const ctx = context();
  process.stdout.write(`Started process ${started.id} (PID ${started.pid})\n`);
  process.stdout.write(`Read its output with: ${howToRun('get_logs')} ${name ?? started.id}\n`);
  const code = ready ? await reportReady(ctx, started.id, ready, pattern, 'start_process') : EXIT.OK;
  await entryBundlesBuilt(); // a rebuild of dist/ that ran beside the start
  return code;
}
