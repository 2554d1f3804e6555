// Each process's log as an MCP resource, bg://process/<id>/log: its last lines as text, read
// like get_logs. A host may subscribe to one; the server then watches the logs folder with
// inotify (fs.watch, as lib/log/follow.ts does) and sends notifications/resources/updated as
// output arrives, at most one per resource every UPDATE_EVERY_MS.
import fs from 'node:fs';
import path from 'node:path';
import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  ErrorCode,
  McpError,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { BgError } from '../errors.ts';
import { oneLine } from '../util/format.ts';
import { readerOf } from '../log/read/read-modes.ts';
import { logFileOf } from '../log/format/logset.ts';
import { selectLines } from '../log/read/logquery.ts';
import { STREAM_CHOICES } from '../log/read/read-plan.ts';
import { DEFAULT_STREAM } from '../ops/logs.ts';
import { resolveProcess } from '../process/resolve.ts';
import { MCP_DEFAULT_LINES, fitBytes, linesText, shownLine } from './result.ts';
import { recordRedactor } from '../util/redact.ts';
import { shownRecord } from '../ops/list.ts';
import { TOOL_HINTS } from './hints.ts';
import type { Session } from './session.ts';

const UPDATE_EVERY_MS = 100;

export const logUri = (id: string): string => `bg://process/${id}/log`;

function idOf(uri: string): string {
  const m = /^bg:\/\/process\/([^/]+)\/log$/.exec(uri);
  if (!m)
    throw new McpError(ErrorCode.InvalidParams, `unknown resource ${uri}: process logs are bg://process/<id>/log.`);
  return decodeURIComponent(m[1]!);
}

/** The record a log resource names; a BgError (no such process) becomes an MCP error. */
function recordOf(session: Session, uri: string) {
  const ctx = session.context();
  try {
    return { ctx, rec: resolveProcess(ctx.store.read(), idOf(uri), TOOL_HINTS) };
  } catch (err) {
    if (err instanceof BgError) throw new McpError(ErrorCode.InvalidParams, err.message);
    throw err;
  }
}

/** Subscriptions and the one watcher on the logs folder that serves them. */
class LogWatch {
  private readonly subs = new Map<string, string>(); // uri -> its log file's base name
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private watcher: fs.FSWatcher | undefined;

  constructor(private readonly notify: (uri: string) => void) {}

  add(uri: string, logFile: string): void {
    this.subs.set(uri, path.basename(logFile));
    // The folder exists once a process has been started: its log is in it.
    this.watcher ??= fs.watch(path.dirname(logFile), (_event, name) => this.changed(name ? String(name) : undefined));
  }

  remove(uri: string): void {
    this.subs.delete(uri);
    if (this.subs.size === 0) this.close();
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
  }

  // Archived segments start with the active file's name too (logset.ts archivedName).
  private changed(name: string | undefined): void {
    for (const [uri, base] of this.subs) {
      if ((name && !name.startsWith(base)) || this.pending.has(uri)) continue;
      this.pending.set(
        uri,
        setTimeout(() => {
          this.pending.delete(uri);
          if (this.subs.has(uri)) this.notify(uri);
        }, UPDATE_EVERY_MS),
      );
    }
  }
}

/** A resource other than a log that can be subscribed to (bg://events: mcp/events.ts). */
export interface Subscribable {
  subscribe: () => void;
  unsubscribe: () => void;
}

export function registerLogResources(
  server: McpServer,
  session: Session,
  others: Record<string, Subscribable> = {},
): () => void {
  const template = new ResourceTemplate('bg://process/{id}/log', {
    list: async () => ({
      resources: session
        .context()
        .store.read()
        .processes.map((p) => ({
          uri: logUri(p.id),
          name: p.name ?? p.id,
          description: `Output of: ${oneLine(shownRecord(p).command)}`,
          mimeType: 'text/plain',
        })),
    }),
  });
  server.registerResource(
    'process-log',
    template,
    {
      title: 'Process output',
      description: `The last ${MCP_DEFAULT_LINES} lines (at most 24 KiB) a process printed; subscribe to hear when more arrives.`,
      mimeType: 'text/plain',
    },
    async (uri) => {
      const { ctx, rec } = recordOf(session, uri.href);
      if (!ctx.unlocked) throw new McpError(ErrorCode.InternalError, 'key.json is missing.');
      const sel = selectLines(readerOf(ctx, rec, logFileOf(ctx.dataDir, rec)), {
        streams: new Set(STREAM_CHOICES[DEFAULT_STREAM]),
        raw: false,
        lines: MCP_DEFAULT_LINES,
      });
      const red = recordRedactor(rec);
      return {
        contents: [
          {
            uri: uri.href,
            mimeType: 'text/plain',
            // Secrets hidden (util/redact.ts); the get_logs tool's reveal shows them.
            text: linesText(
              fitBytes(
                sel.lines.map((l) => shownLine(l, red)),
                'last',
              ).lines,
              false,
            ),
          },
        ],
      };
    },
  );
  const watch = new LogWatch((uri) => {
    server.server.sendResourceUpdated({ uri }).catch(() => undefined); // the client may be gone
  });
  server.server.setRequestHandler(SubscribeRequestSchema, async (req) => {
    if (Object.hasOwn(others, req.params.uri)) return (others[req.params.uri]!.subscribe(), {});
    const { ctx, rec } = recordOf(session, req.params.uri);
    watch.add(req.params.uri, logFileOf(ctx.dataDir, rec));
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, async (req) => {
    if (Object.hasOwn(others, req.params.uri)) return (others[req.params.uri]!.unsubscribe(), {});
    watch.remove(req.params.uri);
    return {};
  });
  return () => watch.close();
}
