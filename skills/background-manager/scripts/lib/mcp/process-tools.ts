// The MCP tools that look at and act on processes already started: list_processes,
// send_input, stop_process, wait_process, remove_process. Each is its operation in ops/ (the
// scripts' own), its zod arguments made a request and its result a bounded answer, so the
// answers and the refusals are the scripts' own.
import { z } from 'zod';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { resolveProcess } from '../process/resolve.ts';
import { STATUSES } from '../process/status.ts';
import { KEY_NAMES } from '../process/keys-input.ts';
import {
  MCP_CLIENT_TIMEOUT_SEC,
  MCP_MAX_WAIT_SEC,
  MCP_WAIT_TIMEOUT_SEC,
  STOP_GRACE_SEC,
  STOP_SIGNAL,
} from '../ops/defaults.ts';
import { emptyListText, listed, processTable } from '../ops/list.ts';
import { checkSend, sendTo, sentText } from '../ops/send.ts';
import { attachedNote } from '../ops/attach-note.ts';
import { checkStop, NOTHING_TO_STOP, shortSignal, stopFailedLine, stopTargets } from '../ops/stop.ts';
import { checkWait, endedText, stillRunningText, waitProcess } from '../ops/wait.ts';
import { checkRemove, NOTHING_TO_REMOVE, removeProcesses } from '../ops/remove.ts';
import { TOOL_HINTS } from './hints.ts';
import { modelRow, ROW } from './list-row.ts';
import { guarded, ok } from './result.ts';
import { answerInputWait, answerUntilInput, waitInputFields, waitInputTimeout } from './input-wait.ts';
import { checkWaitInput } from '../ops/wait-input.ts';
import { logEnd } from '../control/ready.ts';
import { linearRegex } from '../util/linear-regex.ts';
import type { FrontEnd } from '../ops/checks.ts';

/** MCP's fields as the checks name them (wait_timeout). */
const MCP_FIELDS: FrontEnd = { style: 'field', regex: linearRegex, hints: TOOL_HINTS };
import type { Session } from './session.ts';
import type { ClientRoots } from './roots.ts';
import { hereCheckouts, staleLines } from '../ops/provenance.ts';

/** Where a tool's messages send the model for IDs. */
const LIST_HINT = `list them with: ${TOOL_HINTS.call('list_processes')}`;

/** Rows a list answer shows; the rest are counted (filter with status to see them). */
const MAX_ROWS = 200;

const ids = z.array(z.string()).describe('Process IDs, unique ID prefixes, or names');

export function registerProcessTools(
  server: McpServer,
  session: Session,
  changed: () => void,
  roots: ClientRoots,
): void {
  registerList(server, session, roots);
  registerSend(server, session);
  registerStop(server, session, changed);
  registerWait(server, session);
  registerRemove(server, session, changed);
}

function registerList(server: McpServer, session: Session, roots: ClientRoots): void {
  server.registerTool(
    'list_processes',
    {
      title: 'List background processes',
      description:
        'List every managed process with its live-checked status (running, exited(code), stopped(signal), failed, lost, ...), PID, start time, name, restarts, listening ports, command, and where it was started (git worktree, branch, commit; stale: it runs an older commit than its worktree has now). ' +
        `Use it to find an ID or see what still runs. Returns {processes: [...], omitted} and a table; at most ${MAX_ROWS} rows, the newest (status filters them).`,
      inputSchema: {
        status: z
          .enum(STATUSES as [string, ...string[]])
          .optional()
          .describe('Only processes with this status'),
        here: z
          .boolean()
          .default(false)
          .describe(
            "Only processes started from the client's roots (their git worktrees, or the folders outside git); without roots, from the MCP server's own folder",
          ),
      },
      outputSchema: {
        processes: z.array(ROW),
        omitted: z.number().int().describe(`Older processes not shown (more than ${MAX_ROWS})`),
      },
    },
    guarded('list_processes', session.closed, async (a, signal) => {
      const ctx = session.context();
      const here = a.here ? hereCheckouts(await roots.hereFolders(signal)) : undefined;
      const rows = listed(ctx.store.read(), a.status, { here, stale: true });
      const shown = rows.slice(-MAX_ROWS);
      const more = rows.length - shown.length;
      const text =
        rows.length === 0
          ? emptyListText(a.status, ctx.dataDir, here)
          : [processTable(shown).trimEnd(), ...staleLines(shown, TOOL_HINTS)].join('\n');
      return ok(more ? `${text}\n(${more} older processes not shown; pass status to filter.)` : text, {
        processes: shown.map(modelRow),
        omitted: more,
      });
    }),
  );
}

function registerSend(server: McpServer, session: Session): void {
  server.registerTool(
    'send_input',
    {
      title: 'Type into a running process',
      description:
        'Write to the standard input of a running process: text (Enter is pressed after it unless enter is false or it ends with a newline), keypresses, and/or end of input. ' +
        'Use it to answer prompts and drive REPLs; with wait_input it returns once the program waits for input again, with what it printed (a REPL answer), else read the reply with get_logs (new: true, wait_for the next prompt). Returns {id, bytes} (wait_input: lines, prompt).',
      inputSchema: {
        id: z.string().describe('Process ID, unique ID prefix, or name'),
        text: z.string().optional().describe('Text to type'),
        enter: z
          .boolean()
          .default(true)
          .describe('Press Enter after the text (default true; not again after text ending with a newline)'),
        keys: z
          .array(z.string())
          .optional()
          .describe(`Keypresses sent after the text: ${KEY_NAMES.join(', ')}, ctrl-<letter>, alt-<key>`),
        eof: z.boolean().default(false).describe("Close the process's input (end of file) after the rest"),
        ...waitInputFields,
        wait_timeout: waitInputTimeout,
      },
    },
    guarded('send_input', session.closed, async (a, signal) => {
      const req = checkSend({ text: a.text, enter: a.enter, keys: a.keys ?? [], eof: a.eof }, 'text, keys or eof');
      const waitSec = checkWaitInput(
        { waitInput: a.wait_input, waitTimeout: a.wait_timeout },
        MCP_FIELDS,
        MCP_WAIT_TIMEOUT_SEC,
      );
      const ctx = session.context();
      const rec = resolveProcess(ctx.store.read(), a.id, TOOL_HINTS);
      const from = waitSec === undefined ? undefined : logEnd(ctx, rec);
      const after = Date.now();
      const bytes = await sendTo(ctx, rec, req);
      const note = attachedNote(rec);
      const sent = `${sentText(rec.id, bytes, a.eof)}${note ? `\n${note}` : ''}`;
      const facts = { id: rec.id, bytes, closedInput: a.eof };
      if (waitSec === undefined) return ok(sent, facts);
      return answerInputWait('send_input', ctx, rec.id, sent, facts, {
        timeoutSec: waitSec,
        from,
        after,
        signal,
      });
    }),
  );
}

function registerStop(server: McpServer, session: Session, changed: () => void): void {
  server.registerTool(
    'stop_process',
    {
      title: 'Stop processes',
      description:
        'End processes and everything they started: SIGTERM (or signal) to the whole tree, SIGKILL after timeout seconds. Their output stays readable with get_logs. ' +
        'all: true stops every live process. Returns {stopped: [{id, text}], failed: [{id, code, message}]}.',
      inputSchema: {
        ids: ids.optional(),
        all: z
          .boolean()
          .default(false)
          .describe('Stop every live process (and background jobs ended ones left running)'),
        signal: z
          .string()
          .default(shortSignal(STOP_SIGNAL))
          .describe('The first signal: TERM, INT (a graceful Ctrl-C), HUP, QUIT, KILL'),
        timeout: z
          .number()
          .max(MCP_MAX_WAIT_SEC)
          .default(STOP_GRACE_SEC)
          .describe(`Seconds to wait after the signal before SIGKILL (at most ${MCP_MAX_WAIT_SEC})`),
        force: z.boolean().default(false).describe('SIGKILL at once'),
      },
    },
    guarded('stop_process', session.closed, async (a) => {
      const order = checkStop(
        { refs: a.ids ?? [], all: a.all, signal: a.signal, timeoutSec: a.timeout, force: a.force },
        {
          sweep: 'all',
          sweepOn: 'all: true',
          ids: 'ids',
          give: `IDs or names in ids (${LIST_HINT})`,
          timeout: 'timeout',
          hints: TOOL_HINTS,
        },
      );
      const report = await stopTargets(session.context(), order);
      changed();
      const stopped = report.results.filter((r) => r.ok);
      const failed = report.results.filter((r) => !r.ok);
      const text = [...stopped.map((r) => r.text), ...failed.map(stopFailedLine)].join('\n') || NOTHING_TO_STOP;
      return {
        ...ok(text, {
          stopped: stopped.map((r) => ({ id: r.rec.id, text: r.text, ...(r.note ? { note: r.note } : {}) })),
          failed: failed.map((r) => ({
            id: r.rec.id,
            code: r.error.code,
            exitCode: r.error.exitCode,
            message: r.message,
          })),
          exitCode: report.exitCode,
        }),
        ...(failed.length ? { isError: true } : {}),
      };
    }),
  );
}

function registerWait(server: McpServer, session: Session): void {
  server.registerTool(
    'wait_process',
    {
      title: 'Wait for a process to end',
      description:
        'Block until a process ends (its restarts included) or timeout seconds pass, then report its status and exit status (exit code, or 128 + signal). ' +
        'until: "input" waits instead until it waits for input (the kernel shows it reading its terminal or stdin), and gives the prompt; an error if it ended first or that cannot be told for it. ' +
        `Use it for builds and jobs that end by themselves. Returns {id, ended, status, exitStatus}. Default timeout ${MCP_WAIT_TIMEOUT_SEC} s, at most ${MCP_MAX_WAIT_SEC}; most hosts give up on a call after ${MCP_CLIENT_TIMEOUT_SEC} s.`,
      inputSchema: {
        id: z.string().describe('Process ID, unique ID prefix, or name'),
        timeout: z
          .number()
          .max(MCP_MAX_WAIT_SEC)
          .default(MCP_WAIT_TIMEOUT_SEC)
          .describe(`Give up after this many seconds (default ${MCP_WAIT_TIMEOUT_SEC})`),
        until: z
          .enum(['exit', 'input'])
          .default('exit')
          .describe('exit: until it ends (default); input: until it waits for input'),
      },
    },
    guarded('wait_process', session.closed, async (a, signal) => {
      const req = checkWait({ ref: a.id, timeoutSec: a.timeout }, { timeout: 'timeout', hints: TOOL_HINTS });
      if (a.until === 'input') {
        const ctx = session.context();
        const id = resolveProcess(ctx.store.read(), a.id, TOOL_HINTS).id;
        return answerUntilInput(ctx, id, a.timeout, signal);
      }
      const r = await waitProcess(session.context(), req, signal);
      const text = r.ended ? endedText(r) : `Process ${stillRunningText(r)}`;
      const { id, ended, status, exitCode } = r;
      return ok(text, {
        id,
        ended,
        status: status.status,
        label: status.label,
        exitStatus: status.exitStatus ?? null,
        exitCode,
      });
    }),
  );
}

function registerRemove(server: McpServer, session: Session, changed: () => void): void {
  server.registerTool(
    'remove_process',
    {
      title: 'Forget ended processes',
      description:
        'Forget processes that have ended and delete their logs (exited: true: every ended one). A running one is refused unless force, which stops it first. ' +
        'Use it to tidy up; nothing is removed if any is refused. Returns {removed: [text], notes}.',
      inputSchema: {
        ids: ids.optional(),
        exited: z.boolean().default(false).describe('Remove every process that has ended'),
        force: z.boolean().default(false).describe('Stop running ones first'),
      },
    },
    guarded('remove_process', session.closed, async (a) => {
      const req = checkRemove(
        { refs: a.ids ?? [], exited: a.exited, force: a.force },
        {
          sweep: 'exited',
          sweepOn: 'exited: true',
          ids: 'ids',
          give: `IDs or names to remove in ids (${LIST_HINT})`,
          hints: TOOL_HINTS,
        },
      );
      const notes: string[] = [];
      const removed = await removeProcesses(session.context(), req, (n) => notes.push(n));
      changed();
      return ok([...(removed.length ? removed : [NOTHING_TO_REMOVE]), ...notes.map((n) => `note: ${n}`)].join('\n'), {
        removed,
        notes,
      });
    }),
  );
}
