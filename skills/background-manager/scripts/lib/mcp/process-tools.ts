// The MCP tools that look at and act on processes already started: list_processes,
// send_input, stop_process, wait_process, remove_process. Each calls the functions its script
// calls (listed, sendInput, stopProcess + describeStop, removeTargets), so the answers
// and the refusals are the scripts' own.
import { z } from 'zod';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { durationSec } from '../cli/cli.ts';
import { BgError, EXIT } from '../errors.ts';
import { waitFor } from '../util/wait.ts';
import { listed, listedJson, processTable } from '../commands/list_processes.ts';
import { keysText, sendInput } from '../commands/send_input.ts';
import { describeStop } from '../commands/stop_process.ts';
import { removeTargets } from '../commands/remove_process.ts';
import { EXIT_TIMEOUT, EXIT_UNKNOWN } from '../commands/wait_process.ts';
import { resolveAll, resolveProcess } from '../process/resolve.ts';
import { isLive, liveLeftovers, liveStatus, STATUSES } from '../process/status.ts';
import { stopProcess } from '../control/stop.ts';
import { signalNumber } from '../process/proc.ts';
import { KEY_NAMES } from '../process/keys-input.ts';
import { guarded, ok, MAX_WAIT_SEC } from './result.ts';
import type { Session } from './session.ts';
import { findRecord } from '../store/state.ts';
import { oneLine, shownMessage } from '../util/format.ts';

/** Rows a list answer shows; the rest are counted (filter with status to see them). */
const MAX_ROWS = 200;

const ids = z.array(z.string()).describe('Process IDs, unique ID prefixes, or names');

export function registerProcessTools(server: McpServer, session: Session, changed: () => void): void {
  registerList(server, session);
  registerSend(server, session);
  registerStop(server, session, changed);
  registerWait(server, session);
  registerRemove(server, session, changed);
}

function registerList(server: McpServer, session: Session): void {
  server.registerTool(
    'list_processes',
    {
      title: 'List background processes',
      description:
        'List every managed process with its live-checked status (running, exited(code), stopped(signal), failed, lost, ...), PID, start time, name, restarts, listening ports and command. ' +
        `Use it to find an ID or see what still runs. Returns {processes: [...]} and a table; at most ${MAX_ROWS} rows (status filters them).`,
      inputSchema: {
        status: z
          .enum(STATUSES as [string, ...string[]])
          .optional()
          .describe('Only processes with this status'),
      },
    },
    guarded('list_processes', session.closed, async (a) => {
      const ctx = session.context();
      const rows = listed(ctx.store.read(), a.status);
      const shown = rows.slice(-MAX_ROWS);
      const more = rows.length - shown.length;
      const text =
        rows.length === 0
          ? a.status
            ? `No processes with status ${a.status}.`
            : `No managed processes in ${oneLine(ctx.dataDir)}.`
          : processTable(shown).trimEnd();
      return ok(more ? `${text}\n(${more} older processes not shown; pass status to filter.)` : text, {
        processes: shown.map(listedJson),
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
        'Write to the standard input of a running process: text (Enter is pressed after it unless enter is false), keypresses, and/or end of input. ' +
        'Use it to answer prompts and drive REPLs; then read the reply with get_logs (new: true, wait_for the next prompt). Returns {id, bytes}.',
      inputSchema: {
        id: z.string().describe('Process ID, unique ID prefix, or name'),
        text: z.string().optional().describe('Text to type'),
        enter: z.boolean().default(true).describe('Press Enter after the text (default true)'),
        keys: z
          .array(z.string())
          .optional()
          .describe(`Keypresses sent after the text: ${KEY_NAMES.join(', ')}, ctrl-<letter>, alt-<key>`),
        eof: z.boolean().default(false).describe("Close the process's input (end of file) after the rest"),
      },
    },
    guarded('send_input', session.closed, async (a) => {
      const keys = a.keys ?? [];
      if (a.text === undefined && keys.length === 0 && !a.eof)
        throw new BgError('USAGE', 'nothing to send: give text, keys or eof.');
      const ctx = session.context();
      const rec = resolveProcess(ctx.store.read(), a.id);
      const suffix = Buffer.from(
        (a.text ?? '') + (a.text !== undefined && a.enter ? '\n' : '') + keysText(ctx, rec, keys),
        'utf8',
      );
      const bytes = await sendInput(ctx, rec, [], suffix, a.eof);
      return ok(
        `Sent ${bytes} byte${bytes === 1 ? '' : 's'} to process ${rec.id}${a.eof ? ' and closed its input' : ''}.`,
        { id: rec.id, bytes, closedInput: a.eof },
      );
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
        signal: z.string().default('TERM').describe('The first signal: TERM, INT (a graceful Ctrl-C), HUP, QUIT, KILL'),
        timeout: z
          .number()
          .max(MAX_WAIT_SEC)
          .default(5)
          .describe(`Seconds to wait after the signal before SIGKILL (at most ${MAX_WAIT_SEC})`),
        force: z.boolean().default(false).describe('SIGKILL at once'),
      },
    },
    guarded('stop_process', session.closed, async (a) => {
      const refs = a.ids ?? [];
      if (a.all ? refs.length > 0 : refs.length === 0)
        throw new BgError(
          'USAGE',
          a.all
            ? 'all takes no ids.'
            : 'give the process IDs or names in ids (list_processes shows them), or all: true.',
        );
      durationSec([], 'timeout', a.timeout, true);
      const sig = a.force ? 'SIGKILL' : `SIG${a.signal.toUpperCase().replace(/^SIG/, '')}`;
      if (signalNumber(sig) === undefined)
        throw new BgError(
          'USAGE',
          `unknown signal "${oneLine(a.signal)}". Use a name like TERM, INT, HUP, QUIT or KILL.`,
        );
      const ctx = session.context();
      const doc = ctx.store.read();
      const targets = a.all
        ? doc.processes.filter((p) => isLive(p) || liveLeftovers(p).length > 0)
        : [...new Map(resolveAll(doc, refs, 'stopped').map((p) => [p.id, p])).values()];
      const outcomes = await Promise.allSettled(
        targets.map((rec) => stopProcess(ctx, rec, sig as NodeJS.Signals, a.force ? 0 : Math.round(a.timeout * 1000))),
      );
      const stopped: { id: string; text: string; note?: string }[] = [];
      const failed: { id: string; code: string; exitCode: number; message: string }[] = [];
      outcomes.forEach((o, i) => {
        const id = targets[i]!.id;
        if (o.status === 'fulfilled')
          stopped.push({
            id,
            text: describeStop(targets[i]!, o.value, sig, a.timeout),
            ...(!o.value.already && o.value.note ? { note: o.value.note } : {}),
          });
        else {
          const err =
            o.reason instanceof BgError
              ? o.reason
              : new BgError('SUPERVISOR', String((o.reason as Error)?.message ?? o.reason));
          failed.push({ id, code: err.code, exitCode: err.exitCode, message: shownMessage(err.message) });
        }
      });
      changed();
      const text =
        [...stopped.map((s) => s.text), ...failed.map((f) => `stop_process: error: ${f.id}: ${f.message}`)].join(
          '\n',
        ) || 'No running processes to stop.';
      return {
        ...ok(text, { stopped, failed, exitCode: failed[0]?.exitCode ?? EXIT.OK }),
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
        `Use it for builds and jobs that end by themselves. Returns {id, ended, status, exitStatus}. Default timeout 30 s, at most ${MAX_WAIT_SEC}; most hosts give up on a call after 60 s.`,
      inputSchema: {
        id: z.string().describe('Process ID, unique ID prefix, or name'),
        timeout: z.number().max(MAX_WAIT_SEC).default(30).describe('Give up after this many seconds'),
      },
    },
    guarded('wait_process', session.closed, async (a, signal) => {
      durationSec([], 'timeout', a.timeout, true);
      const ctx = session.context();
      const id = resolveProcess(ctx.store.read(), a.id).id;
      const current = () => findRecord(ctx.store.read(), id);
      const done = await waitFor(() => signal.aborted || !current() || !isLive(current()!), a.timeout * 1000, 100);
      const rec = current();
      if (!rec) throw new BgError('NOT_FOUND', `process ${id} was removed while waiting.`);
      const st = liveStatus(rec);
      const ended = done && !isLive(rec);
      const exitCode = ended ? (st.exitStatus ?? EXIT_UNKNOWN) : EXIT_TIMEOUT;
      const text = ended
        ? `Process ${id} ended: ${st.label}`
        : `Process ${id} is still ${st.label} after ${a.timeout} s.`;
      return ok(text, { id, ended, status: st.status, label: st.label, exitStatus: st.exitStatus ?? null, exitCode });
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
      const refs = a.ids ?? [];
      if (a.exited ? refs.length > 0 : refs.length === 0)
        throw new BgError(
          'USAGE',
          a.exited
            ? 'exited takes no ids.'
            : 'give the process IDs or names to remove in ids (list_processes shows them), or exited: true.',
        );
      const ctx = session.context();
      const doc = ctx.store.read();
      const targets = a.exited
        ? doc.processes.filter((p) => !isLive(p) && liveStatus(p).status !== 'unverified')
        : [...new Map(resolveAll(doc, refs, 'removed').map((p) => [p.id, p])).values()];
      const notes: string[] = [];
      const removed = await removeTargets(ctx, targets, { exited: a.exited, force: a.force }, (n) => notes.push(n));
      changed();
      return ok(
        [...(removed.length ? removed : ['Nothing to remove.']), ...notes.map((n) => `note: ${n}`)].join('\n'),
        { removed, notes },
      );
    }),
  );
}
