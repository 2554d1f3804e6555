// start_process: run a command in the background under a supervisor. The script's front end:
// flags in, a checked request (ops/start.ts), what happened in words out.
import type { Options } from 'yargs';
import { makeParser } from '../cli/cli.ts';
import { CLI_WAITS, cliFrontEnd, printReady } from '../cli/front-end.ts';
import { EXIT } from '../errors.ts';
import { entryBundlesBuilt } from '../install/bundle.ts';
import { howToRun } from '../install/hints.ts';
import { WAIT_TIMEOUT_SEC } from '../ops/defaults.ts';
import { awaitReady } from '../ops/ready.ts';
import { printInputWait } from '../cli/input-wait.ts';
import { checkStart, START_DEFAULTS, start, type StartRequest } from '../ops/start.ts';
import { type Context, openContext } from '../store/context.ts';
import { shellQuote } from '../util/format.ts';

/**
 * The options, each declared once. `own`: options other programs rarely have, which
 * start_process notes when they come after the command (`negated`: as --no-<name>); the common
 * ones (--cwd, --env, --timeout, --restart) are left out. The defaults are applied in ops/start.ts
 * (none here, so that a flag's absence is seen), shown in --help by defaultDescription.
 */
const OPTIONS = {
  name: {
    type: 'string',
    describe: 'A name to use instead of the ID in every script; unique among live processes',
    requiresArg: true,
    own: 'flag',
  },
  replace: {
    type: 'boolean',
    defaultDescription: String(START_DEFAULTS.replace),
    describe: 'With --name: stop a live process of that name first (not when this command cannot run)',
    own: 'flag',
  },
  cwd: {
    type: 'string',
    describe: 'Working folder for the command (default: the current one)',
    requiresArg: true,
  },
  // Not `array: true`: that would swallow the command's words after the first KEY=VALUE.
  env: {
    type: 'string',
    describe: 'KEY=VALUE for the command (repeatable; kept encrypted, never in argv)',
    requiresArg: true,
  },
  'secret-env': {
    type: 'string',
    describe:
      "NAME whose value (from --env or this shell's environment) get_logs and list_processes show as [REDACTED:env:NAME] (repeatable; --env values whose NAME contains TOKEN, SECRET, PASSWORD, PASSWD, CREDENTIAL or ends in _KEY are hidden without it)",
    requiresArg: true,
  },
  pty: {
    type: 'boolean',
    defaultDescription: String(START_DEFAULTS.pty),
    describe: 'Run under a pseudo-terminal; --no-pty uses pipes and keeps stdout and stderr apart',
    own: 'negated',
  },
  'wait-for': {
    type: 'string',
    describe:
      'Return only once an output line (or a prompt without a newline, after 0.2 s) matches this regular expression; of a full-screen program (alternate screen), a row of its screen too',
    requiresArg: true,
    own: 'flag',
  },
  'wait-port': {
    type: 'number',
    describe: 'Return only once the process tree listens on this TCP port',
    requiresArg: true,
    own: 'flag',
  },
  'wait-input': {
    type: 'boolean',
    describe:
      'Return only once the program waits for input (the kernel shows it reading its terminal or stdin), printing what it printed and its prompt',
    own: 'flag',
  },
  'wait-timeout': {
    type: 'number',
    defaultDescription: String(WAIT_TIMEOUT_SEC),
    describe: 'Seconds to wait for --wait-for / --wait-port / --wait-input',
    requiresArg: true,
    own: 'flag',
  },
  timeout: {
    type: 'number',
    describe: 'Stop the process after this many seconds (recorded as a timeout)',
    requiresArg: true,
  },
  restart: {
    type: 'string',
    choices: ['no', 'on-failure', 'always'],
    defaultDescription: JSON.stringify(START_DEFAULTS.restart),
    describe: 'Run it again when it exits: on-failure (non-zero exit or signal) or always',
  },
  'max-restarts': {
    type: 'number',
    defaultDescription: String(START_DEFAULTS.maxRestarts),
    describe: 'Restarts allowed before giving up (status failed)',
    requiresArg: true,
    own: 'flag',
  },
  'max-log-size': {
    type: 'string',
    defaultDescription: JSON.stringify(START_DEFAULTS.maxLogSize),
    describe: 'Cap on the log kept on disk (e.g. 50M, 1G); the oldest output goes first',
    requiresArg: true,
    own: 'flag',
  },
} as const satisfies Record<string, Options & { own?: 'flag' | 'negated' }>;

/** The own options as written after a command: --name, --no-pty, ... */
const OWN = Object.entries(OPTIONS).flatMap(([k, o]) =>
  !('own' in o) ? [] : [o.own === 'negated' ? `--no-${k}` : `--${k}`],
);
/** Of those, the ones that take a value (the next word, unless given as --flag=value). */
const WITH_VALUE = Object.entries(OPTIONS).flatMap(([k, o]) => ('own' in o && o.type !== 'boolean' ? [`--${k}`] : []));

/** "start_process.ts <options> <command>": the misplaced options moved before the command. */
function reordered(argv: string[], command: string[]): string {
  const own = argv.slice(0, argv.length - command.length);
  const moved: string[] = [];
  const rest: string[] = [command[0]!];
  for (let i = 1; i < command.length; i++) {
    const a = command[i]!;
    const flag = a.split('=')[0]!;
    if (!OWN.includes(flag)) rest.push(a);
    else if (WITH_VALUE.includes(a) && i + 1 < command.length) moved.push(a, command[++i]!);
    else moved.push(a);
  }
  return `${howToRun('start_process')} ${[...own, ...moved, ...rest].map(shellQuote).join(' ')}`;
}

function parse(argv: string[]) {
  return makeParser(
    argv,
    "Usage: $0 [options] <command> [args...]\n\nRuns a command in the background and prints its ID. Everything from the first\nnon-option argument on is the command. Several arguments run directly (no shell);\none argument is a shell command line (sh -c), so pipes and && work. `--` also ends\nthe options; start_process's own options put after the command go to the command\n(a note on stderr says so).",
  )
    .parserConfiguration({ 'halt-at-non-option': true, 'populate--': true, 'parse-positional-numbers': false })
    .options(OPTIONS)
    .example('$0 python3 -m http.server 8080', 'Start a web server (arguments run as given)')
    .example("$0 'npm run build && echo built'", 'One argument: run through sh -c')
    .example('$0 --name web --wait-port 8080 python3 -m http.server 8080', 'Name it; return once it listens')
    .example("$0 --wait-for 'ready' --wait-timeout 30 -- npm run dev", 'Return once a line says ready')
    .example('$0 --wait-input python3 -q', 'Return at its first prompt')
    .example('$0 --restart on-failure --max-restarts 3 ./worker.sh', 'Restart it up to 3 times if it fails')
    .example('$0 --env PORT=3000 --timeout 600 --no-pty -- node server.js', 'Environment, a time limit, pipes')
    .parseAsync();
}

type Args = Awaited<ReturnType<typeof parse>>;

/** The parsed flags as the request ops/start.ts checks (nothing is defaulted here). */
function requestOf(args: Args): StartRequest {
  const words = [...(args._ as (string | number)[]), ...((args['--'] as (string | number)[] | undefined) ?? [])];
  return {
    command: words.map(String),
    name: args.name,
    replace: args.replace,
    cwd: args.cwd,
    env: ([] as unknown[]).concat(args.env ?? []).map(String),
    secretEnv: ([] as unknown[]).concat(args.secretEnv ?? []).map(String),
    pty: args.pty,
    waitFor: args.waitFor,
    waitPort: args.waitPort,
    waitTimeout: args.waitTimeout,
    waitInput: args.waitInput,
    timeout: args.timeout,
    restart: args.restart,
    maxRestarts: args.maxRestarts,
    maxLogSize: args.maxLogSize,
  };
}

/**
 * `start_process.ts python3 -m http.server 8080 --name web` gives --name to the server; say
 * so, unless -- marked the command (then its own --name, as docker's, is meant).
 */
function noteMisplaced(argv: string[], command: string[]): void {
  const markedByDashes = argv[argv.length - command.length - 1] === '--';
  const misplaced = markedByDashes
    ? []
    : command.slice(1).filter((a) => OWN.some((o) => a === o || a.startsWith(`${o}=`)));
  if (misplaced.length) {
    process.stderr.write(
      `start_process: note: ${misplaced.join(', ')} came after the command, so the command gets ${misplaced.length > 1 ? 'them' : 'it'}, not start_process. Put start_process's options before the command, as in: ${reordered(argv, command)}\n`,
    );
  }
}

export async function main(argv: string[]): Promise<number> {
  const args = await parse(argv);
  const example = `${howToRun('start_process')} python3 -m http.server 8080`;
  const plan = checkStart(requestOf(args), cliFrontEnd(argv), CLI_WAITS, { example });
  noteMisplaced(argv, plan.command);
  // The key is derived once, late: the start asks for it while the supervisor boots.
  let unlocked: Context | undefined;
  const context = () => (unlocked ??= openContext({ create: true }));
  const started = await start(plan, context, (r) => {
    if (r.note) process.stderr.write(`start_process: note: ${r.id}: ${r.note}.\n`);
    process.stdout.write(`${r.said}\n`);
  });
  const ctx = context();
  process.stdout.write(`Started process ${started.id} (PID ${started.pid})\n`);
  process.stdout.write(`Read its output with: ${howToRun('get_logs')} ${plan.name ?? started.id}\n`);
  const code =
    plan.waitInputSec !== undefined
      ? await printInputWait(ctx, started.id, { timeoutSec: plan.waitInputSec }, 'start_process')
      : plan.wait.ready
        ? printReady(await awaitReady(ctx, started.id, plan.wait, plan.hints), 'start_process')
        : EXIT.OK;
  await entryBundlesBuilt(); // a rebuild of dist/ that ran beside the start
  return code;
}
