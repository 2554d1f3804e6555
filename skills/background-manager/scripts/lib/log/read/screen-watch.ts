// A line wait's view of a full-screen program (--wait-for on start_process, restart_process and
// get_logs): a curses program draws with cursor moves, so its output read as lines is one
// jumble that never matches. Once the program enters the alternate screen (ESC[?1049h, 1047h,
// 47h), its output from there is replayed through a terminal (screen.ts) as the wait reads it,
// and each row of that screen can match too. Output outside the alternate screen (progress
// bars that only move the cursor) stays lines: it scrolls, a screen does not.
// The emulator is loaded only once a program enters the alternate screen: other waits only
// look for the escape sequence in what they read.
import type { LogRecord } from '../format/logfile.ts';
import type { Line } from './lines.ts';
import { marksOf, REPLAY_CAP } from './screen.ts';
import { newTerminal, parsed, rowsOf, wrappedOf, type XTerm } from './xterm.ts';
import { DEFAULT_SIZE, sizeChange, type ReplayPart, type TermSize } from './term-size.ts';
import { redactRows, type Redactor } from '../../util/redact.ts';

const ALT = Buffer.from('\x1b[?');
/** Written first to a new terminal: the replay may start at a clear after the switch, not at it. */
const ENTER_ALT = '\x1b[?1049h';

export class ScreenWatch {
  private on = false; // inside an alternate-screen session, as the output says
  private parts: ReplayPart[] = []; // output of the session (and size changes) not written to the terminal yet
  private bytes = 0; // in parts
  private term: XTerm | undefined;
  private termRows = DEFAULT_SIZE.rows;
  // The terminal's size as the records fed say (term-size.ts); before any change is fed, the
  // size at the end of the log, or the one before the first change the session meets.
  private known: TermSize;
  private knownFromLog = false;
  private startAt: TermSize;

  constructor(endSize: TermSize = DEFAULT_SIZE) {
    this.known = endSize;
    this.startAt = endSize;
  }

  /** Whether the output read so far left the program in the alternate screen. */
  get showing(): boolean {
    return this.on;
  }

  /** Forget what was fed (before a terminal exists): the output is fed again from an earlier point. */
  restart(): void {
    this.end();
  }

  /** The next record of the log, in order (only a terminal's output counts). */
  feed(rec: LogRecord): void {
    if (rec.stream !== 'stdout') {
      const change = rec.stream === 'event' ? sizeChange(rec) : undefined;
      if (!change) return;
      if (!this.knownFromLog && this.on && !this.term) this.startAt = change.was;
      this.known = change.now;
      this.knownFromLog = true;
      if (this.on) this.parts.push(change.now);
      return;
    }
    const data = rec.data;
    if (!this.on && !data.includes(ALT)) return; // the common case: no switch in it
    let from = 0; // where in `data` this record's part of the session begins
    for (const m of marksOf(data)) {
      if (m.kind === 'alt-on' || (m.kind === 'clear' && this.on && !this.term)) {
        // A session starts (or, before a terminal exists, a clear makes what came before moot).
        if (m.kind === 'alt-on') this.end();
        this.on = true;
        this.parts = [];
        this.bytes = 0;
        this.startAt = this.known;
        from = m.at;
      } else if (m.kind === 'alt-off' && this.on) {
        this.end(); // back on the main screen: lines again
        from = data.length;
      }
    }
    if (!this.on || from >= data.length) return;
    this.parts.push(data.subarray(from));
    this.bytes += data.length - from;
    // Before a terminal exists, what piles up is bounded as --screen bounds its replay.
    while (!this.term && this.bytes > REPLAY_CAP && this.parts.length > 1) {
      const p = this.parts.shift()!;
      if (Buffer.isBuffer(p)) this.bytes -= p.length;
      else this.startAt = p;
    }
  }

  /** The alternate screen's rows as the output read so far leaves them; undefined when it is not showing. */
  async rows(): Promise<string[] | undefined> {
    if (!this.on) return undefined;
    if (!this.term) {
      this.term = newTerminal(this.startAt.cols, this.startAt.rows);
      this.termRows = this.startAt.rows;
      this.term.write(ENTER_ALT);
    }
    const term = this.term;
    const parts = this.parts;
    this.parts = [];
    this.bytes = 0;
    for (const p of parts) {
      if (Buffer.isBuffer(p)) term.write(p);
      else {
        await parsed(term);
        if (this.term !== term) return undefined;
        term.resize(p.cols, p.rows);
        this.termRows = p.rows;
      }
    }
    await parsed(term);
    if (this.term !== term || term.buffer.active.type !== 'alternate') return undefined; // a reset (ESC c) left it
    return rowsOf(term, this.termRows);
  }

  /** The first row that matches `pattern`, as a line of output (screen.row: which row). */
  async match(pattern: RegExp, redact?: Redactor): Promise<Line | undefined> {
    const shown = await this.rows();
    const rows = shown && redact && this.term ? redactRows(redact, shown, wrappedOf(this.term)) : shown;
    const row = rows?.findIndex((r) => r !== '' && pattern.test(r)) ?? -1;
    return row < 0 ? undefined : screenLine(rows![row]!, row);
  }

  private end(): void {
    this.on = false;
    this.parts = [];
    this.bytes = 0;
    this.term?.dispose();
    this.term = undefined;
  }

  dispose(): void {
    this.end();
  }
}

/** A screen row as a line of output (`screen.row`: 0-based). */
export function screenLine(text: string, row: number, time = Date.now()): Line {
  return { stream: 'stdout', time, bytes: Buffer.from(text), complete: true, screen: { row } };
}

/** The non-blank rows of a screen, as lines: a full-screen program's "last lines". */
export function screenLines(rows: string[], time = Date.now()): Line[] {
  return rows.flatMap((r, i) => (r.trim() === '' ? [] : [screenLine(r, i, time)]));
}
