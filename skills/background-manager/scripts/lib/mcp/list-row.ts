// What list_processes gives a model of each process: what it acts on (ID, name, status, ports,
// exit status, how it was started), without what only the tool itself uses to find and check
// a process (startTicks, bootId, supervisorPid, supervisorStartTicks, treeMark, logFile, the
// restart claim). The schema is the tool's output schema, and each row is parsed by it, so the
// two cannot drift apart. The scripts' --json keeps every field (ops/list.ts listedJson). The
// log resources (log-resources.ts) give a process's lines only, never its record.
import { z } from 'zod';
import { STATUSES } from '../process/status.ts';
import { type Listed, listedJson } from '../ops/list.ts';

const nullable = <T extends z.ZodType>(t: T) => t.nullable();

export const ROW = z.object({
  id: z.string(),
  name: z.string().optional(),
  command: z.string().describe('The command as given'),
  cwd: z.string(),
  pty: z.boolean(),
  pid: z.number().int(),
  status: z
    .enum(STATUSES as [string, ...string[]])
    .describe('The bare word: running, exited, stopped, failed, lost, ...'),
  label: z.string().describe('The status as the table shows it: exited(0), stopped(SIGTERM)'),
  exitStatus: nullable(z.number().int()).describe('Exit code, or 128 + the signal number; null while it runs'),
  exitCode: nullable(z.number().int()),
  signal: nullable(z.string()),
  startedAt: z.string(),
  endedAt: z.string().optional(),
  ports: z.array(z.number().int()).describe('TCP ports it (or what it left running) listens on'),
  restarts: z.number().int(),
  viewers: z
    .number()
    .int()
    .optional()
    .describe('People attached to its terminal now (attach_process, the page): they may type too'),
  restart: z.object({ mode: z.enum(['no', 'on-failure', 'always']), max: z.number().int() }).optional(),
  restartingAt: z.string().optional(),
  gaveUp: z.boolean().optional(),
  lastExit: z.object({ exitCode: nullable(z.number().int()), signal: nullable(z.string()), at: z.string() }).optional(),
  timeoutSec: z.number().optional(),
  ready: z
    .object({ pattern: z.string().optional(), port: z.number().int().optional(), timeoutSec: z.number() })
    .optional(),
  stopRequest: z
    .object({
      signal: z.string(),
      at: z.string(),
      reason: z.enum(['stop', 'timeout', 'replace', 'restart', 'remove']).optional(),
    })
    .optional(),
  leftovers: z
    .array(z.object({ pid: z.number().int(), name: z.string() }))
    .optional()
    .describe('Background jobs it left running that still run (stop_process ends them)'),
  maxLogSize: z.number().int().optional(),
  logDropped: z.object({ bytes: z.number(), records: z.number() }).optional(),
  envKeys: z.array(z.string()).describe('Names of the env variables it was given (values are not shown)'),
  legacy: z.boolean(),
  provenance: nullable(
    z.object({
      folder: z.string().describe("The caller's folder (an MCP client's first root)"),
      git: nullable(
        z.object({
          worktree: z.string(),
          branch: nullable(z.string()).describe('null: a detached HEAD; "unknown": unreadable'),
          commit: z.string().describe('"unknown": unreadable'),
        }),
      ).describe('null: not inside a git worktree'),
    }),
  ).describe('Where it was started from; null for a process started before this was recorded'),
  stale: nullable(z.boolean()).describe(
    'true: it runs, and its worktree has moved to another commit since it started (restart it to run the new code); null: not known or not running',
  ),
  waitingForInput: nullable(z.boolean()).describe(
    'Waits for input now, as the kernel shows it (a read on its terminal or stdin, quiet 0.3 s); null: cannot tell',
  ),
  waitingSince: z.string().optional().describe('When waitingForInput last changed'),
});

export type Row = z.infer<typeof ROW>;

/**
 * One listed process as a model reads it: parsed by the schema, which keeps its fields only
 * (zod drops the others, nested ones too), and fails loudly on a field that does not fit it.
 */
export function modelRow(l: Listed): Row {
  return ROW.parse({ ...listedJson(l), label: l.s.label });
}
