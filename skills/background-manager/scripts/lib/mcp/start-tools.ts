// The MCP tools that start processes: start_process and restart_process. They call what the
// scripts call (startProcess, restartRecord, waitReady, notReady), with the same checks and
// messages; a readiness wait that fails is a tool error carrying the run's last lines.
import { z } from 'zod';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { durationSec } from '../cli/cli.ts';
import { linearRegex } from '../util/linear-regex.ts';
import { BgError, EXIT } from '../errors.ts';
import { ENV_NAME, checkName, parseEnvPairs, parseSize, startProcess } from '../control/launch.ts';
import { notReady, waitReady } from '../control/ready.ts';
import { MIN_MAX_LOG_SIZE, type Cursor } from '../log/format/logset.ts';
import { resolveProcess } from '../process/resolve.ts';
import { joinedLine, restartRecord } from '../commands/restart_process.ts';
import type { Readiness, RestartMode } from '../store/state.ts';
import type { Context } from '../store/context.ts';
import { guarded, linesText, notMet, ok, shownLine, MAX_WAIT_SEC } from './result.ts';
import type { Session } from './session.ts';
import { oneLine } from '../util/format.ts';

/** Longest readiness wait a call may ask for: hosts time a call out (the SDK's client after 60 s). */

const waitFields = {
  wait_for: z
    .string()
    .optional()
    .describe(
      'Return only once an output line (or a prompt without a newline, quiet for 0.2 s) matches this regular expression',
    ),
  wait_port: z
    .number()
    .int()
    .min(1)
    .max(65535)
    .optional()
    .describe('Return only once the process tree listens on this TCP port'),
  wait_timeout: z
    .number()
    .max(MAX_WAIT_SEC)
    .optional()
    .describe('Seconds to wait for wait_for / wait_port (default 30). Most hosts give up on a call after 60 s'),
};

const startShape = {
  command: z
    .union([z.string().min(1), z.array(z.string()).min(1)])
    .describe(
      'A shell command line (one string, run with sh -c: pipes, && and $VARS work), or argv (an array, run directly without a shell)',
    ),
  name: z
    .string()
    .optional()
    .describe('A name to use instead of the ID in every other tool; unique among live processes'),
  cwd: z.string().optional().describe("Working folder (default: the MCP server's own)"),
  env: z
    .record(z.string(), z.string())
    .optional()
    .describe('Extra environment variables for the command (kept encrypted)'),
  pty: z
    .boolean()
    .default(true)
    .describe(
      'Run under a pseudo-terminal (default; needed for REPLs and prompts). false: pipes, stdout and stderr kept apart',
    ),
  ...waitFields,
  restart: z
    .enum(['no', 'on-failure', 'always'])
    .default('no')
    .describe('Run it again when it exits: on-failure (non-zero exit or signal) or always'),
  max_restarts: z.number().int().min(0).default(10).describe('Restarts allowed before giving up (status failed)'),
  timeout: z.number().optional().describe('Stop the process after this many seconds (recorded as a timeout)'),
  max_log_size: z
    .string()
    .default('100M')
    .describe('Cap on the log kept on disk (e.g. 50M, 1G); the oldest output goes first'),
};

/** The readiness a call asks for, checked as start_process checks its flags. */
function readiness(a: { wait_for?: string; wait_port?: number; wait_timeout?: number }): {
  ready?: Readiness;
  pattern?: RegExp;
} {
  const pattern = a.wait_for === undefined ? undefined : linearRegex('wait_for', a.wait_for);
  if (a.wait_timeout !== undefined) durationSec([], 'wait_timeout', a.wait_timeout, false);
  if (!pattern && a.wait_port === undefined) {
    if (a.wait_timeout !== undefined)
      throw new BgError('USAGE', 'wait_timeout needs wait_for or wait_port: it says how long to wait for them.');
    return {};
  }
  return { ready: { pattern: a.wait_for, port: a.wait_port, timeoutSec: a.wait_timeout ?? 30 }, pattern };
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

/** Wait for readiness; the answer says what it found, or fails with the script's message and the last lines. */
async function answerReady(
  tool: string,
  ctx: Context,
  id: string,
  head: string,
  facts: Record<string, unknown>,
  w: { ready?: Readiness; pattern?: RegExp },
  signal: AbortSignal,
  from?: Cursor,
): Promise<CallToolResult> {
  if (!w.ready) return ok(head, facts);
  // A cancelled call, or a client gone, ends the wait at the next status check (not at wait_timeout).
  const res = await waitReady(ctx, id, {
    pattern: w.pattern,
    port: w.ready.port,
    timeoutMs: w.ready.timeoutSec * 1000,
    from,
    signal,
  });
  if (signal.aborted)
    throw new BgError(
      'TIMEOUT',
      `the call was cancelled before process ${id} was ready; it runs on (stop_process ${id} ends it).`,
    );
  if (res.ready) return ok(`${head}\nReady: ${res.detail}`, { ...facts, ready: true, readyDetail: res.detail });
  const { message, tail } = notReady(ctx, id, w.ready, w.pattern, res.why, from);
  const lines = tail.map(shownLine);
  return notMet(tool, `error: ${message}\n${linesText(lines, false)}`, EXIT.FAILED, {
    ...facts,
    ready: false,
    why: res.why,
    lastLines: lines,
  });
}

export function registerStartTools(server: McpServer, session: Session, changed: () => void): void {
  server.registerTool(
    'start_process',
    {
      title: 'Start a background process',
      description:
        'Start a long-running command in the background (dev server, watcher, build, REPL, long job) and return its ID at once, or once it is ready when wait_for/wait_port is given. ' +
        'Use it instead of running anything that does not end by itself. Returns {id, pid, name, ready?} and a two-line text; on a failed readiness wait, an error with the last 20 output lines. ' +
        'Then read its output with get_logs, type into it with send_input, end it with stop_process.',
      inputSchema: startShape,
    },
    guarded('start_process', session.closed, async (a, signal) => {
      const maxLogSize = parseSize(a.max_log_size);
      if (maxLogSize === undefined || maxLogSize < MIN_MAX_LOG_SIZE)
        throw new BgError(
          'USAGE',
          `max_log_size must be a size of at least 1M, like 50M or 2G (got "${oneLine(a.max_log_size)}").`,
        );
      const name = a.name === undefined ? undefined : checkName(a.name);
      const extraEnv = parseEnvPairs(envPairs(a.env ?? {}));
      const w = readiness(a);
      const timeoutSec = a.timeout === undefined ? undefined : durationSec([], 'timeout', a.timeout, false);
      const command = typeof a.command === 'string' ? [a.command] : a.command;
      if (command.length === 1 && command[0]!.trim() === '') throw new BgError('USAGE', 'no command given.');
      const started = await startProcess({
        command,
        cwd: a.cwd ?? process.cwd(),
        pty: a.pty,
        maxLogSize,
        name,
        extraEnv,
        restart: { mode: a.restart as RestartMode, max: a.restart === 'no' ? 0 : a.max_restarts },
        timeoutSec,
        ready: w.ready,
        context: () => session.contextForStart(),
      });
      changed();
      const head = `Started process ${started.id} (PID ${started.pid})${name ? ` named ${name}` : ''}. Read its output with get_logs ${name ?? started.id}.`;
      return answerReady(
        'start_process',
        session.context(),
        started.id,
        head,
        { id: started.id, pid: started.pid, name: name ?? null },
        w,
        signal,
      );
    }),
  );

  server.registerTool(
    'restart_process',
    {
      title: 'Restart a process',
      description:
        'Stop a process (if it runs) and start the same command again under the same ID, with the same folder, env and options; its log continues. ' +
        'Waits for readiness as it was started with, or as wait_for/wait_port say here (new output only); wait: false returns once it runs. Returns {id, pid, how, ready?}. ' +
        'A detached dashboard is refused: it needs the password handed over from a shell (restart_process.ts NAME).',
      inputSchema: {
        id: z.string().describe('Process ID, unique ID prefix, or name'),
        timeout: z
          .number()
          .max(MAX_WAIT_SEC)
          .default(5)
          .describe(`Seconds to wait after SIGTERM before SIGKILL (at most ${MAX_WAIT_SEC})`),
        ...waitFields,
        wait: z.boolean().default(true).describe('Wait for readiness as the process was started with (default)'),
      },
    },
    guarded('restart_process', session.closed, async (a, signal) => {
      durationSec([], 'timeout', a.timeout, true);
      const given = a.wait_for !== undefined || a.wait_port !== undefined;
      if (given && !a.wait)
        throw new BgError('USAGE', 'wait: false and wait_for/wait_port contradict each other: give one.');
      const ctx = session.context();
      const rec = resolveProcess(ctx.store.read(), a.id);
      const w = given
        ? readiness(a)
        : !a.wait || !rec.ready
          ? {}
          : {
              ready: { ...rec.ready, timeoutSec: a.wait_timeout ?? rec.ready.timeoutSec },
              pattern: rec.ready.pattern === undefined ? undefined : linearRegex('wait_for', rec.ready.pattern),
            };
      if (a.wait_timeout !== undefined && !w.ready)
        throw new BgError(
          'USAGE',
          `wait_timeout needs something to wait for: process ${rec.id} was started without wait_for or wait_port, so give one.`,
        );
      const notes: string[] = [];
      const { started, from, how, joined } = await restartRecord(
        ctx,
        rec,
        Math.round(a.timeout * 1000),
        !!w.ready,
        (n) => notes.push(n),
      );
      changed();
      // Another call started the new run (and waits for it): this one says so, as the script does.
      if (joined) return ok(joinedLine(rec, started.pid), { id: started.id, pid: started.pid, joined: true });
      const head = `Restarted process ${started.id} (PID ${started.pid}; ${how}).${notes.map((n) => ` Note: ${n}.`).join('')}`;
      return answerReady(
        'restart_process',
        ctx,
        started.id,
        head,
        { id: started.id, pid: started.pid, how },
        w,
        signal,
        from,
      );
    }),
  );
}
