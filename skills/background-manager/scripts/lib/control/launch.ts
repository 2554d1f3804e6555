// start_process's work: check the command can run, start a supervisor in its own session,
// hand it the data key over a pipe, and return once it reports the child running.
import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { BgError, isErrno } from '../errors.ts';
import { ensureSupervisorBundle } from '../install/bundle.ts';
import type { Hints } from '../install/hints.ts';
import { openContext, type Context } from '../store/context.ts';
import { writeHandoff, type SupervisorConfig, type SupervisorHello } from './supervisor-config.ts';
import { DEFAULT_MAX_LOG_SIZE } from '../log/format/logset.ts';
import type { Readiness, RestartMode } from '../store/state.ts';
import { oneLine, shellQuote } from '../util/format.ts';
import { execLine, isPlainWord } from '../process/shellplan.ts';
import { layerName } from '../util/platform.ts';
import { PTY_COLS, PTY_ROWS } from '../log/read/screen.ts';
import { provenanceOf } from '../util/git.ts';

export interface StartOptions {
  command: string[]; // one element: a shell command line; more: argv, run directly
  cwd: string;
  pty: boolean;
  maxLogSize?: number; // bytes (default DEFAULT_MAX_LOG_SIZE)
  env?: NodeJS.ProcessEnv; // the caller's environment (default process.env)
  extraEnv?: Record<string, string>; // --env KEY=VALUE, on top of the caller's
  name?: string;
  restart?: { mode: RestartMode; max: number };
  timeoutSec?: number;
  ready?: Readiness; // recorded, for restart_process to wait the same way
  reuseId?: string; // restart_process: the same ID, the log continued
  replacing?: { id?: string }; // --replace: the process it stopped for the name, if any
  restartClaim?: string; // restart_process: the token of its claim on reuseId's next run
  display?: string; // how to show the command, when `command` is a recorded argv
  from?: string; // the caller's folder: recorded with its git checkout (undefined: nothing recorded)
  /** The unlocked data dir, made on demand: called once the supervisor is booting. */
  context?: () => Context;
  /** How a refusal names options and other calls, in the caller's words (install/hints.ts). */
  hints: Hints;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkName(name: string): string {
  refuseNul('name', name);
  if (!NAME_RE.test(name)) {
    throw new BgError(
      'USAGE',
      `name "${oneLine(name)}" is not usable: use 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit (no spaces or slashes).`,
    );
  }
  // Every script takes an ID, an ID prefix or a name in one place: a name that reads as hex
  // digits could be another process's ID (which wins over a name) or hide an ID prefix (which
  // the name wins over).
  if (/^[0-9a-f]{1,8}$/i.test(name)) {
    throw new BgError(
      'USAGE',
      `name "${name}" is not usable: it could be read as a process ID (up to 8 hex digits). Add a letter from g to z, or a dash: e.g. "${name}-1".`,
    );
  }
  return name;
}

/**
 * A NUL ends a C string: exec would run a command, or enter a folder, cut short at it while the
 * state showed it whole. Refused before anything starts, saying where it is. `whose` begins
 * the message when the value is a recorded one (restart_process).
 */
export function refuseNul(what: string, value: string | readonly string[] | undefined, whose = ''): void {
  const values = typeof value === 'string' ? [value] : (value ?? []);
  const at = values.findIndex((v) => v.includes('\0'));
  if (at < 0) return;
  const where = typeof value === 'string' ? what : `${what}[${at}]`;
  throw new BgError(
    'USAGE',
    `${whose}${where} holds a NUL character ("${oneLine(values[at]!)}"), which no command, folder or name can hold: remove it.`,
  );
}

/** refuseNul for everything a start hands to exec: the command, its folder, its name and --env values. */
export function refuseNuls(opts: Pick<StartOptions, 'command' | 'cwd' | 'name' | 'extraEnv'>, whose = ''): void {
  refuseNul('command', opts.command.length === 1 ? opts.command[0] : opts.command, whose);
  refuseNul('cwd', opts.cwd, whose);
  refuseNul('name', opts.name, whose);
  for (const [k, v] of Object.entries(opts.extraEnv ?? {})) refuseNul(`env ${k}`, v, whose);
}

/** What a variable name may be (as a shell's): letters, digits, _, not starting with a digit. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** --env KEY=VALUE pairs, checked: a valid variable name, and never the password (`hints` names the option). */
export function parseEnvPairs(pairs: string[], hints: Hints): Record<string, string> {
  const option = hints.option('env');
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    if (eq < 0 || !ENV_NAME.test(key)) {
      throw new BgError(
        'USAGE',
        `${option} "${oneLine(pair)}" is not KEY=VALUE with a valid variable name (letters, digits, _; not starting with a digit).`,
      );
    }
    if (SECRET_VARS.includes(key))
      throw new BgError('USAGE', `${option} ${key} is refused: the password never reaches a child process.`);
    env[key] = pair.slice(eq + 1);
  }
  return env;
}

/** "100M", "50MiB", "1g", "65536": a size in bytes. */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$/i.exec(text);
  if (!m) return undefined;
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[
    m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'
  ];
  return Math.floor(Number(m[1]) * mult);
}

export interface Started {
  id: string;
  pid: number;
}

// Variables that must never reach a child: the password and what protects it.
const SECRET_VARS = ['BG_PASSWORD', 'BG_NEW_PASSWORD'];

// Shell words that are not programs on PATH; a command line starting with one is not checked.
const SHELL_WORDS = new Set(
  'if then else elif fi case esac for while until do done in function select time { } ! [[ ]] . : source exec eval export set unset cd alias ulimit umask trap wait read test [ echo printf true false command builtin type local return exit shift let kill pwd jobs fg bg'.split(
    ' ',
  ),
);

/** The child's environment: the caller's, minus secrets, plus defaults for unattended use. */
export function childEnv(callerEnv: NodeJS.ProcessEnv, pty: boolean): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(callerEnv)) if (v !== undefined && !SECRET_VARS.includes(k)) env[k] = v;
  if (pty) {
    // Nobody reads a pager: let programs print straight through.
    env.PAGER ??= 'cat';
    env.GIT_PAGER ??= 'cat';
    env.MANPAGER ??= 'cat';
    env.SYSTEMD_PAGER ??= 'cat';
    if (!env.TERM || env.TERM === 'dumb') env.TERM = 'xterm-256color';
  }
  // Python block-buffers output that is not a terminal; logs should arrive as printed.
  env.PYTHONUNBUFFERED ??= '1';
  return env;
}

function isExecutableFile(file: string): boolean {
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Where `cmd` resolves on PATH (or as a path), else undefined. */
export function findExecutable(cmd: string, env: Record<string, string>, cwd: string): string | undefined {
  if (cmd.includes('/')) {
    const full = path.resolve(cwd, cmd);
    return isExecutableFile(full) ? full : undefined;
  }
  for (const dir of (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':')) {
    if (!dir) continue;
    const full = path.join(path.resolve(cwd, dir), cmd);
    if (isExecutableFile(full)) return full;
  }
  return undefined;
}

function cannotFind(cmd: string): BgError {
  return new BgError(
    'CANNOT_START',
    cmd.includes('/')
      ? `cannot run ${oneLine(cmd)}: no such executable file. Check the path, and that the file is executable (chmod +x).`
      : `cannot run ${oneLine(cmd)}: command not found on PATH. Check the spelling, install it, or give its full path.`,
  );
}

export function planCommand(
  command: string[],
  env: Record<string, string>,
  cwd: string,
): { argv: string[]; display: string } {
  if (command.length === 0 || (command.length === 1 && command[0]!.trim() === '')) {
    throw new BgError(
      'USAGE',
      'no command given (start_process takes it after its options, e.g. python3 -m http.server 8080).',
    );
  }
  if (command.length === 1) {
    const line = command[0]!;
    const isProgram = (word: string) => !SHELL_WORDS.has(word) && !!findExecutable(word, env, cwd);
    // One plain word is the program itself: its own PID and exit status (see shellplan.ts).
    if (isPlainWord(line) && findExecutable(line, env, cwd)) return { argv: [line], display: line };
    // Check the first word when it is plainly a program name (no quotes, variables, etc.).
    const first = line.trim().split(/\s+/)[0]!;
    if (
      /^[\w./+-]+$/.test(first) &&
      !/^\w+=/.test(first) &&
      !SHELL_WORDS.has(first) &&
      !findExecutable(first, env, cwd)
    ) {
      throw cannotFind(first);
    }
    return { argv: ['sh', '-c', execLine(line, isProgram) ?? line], display: line };
  }
  if (!findExecutable(command[0]!, env, cwd)) throw cannotFind(command[0]!);
  return { argv: command, display: command.map(shellQuote).join(' ') };
}

/**
 * The working folder can be entered. What to do instead, in the caller's words: pass another
 * cwd, or (`recorded`: a restart, which takes none) start the command anew with one.
 */
function checkCwd(cwd: string, hints: Hints, recorded: boolean): void {
  const option = hints.option('cwd');
  const anew = `start the command anew with ${hints.call('start_process')} and another ${option}`;
  let st: fs.Stats;
  try {
    st = fs.statSync(cwd);
  } catch {
    throw new BgError(
      'CANNOT_START',
      `working folder ${oneLine(cwd)} does not exist. Create it or ${recorded ? anew : `pass another ${option}`}.`,
    );
  }
  if (!st.isDirectory())
    throw new BgError(
      'CANNOT_START',
      `working folder ${oneLine(cwd)} is not a folder. ${recorded ? `S${anew.slice(1)}` : `Pass a folder as ${option}`}.`,
    );
  try {
    fs.accessSync(cwd, fs.constants.X_OK);
  } catch {
    throw new BgError('CANNOT_START', `working folder ${oneLine(cwd)} cannot be entered (permission denied).`);
  }
}

/**
 * Whether the command can run (no NUL, its folder there, its program found): checked by
 * startProcess, and by --replace and restart_process before they stop the live one.
 * `recorded`: the command and folder are a record's (a restart), not the caller's.
 */
export function planStart(
  opts: Pick<StartOptions, 'command' | 'cwd' | 'pty' | 'env' | 'extraEnv' | 'name' | 'hints'>,
  recorded = false,
): {
  cwd: string;
  env: Record<string, string>;
  plan: { argv: string[]; display: string };
} {
  refuseNuls(opts);
  const cwd = path.resolve(opts.cwd);
  checkCwd(cwd, opts.hints, recorded);
  const env = { ...childEnv(opts.env ?? process.env, opts.pty), ...(opts.extraEnv ?? {}) };
  return { cwd, env, plan: planCommand(opts.command, env, cwd) };
}

export async function startProcess(opts: StartOptions): Promise<Started> {
  const callerEnv = opts.env ?? process.env;
  const { cwd, env, plan } = planStart(opts, opts.reuseId !== undefined);
  if (opts.display) plan.display = opts.display;
  const bundle = await ensureSupervisorBundle(SECRET_VARS);
  // Start the supervisor first: it boots while this process derives the key.
  const sup = spawnSupervisor(bundle, callerEnv);
  let cfg: SupervisorConfig;
  let dataKey: Buffer;
  try {
    const ctx = opts.context ? opts.context() : openContext({ create: true }, callerEnv);
    // A damaged state file is found before anything runs (the supervisor would find it only
    // after starting the command); the Python skill's state becomes ours here.
    ctx.store.read();
    await migrateLegacyState(ctx.store);
    dataKey = ctx.unlocked!.dataKey;
    cfg = {
      dataDir: ctx.dataDir,
      command: plan.display,
      argv: plan.argv,
      cwd,
      env,
      pty: opts.pty,
      cols: PTY_COLS,
      rows: PTY_ROWS,
      maxLogSize: opts.maxLogSize ?? DEFAULT_MAX_LOG_SIZE,
      name: opts.name,
      extraEnv: opts.extraEnv ?? {},
      restart: opts.restart ?? { mode: 'no', max: 0 },
      timeoutSec: opts.timeoutSec,
      ready: opts.ready,
      reuseId: opts.reuseId,
      replacing: opts.replacing,
      restartClaim: opts.restartClaim,
      // Read while the supervisor boots: a few small files, bounded (util/git.ts).
      provenance: opts.from === undefined ? undefined : provenanceOf(opts.from),
      platform: layerName(),
    };
  } catch (err) {
    sup.child.kill('SIGKILL');
    throw err;
  }
  writeHandoff(sup.child.stdin!, dataKey, cfg);
  const hello = await sup.hello;
  if (!hello.ok) throw new BgError(hello.code, hello.message);
  return { id: hello.id, pid: hello.pid };
}

/**
 * The supervisor, started in its own session, and its hello: the first line on its stdout, or
 * (when it dies first) an error that says why, from what it printed on stderr.
 */
function spawnSupervisor(
  bundle: string,
  callerEnv: NodeJS.ProcessEnv,
): { child: ChildProcess; hello: Promise<SupervisorHello> } {
  // --expose-gc: the supervisor collects its garbage as it ingests (see COLLECT_EVERY in log/logsink.ts).
  // Through sh, to turn core dumps off (soft RLIMIT_CORE 0): a dump would carry the keys to
  // disk, and Node can set neither that limit nor PR_SET_DUMPABLE. The hard limit stays, so
  // the command (which inherits the soft limit) may raise its own.
  const sup = spawn('/bin/sh', ['-c', 'ulimit -S -c 0 && exec "$0" "$@"', process.execPath, '--expose-gc', bundle], {
    detached: true,
    // stderr is read until the hello: if the supervisor dies before it, its last words say why.
    stdio: ['pipe', 'pipe', 'pipe'],
    // BG_PLATFORM: the supervisor uses the caller's process layer (lib/util/platform.ts).
    env: { PATH: callerEnv.PATH ?? '/usr/bin:/bin', BG_PLATFORM: layerName() },
  });
  let why = '';
  sup.stderr!.setEncoding('utf8');
  sup.stderr!.on('data', (d: string) => (why = (why + d).slice(-4000)));
  const helloLine = new Promise<string>((resolve) => {
    let buf = '';
    sup.stdout!.setEncoding('utf8');
    sup.stdout!.on('data', (d: string) => {
      buf += d;
      if (buf.includes('\n')) resolve(buf.slice(0, buf.indexOf('\n')));
    });
    sup.once('close', (code, signal) => {
      why ||= signal ? `killed by ${signal}` : `exit code ${code}`;
      resolve(buf); // after its stdout and stderr are read to the end
    });
    sup.once('error', (err) => {
      why = `cannot start node: ${err.message}`;
      resolve('');
    });
  });
  sup.stdin!.on('error', () => undefined);
  const hello = helloLine.then((line) => {
    sup.stdout!.destroy();
    sup.stderr!.destroy();
    sup.unref();
    try {
      return JSON.parse(line) as SupervisorHello;
    } catch {
      // Its own words, else the error line of what node printed (not the stack under it).
      const lines = why
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
      const said = (line || lines.find((l) => /^\w*Error\b/.test(l)) || lines[lines.length - 1] || '').slice(0, 500);
      throw new BgError(
        'SUPERVISOR',
        `the supervisor exited before it started the command${said ? ` (${said})` : ''}. Nothing was recorded; try again, and report it if it persists.`,
      );
    }
  });
  hello.catch(() => undefined); // awaited by startProcess unless the key cannot be had (then it is killed)
  return { child: sup, hello };
}

// The Python skill's state becomes ours on the first write (its file kept as a backup).
async function migrateLegacyState(store: import('../store/state.ts').StateStore): Promise<void> {
  const head = Buffer.alloc(8);
  let fd: number;
  try {
    fd = fs.openSync(store.file, 'r');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    throw err;
  }
  fs.readSync(fd, head, 0, 8, 0);
  fs.closeSync(fd);
  if (head.toString('latin1') === 'Salted__') await store.update(() => undefined);
}
