// start_process's use case, for the script and MCP: the request as a caller gives it, its
// defaults, its checks (each message written once, naming options as the caller's front end
// does), --replace's claim on a name, and the start.
import { BgError } from '../errors.ts';
import { checkName, parseEnvPairs, parseSize, planStart, startProcess, type Started } from '../control/launch.ts';
import { ENV_NAME } from '../control/launch.ts';
import { stopProcess } from '../control/stop.ts';
import { MIN_MAX_LOG_SIZE } from '../log/format/logset.ts';
import { liveNameHolder } from '../process/status.ts';
import type { Context } from '../store/context.ts';
import { findRecord, type RestartMode } from '../store/state.ts';
import type { Hints } from '../install/hints.ts';
import { oneLine } from '../util/format.ts';
import { type FrontEnd, optionName, seconds, shownValue } from './checks.ts';
import { STOP_GRACE_SEC, STOP_SIGNAL } from './defaults.ts';
import { startWait, type Wait, type WaitDefaults, type WaitRequest } from './ready.ts';
import { checkWaitInput } from './wait-input.ts';

/** What start_process is asked (undefined: not given; the defaults below apply). */
export interface StartRequest extends WaitRequest {
  command: string[]; // one element: a shell command line; more: argv, run directly
  name?: string;
  replace?: boolean; // with name: stop a live process of that name first
  cwd?: string; // default: this process's
  from?: string; // the caller's folder, recorded with its git checkout; default: this process's
  env?: string[] | Record<string, string>; // KEY=VALUE pairs (the script's --env), or an object (MCP)
  pty?: boolean;
  timeout?: number; // seconds the process may run
  restart?: RestartMode;
  maxRestarts?: number;
  maxLogSize?: string; // a size: 100M, 1G, 65536
  waitInput?: boolean; // return once the program waits for input (ops/wait-input.ts)
  /** Variables (from env, or the caller's environment) whose values reads hide (util/redact.ts). */
  secretEnv?: string[];
}

export const START_DEFAULTS = {
  pty: true,
  replace: false,
  restart: 'no' as RestartMode,
  maxRestarts: 10,
  maxLogSize: '100M',
};

/** A request checked, its defaults applied: what start() takes. */
export interface StartPlan {
  command: string[];
  cwd: string;
  from: string; // the caller's folder (list_processes --here)
  pty: boolean;
  maxLogSize: number; // bytes
  name?: string;
  replace: boolean;
  extraEnv: Record<string, string>;
  /** --secret-env: each variable named and its value, recorded (encrypted) for reads to hide. */
  secretEnv: Record<string, string>;
  restart: { mode: RestartMode; max: number };
  timeoutSec?: number;
  wait: Wait;
  /** --wait-input: seconds to wait for the program to wait for input. */
  waitInputSec?: number;
  hints: Hints; // the caller's, for the refusals of start()
}

/** What a caller of checkStart adds to its messages: an example of a start, for "no command given". */
export interface StartHints {
  example?: string;
}

/** The env object as KEY=VALUE pairs, checked first: joined, a key with "=" would split elsewhere. */
function envPairs(env: Record<string, string>): string[] {
  return Object.entries(env).map(([k, v]) => {
    if (!ENV_NAME.test(k))
      throw new BgError(
        'USAGE',
        `env key ${JSON.stringify(k)} is not a variable name (letters, digits, _; not starting with a digit).`,
      );
    if (v.includes('\0'))
      throw new BgError('USAGE', `env ${k} holds a NUL character, which no environment variable can hold.`);
    return `${k}=${v}`;
  });
}

function checkMaxLogSize(fe: FrontEnd, text: string): number {
  const bytes = parseSize(text);
  if (bytes === undefined || bytes < MIN_MAX_LOG_SIZE) {
    throw new BgError(
      'USAGE',
      `${optionName(fe, 'maxLogSize')} must be a size of at least 1M, like 50M or 2G (got "${oneLine(String(text))}").`,
    );
  }
  return bytes;
}

function checkMaxRestarts(fe: FrontEnd, n: number): number {
  if (!(Number.isInteger(n) && n >= 0)) {
    const name = optionName(fe, 'maxRestarts');
    throw new BgError('USAGE', `${name} must be a whole number, 0 or more (got ${shownValue(fe, name, n)}).`);
  }
  return n;
}

/** The request checked (a USAGE error on a bad field), in one step, with its defaults applied. */
export function checkStart(req: StartRequest, fe: FrontEnd, waits: WaitDefaults, hints: StartHints = {}): StartPlan {
  const maxLogSize = checkMaxLogSize(fe, req.maxLogSize ?? START_DEFAULTS.maxLogSize);
  const name = req.name === undefined ? undefined : checkName(req.name);
  const replace = req.replace ?? START_DEFAULTS.replace;
  if (replace && !name) {
    throw new BgError(
      'USAGE',
      `${optionName(fe, 'replace')} needs ${optionName(fe, 'name')}: it replaces the live process of that name.`,
    );
  }
  const env = req.env ?? [];
  const extraEnv = parseEnvPairs(Array.isArray(env) ? env : envPairs(env), fe.hints);
  const secretEnv = secretEnvOf(req.secretEnv ?? [], extraEnv, fe);
  // A timeout alone is refused by startWait (it names --wait-for and --wait-port).
  const waitInputSec = req.waitInput ? checkWaitInput(req, fe, waits.waitTimeoutSec) : undefined;
  const wait = startWait(waitInputSec === undefined ? req : { ...req, waitTimeout: undefined }, fe, waits);
  const timeoutSec = seconds(fe, 'timeout', req.timeout, false);
  const mode = req.restart ?? START_DEFAULTS.restart;
  const maxRestarts = checkMaxRestarts(fe, req.maxRestarts ?? START_DEFAULTS.maxRestarts);
  const command = req.command;
  if (command.length === 0 || (command.length === 1 && command[0]!.trim() === '')) {
    throw new BgError('USAGE', `no command given.${hints.example ? ` Example: ${hints.example}` : ''}`);
  }
  return {
    command,
    cwd: req.cwd ?? process.cwd(),
    from: req.from ?? process.cwd(),
    pty: req.pty ?? START_DEFAULTS.pty,
    maxLogSize,
    name,
    replace,
    extraEnv,
    secretEnv,
    restart: { mode, max: mode === 'no' ? 0 : maxRestarts },
    timeoutSec,
    wait,
    waitInputSec,
    hints: fe.hints,
  };
}

/**
 * --secret-env NAME: the value the command gets, from --env or else the caller's environment
 * (which the command inherits). A name set nowhere is refused: the user meant a value to hide.
 */
function secretEnvOf(names: string[], extraEnv: Record<string, string>, fe: FrontEnd): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = extraEnv[name] ?? process.env[name];
    if (value === undefined)
      throw new BgError(
        'USAGE',
        `${optionName(fe, 'secretEnv')} ${oneLine(name)}: no such variable in ${optionName(fe, 'env')} or the environment. Set it, or leave the option out.`,
      );
    out[name] = value;
  }
  return out;
}

/** What --replace did to the live process of the name, in words (`note`: what the stop noticed). */
export interface Replaced {
  id: string;
  said: string;
  note?: string;
}

/**
 * The name: refused while a live process holds it, unless replacing, which stops that one first
 * and says who did: this call, or another whose stop was under way (`told` hears it at once,
 * before the start, which may still fail). Returns what the supervisor is told of the replace.
 */
async function claimName(
  context: () => Context,
  plan: StartPlan,
  told: (r: Replaced) => void,
): Promise<{ id?: string } | undefined> {
  const { name, replace, hints } = plan;
  if (!name) return undefined;
  if (!replace) {
    // Checked again by the supervisor under the state lock; this saves starting anything.
    const holder = liveNameHolder(context().store.read(), name);
    if (holder)
      throw new BgError(
        'REFUSED',
        `the name "${name}" belongs to running process ${holder.id}. Stop it, pick another name, or pass ${hints.option('replace', true)}.`,
      );
    return undefined;
  }
  const ctx = context();
  const live = liveNameHolder(ctx.store.read(), name);
  if (!live) return {};
  const r = await stopProcess(ctx, live, STOP_SIGNAL, STOP_GRACE_SEC * 1000, 'replace');
  let said: string;
  if (r.already) said = `Process ${live.id} (${name}) had already ended; nothing to stop.`;
  else if (r.joined) {
    const by = r.joined === 'timeout' ? 'by its --timeout' : 'by another call';
    said = `Process ${live.id} (${name}) was already being stopped ${by}; it ended (${r.result.endedBy}).`;
  } else said = `Stopped process ${live.id} (${name}) to replace it (${r.result.endedBy}).`;
  told({ id: live.id, said, note: r.already ? undefined : r.note });
  return { id: live.id };
}

/**
 * Start a checked request: refused before anything is stopped when the command cannot run, then
 * the name claimed (replacing), then the supervisor started. `context`: the unlocked data dir,
 * made on demand (the key is derived while the supervisor boots).
 */
export async function start(
  plan: StartPlan,
  context: () => Context,
  told: (r: Replaced) => void = () => undefined,
): Promise<Started> {
  const { command, cwd, pty, name, extraEnv, hints } = plan;
  planStart({ command, cwd, pty, name, extraEnv, hints });
  const replacing = await claimName(context, plan, told);
  const started = await startProcess({
    command,
    cwd,
    pty,
    maxLogSize: plan.maxLogSize,
    name,
    extraEnv,
    restart: plan.restart,
    timeoutSec: plan.timeoutSec,
    ready: plan.wait.ready,
    replacing,
    from: plan.from,
    context,
    hints,
  });
  if (Object.keys(plan.secretEnv).length) {
    // Reads hide these values (ops/logs.ts redactPlan); they are read at read time, so the
    // output written before this lands is hidden too.
    await context().store.update((doc) => {
      const r = findRecord(doc, started.id);
      if (r) r.secretEnv = plan.secretEnv;
    });
  }
  return started;
}
