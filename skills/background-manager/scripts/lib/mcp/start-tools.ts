// The MCP tools that start processes: start_process and restart_process, front ends of
// ops/start.ts and ops/restart.ts (the checks, defaults and messages the scripts have, with
// options named as fields and hints naming tools); a readiness wait that fails is a tool error
// carrying the run's last lines. A start without cwd runs in the client's first root (roots.ts).
import path from 'node:path';
import { z } from 'zod';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { linearRegex } from '../util/linear-regex.ts';
import { BgError, EXIT } from '../errors.ts';
import type { Cursor } from '../log/format/logset.ts';
import { resolveProcess } from '../process/resolve.ts';
import type { FrontEnd } from '../ops/checks.ts';
import { MCP_CLIENT_TIMEOUT_SEC, MCP_WAIT_TIMEOUT_SEC, STOP_GRACE_SEC } from '../ops/defaults.ts';
import { awaitReady, type Wait, type WaitDefaults } from '../ops/ready.ts';
import { checkRestart, restart, restartedLine } from '../ops/restart.ts';
import { checkStart, START_DEFAULTS, start } from '../ops/start.ts';
import type { Context } from '../store/context.ts';
import { TOOL_HINTS } from './hints.ts';
import { guarded, linesText, notMet, ok, shownLine, MAX_WAIT_SEC } from './result.ts';
import type { ClientRoots } from './roots.ts';
import type { Session } from './session.ts';
import { answerInputWait, waitInputFields } from './input-wait.ts';

/** MCP's fields, named as given (wait_for); a client's regex runs in linear time; hints name tools. */
const MCP: FrontEnd = { style: 'field', regex: linearRegex, hints: TOOL_HINTS };

/** MCP's waits stay below the usual 60 s client timeout; a restart told what to wait for uses it too. */
const MCP_WAITS: WaitDefaults = { waitTimeoutSec: MCP_WAIT_TIMEOUT_SEC, restartKeepsTimeout: false };

const waitFields = {
  wait_for: z
    .string()
    .optional()
    .describe(
      'Return only once an output line (or a prompt without a newline, quiet for 0.2 s) matches this regular expression; of a full-screen program (alternate screen), a row of its screen too',
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
    .describe(
      `Seconds to wait for wait_for / wait_port / wait_input (default ${MCP_WAIT_TIMEOUT_SEC}, at most ${MAX_WAIT_SEC}). Most hosts give up on a call after ${MCP_CLIENT_TIMEOUT_SEC} s`,
    ),
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
  replace: z
    .boolean()
    .default(START_DEFAULTS.replace)
    .describe('With name: stop the live process of that name first, then start this one'),
  cwd: z
    .string()
    .optional()
    .describe(
      `Working folder. Default: the client's first root (a file:// URI, asked with roots/list) when the client offers roots, else the MCP server's own folder (${process.cwd()}). A relative path is taken from that default`,
    ),
  env: z
    .record(z.string(), z.string())
    .optional()
    .describe(
      'Extra environment variables for the command (kept encrypted). Values whose name contains TOKEN, SECRET, PASSWORD, PASSWD, CREDENTIAL or ends in _KEY are hidden from get_logs as [REDACTED:env:NAME]',
    ),
  secret_env: z
    .array(z.string())
    .optional()
    .describe(
      "Names of variables (in env or the server's environment) whose values get_logs hides as [REDACTED:env:NAME]",
    ),
  pty: z
    .boolean()
    .default(START_DEFAULTS.pty)
    .describe(
      'Run under a pseudo-terminal (default; needed for REPLs and prompts). false: pipes, stdout and stderr kept apart',
    ),
  ...waitFields,
  ...waitInputFields,
  restart: z
    .enum(['no', 'on-failure', 'always'])
    .default(START_DEFAULTS.restart)
    .describe('Run it again when it exits: on-failure (non-zero exit or signal) or always'),
  max_restarts: z
    .number()
    .int()
    .min(0)
    .default(START_DEFAULTS.maxRestarts)
    .describe('Restarts allowed before giving up (status failed)'),
  timeout: z.number().optional().describe('Stop the process after this many seconds (recorded as a timeout)'),
  max_log_size: z
    .string()
    .default(START_DEFAULTS.maxLogSize)
    .describe('Cap on the log kept on disk (e.g. 50M, 1G); the oldest output goes first'),
};

/** Wait for readiness; the answer says what it found, or fails with the script's message and the last lines. */
async function answerReady(
  tool: string,
  ctx: Context,
  id: string,
  head: string,
  facts: Record<string, unknown>,
  wait: Wait,
  signal: AbortSignal,
  from?: Cursor,
): Promise<CallToolResult> {
  if (!wait.ready) return ok(head, facts);
  // A cancelled call, or a client gone, ends the wait at the next status check (not at wait_timeout).
  const res = await awaitReady(ctx, id, wait, TOOL_HINTS, { from, signal });
  if (signal.aborted)
    throw new BgError(
      'TIMEOUT',
      `the call was cancelled before process ${id} was ready; it runs on (${TOOL_HINTS.call('stop_process', { ref: id })} ends it).`,
    );
  if (res.ready) return ok(`${head}\nReady: ${res.detail}`, { ...facts, ready: true, readyDetail: res.detail });
  const lines = res.tail.map((l) => shownLine(l, res.redact));
  return notMet(tool, `error: ${res.message}\n${linesText(lines, false)}`, EXIT.FAILED, {
    ...facts,
    ready: false,
    why: res.why,
    lastLines: lines,
  });
}

export function registerStartTools(server: McpServer, session: Session, roots: ClientRoots, changed: () => void): void {
  server.registerTool(
    'start_process',
    {
      title: 'Start a background process',
      description:
        'Start a long-running command in the background (dev server, watcher, build, REPL, long job) and return its ID at once, or once it is ready when wait_for/wait_port is given, or once it waits for input (wait_input: a REPL or a prompt, with what it printed). ' +
        'Use it instead of running anything that does not end by itself. Returns {id, pid, name, cwd, ready?} and a two-line text; on a failed readiness wait, an error with the last 20 output lines. ' +
        'Then read its output with get_logs, type into it with send_input, end it with stop_process.',
      inputSchema: startShape,
    },
    guarded('start_process', session.closed, async (a, signal) => {
      const req = {
        command: typeof a.command === 'string' ? [a.command] : a.command,
        name: a.name,
        replace: a.replace,
        cwd: a.cwd,
        env: a.env ?? {},
        secretEnv: a.secret_env,
        pty: a.pty,
        waitFor: a.wait_for,
        waitPort: a.wait_port,
        waitTimeout: a.wait_timeout,
        waitInput: a.wait_input,
        timeout: a.timeout,
        restart: a.restart,
        maxRestarts: a.max_restarts,
        maxLogSize: a.max_log_size,
      };
      const plan = checkStart(req, MCP, MCP_WAITS);
      // The folder: cwd if absolute, else from the client's first root or the server's own (roots.ts).
      plan.cwd = path.resolve(await roots.folderFor(a.cwd, signal));
      // Where it comes from: the client's first root (list_processes here), whatever cwd says.
      plan.from = await roots.callerFolder(signal);
      const { name } = plan;
      const replaced: string[] = [];
      const started = await start(
        plan,
        () => session.contextForStart(),
        (r) => replaced.push(`${r.said}${r.note ? ` Note: ${r.note}.` : ''}`),
      );
      changed();
      const head = [
        ...replaced,
        `Started process ${started.id} (PID ${started.pid})${name ? ` named ${name}` : ''}. Read its output with ${TOOL_HINTS.call('get_logs', { ref: name ?? started.id })}.`,
      ].join('\n');
      const facts = {
        id: started.id,
        pid: started.pid,
        name: name ?? null,
        cwd: plan.cwd,
        ...(replaced.length ? { replaced } : {}),
      };
      if (plan.waitInputSec !== undefined)
        return answerInputWait('start_process', session.context(), started.id, head, facts, {
          timeoutSec: plan.waitInputSec,
          signal,
        });
      return answerReady('start_process', session.context(), started.id, head, facts, plan.wait, signal);
    }),
  );

  server.registerTool(
    'restart_process',
    {
      title: 'Restart a process',
      description:
        'Stop a process (if it runs) and start the same command again under the same ID, with the same folder, env and options; its log continues. ' +
        'Waits for readiness as it was started with, or as wait_for/wait_port say here (new output only); wait: false returns once it runs. Returns {id, pid, how, ready?}. ' +
        'A detached dashboard is refused: only the restart_process script, from a shell, hands it the password.',
      inputSchema: {
        id: z.string().describe('Process ID, unique ID prefix, or name'),
        timeout: z
          .number()
          .max(MAX_WAIT_SEC)
          .default(STOP_GRACE_SEC)
          .describe(`Seconds to wait after SIGTERM before SIGKILL (at most ${MAX_WAIT_SEC})`),
        ...waitFields,
        wait: z.boolean().default(true).describe('Wait for readiness as the process was started with (default)'),
      },
    },
    guarded('restart_process', session.closed, async (a, signal) => {
      const req = {
        graceSec: a.timeout,
        waitFor: a.wait_for,
        waitPort: a.wait_port,
        waitTimeout: a.wait_timeout,
        wait: a.wait,
      };
      checkRestart(req, MCP);
      const ctx = session.context();
      const rec = resolveProcess(ctx.store.read(), a.id, TOOL_HINTS);
      const notes: string[] = [];
      const done = await restart(ctx, rec, req, MCP, { waits: MCP_WAITS, note: (n) => notes.push(n) });
      changed();
      const { started, how } = done;
      // Another call started the new run (and waits for it): this one says so, as the script does.
      if (done.joined) return ok(restartedLine(rec, done), { id: started.id, pid: started.pid, joined: true });
      const head = `${restartedLine(rec, done)}${notes.map((n) => ` Note: ${n}.`).join('')}`;
      const facts = { id: started.id, pid: started.pid, how };
      return answerReady('restart_process', ctx, started.id, head, facts, done.wait, signal, done.from);
    }),
  );
}
