// Events as agents read them (issue 27 across issue 26's event stream): watch_processes, MCP
// get_events and its notifications, and the page's events show each secret as
// [REDACTED:kind], as get_logs does: gitleaks' rules and the values the process was given as
// secrets (util/redact.ts). The supervisor stores an event's text as it is (the event log is
// encrypted); it is hidden here, at read time, so that --reveal can show it.
import type { ProcessRecord } from '../store/state.ts';
import { type Redactor, recordRedactor } from '../util/redact.ts';

/** The text fields of an event an agent reads. */
interface Texts {
  id: string;
  text?: string;
  line?: string;
}

/** Hides secrets in events; one redactor per process, made when its first event is read. */
export class EventRedactor {
  private readonly byId = new Map<string, Redactor>();
  private fields = 0;

  /** `records`: the processes now (read again only for an event of a process not seen yet). */
  constructor(private readonly records: () => readonly ProcessRecord[]) {}

  /** The redactor for process `id`'s text (the rules alone for a process removed since). */
  of(id: string): Redactor {
    let r = this.byId.get(id);
    if (!r) {
      const rec = this.records().find((p) => p.id === id);
      r = recordRedactor(rec);
      this.byId.set(id, r);
    }
    return r;
  }

  /** `ev` with its text and line hidden (a new object; the same one when nothing was hidden). */
  event<T extends Texts>(ev: T): T {
    const r = this.of(ev.id);
    // Each field read alone (its own key): a private key's BEGIN cut off from its END (an event's
    // text is cut to 400 characters) hides to the field's end, not the events after it.
    const text = ev.text === undefined ? undefined : r.text(ev.text, `event:${this.fields++}`);
    const line = ev.line === undefined ? undefined : r.text(ev.line, `event:${this.fields++}`);
    if (text === ev.text && line === ev.line) return ev;
    return { ...ev, ...(text === undefined ? {} : { text }), ...(line === undefined ? {} : { line }) };
  }
}
