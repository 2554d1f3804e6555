// The event log over MCP (issue 26, part 2). get_events: the events after a cursor (a seq), for
// an agent that polls; the resource bg://events: the recent events, which a client may
// subscribe to. While one is subscribed, the server watches the data dir folder (as
// watch_processes does) and sends each new event as a notifications/message (logger
// "background-manager.events", data: the event as watch_processes --json prints it) and a
// notifications/resources/updated for bg://events. Best effort: hosts may drop both (Claude
// Code and Codex do not wake the model on them today); get_events is the dependable way.
import fs from 'node:fs';
import { z } from 'zod';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { EventReader, lastEventSeq, readEvents, type BgEvent } from '../store/events.ts';
import { resolveAll } from '../process/resolve.ts';
import { checkWatch, inScope, plainLine, scopeOf, WATCH_KINDS } from '../ops/watch.ts';
import { EventRedactor } from '../ops/event-redact.ts';
import { linearRegex } from '../util/linear-regex.ts';
import type { FrontEnd } from '../ops/checks.ts';
import { TOOL_HINTS } from './hints.ts';
import { guarded, ok } from './result.ts';
import type { Session } from './session.ts';

export const EVENTS_URI = 'bg://events';
/** Events a get_events answer (and the resource) holds unless asked. */
const DEFAULT_EVENTS = 50;
const MAX_EVENTS = 500;
/** New events are sent at most this often (a flood comes as one batch of messages). */
const SEND_EVERY_MS = 100;

const MCP: FrontEnd = { style: 'field', regex: linearRegex, hints: TOOL_HINTS };
const STORED_KINDS = WATCH_KINDS.filter((k) => k !== 'output');

/** The subscription side: one folder watch while any client subscribes. */
export class EventFeed {
  private watcher: fs.FSWatcher | undefined;
  private reader: EventReader | undefined;
  private timer: NodeJS.Timeout | undefined;
  private hide: EventRedactor | undefined;

  constructor(
    private readonly session: Session,
    private readonly send: (ev: BgEvent) => void,
  ) {}

  subscribe(): void {
    if (this.watcher) return;
    const ctx = this.session.context();
    if (!ctx.unlocked) {
      // Nothing stored yet: no key to read events with. Looked at again on the next subscribe.
      fs.mkdirSync(ctx.dataDir, { recursive: true, mode: 0o700 });
    }
    this.reader = ctx.unlocked ? new EventReader(ctx.dataDir, ctx.unlocked.keys, lastEventSeq(ctx.dataDir)) : undefined;
    // Secrets hidden as get_logs hides them (ops/event-redact.ts); get_logs reveal shows the output.
    this.hide = new EventRedactor(() => this.session.context().store.read().processes);
    this.watcher = fs.watch(ctx.dataDir, (_e, name) => {
      if (!name || String(name).startsWith('events.enc')) this.changed();
    });
  }

  unsubscribe(): void {
    this.close();
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private changed(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      if (!this.watcher) return;
      try {
        if (!this.reader) {
          const ctx = this.session.context();
          if (!ctx.unlocked) return;
          this.reader = new EventReader(ctx.dataDir, ctx.unlocked.keys, 0);
        }
        for (const ev of this.reader.poll().events) this.send(this.hide ? this.hide.event(ev) : ev);
      } catch {
        /* best effort: the next change tries again */
      }
    }, SEND_EVERY_MS);
  }
}

export function registerEvents(server: McpServer, session: Session): EventFeed {
  server.registerTool(
    'get_events',
    {
      title: 'Events since a cursor',
      description:
        'What happened to the background processes, oldest first: started, ready (the line or port), port-opened/closed, waiting-input (the prompt), restarted (why), exited/failed/killed/stopped (status and last error line). ' +
        'Pass the returned next as since on the following call to get only newer events (without since: the latest). Returns {events: [...], next, dropped}. ' +
        'For output lines matching a pattern use get_logs wait_for.',
      inputSchema: {
        since: z.number().int().min(0).optional().describe("Only events after this cursor (a previous answer's next)"),
        processes: z.array(z.string()).optional().describe('Only these processes: IDs, unique ID prefixes, or names'),
        events: z
          .array(z.enum(STORED_KINDS as [string, ...string[]]))
          .optional()
          .describe('Only these kinds of event'),
        limit: z
          .number()
          .int()
          .min(1)
          .max(MAX_EVENTS)
          .default(DEFAULT_EVENTS)
          .describe(`At most this many events (default ${DEFAULT_EVENTS}): the oldest after since, else the latest`),
      },
    },
    guarded('get_events', session.closed, async (a) => {
      const w = checkWatch({ refs: a.processes ?? [], events: a.events }, MCP);
      const ctx = session.context();
      if (!ctx.unlocked)
        return ok('No events yet: nothing was ever started here.', { events: [], next: 0, dropped: 0 });
      const doc = ctx.store.read();
      const scope = scopeOf(resolveAll(doc, w.refs, 'get_events', TOOL_HINTS), w.refs);
      const read = readEvents(ctx.dataDir, ctx.unlocked.keys, a.since ?? 0);
      const wanted = read.events.filter((e) => inScope(scope, e) && w.kinds.has(e.event));
      const hide = new EventRedactor(() => doc.processes);
      const shown = (a.since === undefined ? wanted.slice(-a.limit) : wanted.slice(0, a.limit)).map((e) =>
        hide.event(e),
      );
      // Past what was shown; when the limit cut the answer short, from the last one shown.
      const last = read.events.at(-1)?.seq ?? a.since ?? lastEventSeq(ctx.dataDir);
      const next = a.since !== undefined && shown.length < wanted.length ? shown.at(-1)!.seq : last;
      const dropped = a.since ? read.dropped : 0;
      const lines = shown.map((e) => plainLine(e));
      if (dropped) lines.unshift(`(${dropped} older events were dropped by the event log's size bound)`);
      lines.unshift(...read.damage.map((d) => `(${d})`));
      const text = lines.length ? `${lines.join('\n')}\nnext: ${next}` : `No new events. next: ${next}`;
      return ok(text, { events: shown, next, dropped });
    }),
  );
  server.registerResource(
    'events',
    EVENTS_URI,
    {
      title: 'Process events',
      description: `The last ${DEFAULT_EVENTS} events of the background processes, one line each; subscribe to be sent each new one (best effort).`,
      mimeType: 'text/plain',
    },
    async (uri) => {
      const ctx = session.context();
      const hide = new EventRedactor(() => ctx.store.read().processes);
      const events = ctx.unlocked
        ? readEvents(ctx.dataDir, ctx.unlocked.keys)
            .events.slice(-DEFAULT_EVENTS)
            .map((e) => hide.event(e))
        : [];
      return {
        contents: [{ uri: uri.href, mimeType: 'text/plain', text: events.map((e) => plainLine(e)).join('\n') }],
      };
    },
  );
  return new EventFeed(session, (ev) => {
    if (!server.isConnected()) return;
    server.server
      .sendLoggingMessage({ level: 'info', logger: 'background-manager.events', data: ev })
      .catch(() => undefined);
    server.server.sendResourceUpdated({ uri: EVENTS_URI }).catch(() => undefined);
  });
}
