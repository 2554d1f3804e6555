// get_logs --screen [--cursor] [--attrs] [--json] [--wait-for REGEX]: print a PTY process's
// screen, or wait until it shows something (how an agent waits for a menu or a prompt drawn in
// place).
import { EXIT } from '../../errors.ts';
import { LogSetReader } from '../format/logset.ts';
import { readScreen, screenText, type Screen } from './screen.ts';
import type { SubKeys } from '../../store/crypto.ts';
import type { ProcessRecord } from '../../store/state.ts';
import { redactRows, type Redactor } from '../../util/redact.ts';

export interface ScreenOptions {
  activeFile: string;
  keys: SubKeys;
  rec: ProcessRecord;
  cursor: boolean;
  /** Mark reverse video, bold, underline and colours (screen-attrs.ts); JSON: "spans". */
  attrs?: boolean;
  json: boolean;
  waitFor?: RegExp;
  waitForText?: string;
  timeoutSec?: number;
  running: () => boolean; // the process still runs (read afresh on each call)
  write: (text: string) => void;
  /** Secrets hidden in the rows shown and matched; undefined with --reveal. */
  redact?: Redactor;
  /** The screen printed, as it is (the MCP tool answers from it). */
  shown?: (s: Screen) => void;
}

const POLL_MS = 200;

async function render(o: ScreenOptions): Promise<{ screen: Screen; damaged: boolean }> {
  const reader = new LogSetReader(o.activeFile, o.keys, o.rec.id);
  const read = await readScreen(reader, o.attrs, o.rec.ptySize);
  const screen = o.redact ? redactScreen(o.redact, read) : read;
  let damaged = false;
  for (const issue of reader.issues) {
    if (issue.kind === 'torn-tail') continue; // a record being written, or cut by a crash: skipped
    damaged = true;
    process.stderr.write(`get_logs: warning: ${issue.message}\n`);
  }
  return { screen, damaged };
}

function print(o: ScreenOptions, s: Screen): void {
  o.shown?.(s);
  const spans = s.attrs ? { spans: s.attrs.spans } : {};
  if (o.json) o.write(`${JSON.stringify({ rows: s.rows, cursor: s.cursor, size: s.size, ...spans })}\n`);
  else o.write(screenText(s, o.cursor));
}

/** The screen of a PTY process (the caller has checked it has one: ops/logs.ts checkScreenable). */
export async function showScreen(o: ScreenOptions): Promise<number> {
  if (!o.waitFor) {
    const { screen, damaged } = await render(o);
    print(o, screen);
    return damaged ? EXIT.DAMAGED : EXIT.OK;
  }
  // Rows are matched as one text, a row a line: ^ and $ match at row starts and ends. With
  // --attrs the rows as shown, marks and all: what the caller reads is what it can wait for.
  // The pattern's own flags stay (the MCP server's are the linear-time engine's `l`).
  const re = new RegExp(o.waitFor.source, o.waitFor.flags.includes('m') ? o.waitFor.flags : `${o.waitFor.flags}m`);
  const deadline = o.timeoutSec === undefined ? Infinity : Date.now() + o.timeoutSec * 1000;
  for (;;) {
    const ended = !o.running(); // read before the screen: output up to the end is then in it
    const { screen, damaged } = await render(o);
    if (re.test((screen.attrs?.marked ?? screen.rows).join('\n'))) {
      print(o, screen);
      return damaged ? EXIT.DAMAGED : EXIT.OK;
    }
    const timedOut = Date.now() >= deadline;
    if (ended || timedOut) {
      const why = screenMissed(ended, o.waitForText, o.timeoutSec);
      process.stderr.write(`get_logs: ${why}; the screen as it stands:\n`);
      print(o, screen);
      return ended ? EXIT.NOT_RUNNING : EXIT.FAILED;
    }
    await new Promise((r) => setTimeout(r, Math.min(POLL_MS, Math.max(0, deadline - Date.now()))));
  }
}

/** `s` with secrets hidden in its rows (and in the rows --attrs marks; its spans' text too). */
export function redactScreen(r: Redactor, s: Screen): Screen {
  const rows = redactRows(r, s.rows, s.wrapped);
  if (!s.attrs) return { ...s, rows };
  const marked = redactRows(r, s.attrs.marked, s.wrapped);
  const spans = s.attrs.spans.map((sp) => ('text' in sp ? { ...sp, text: r.text(String(sp.text), 'screen') } : sp));
  return { ...s, rows, attrs: { ...s.attrs, marked, spans } };
}

/** Why a wait for the screen gave up (the process ended, or the timeout passed), as get_logs says it. */
export function screenMissed(ended: boolean, pattern: string | undefined, timeoutSec: number | undefined): string {
  return ended
    ? `the process ended before its screen matched /${pattern}/`
    : `the screen did not match /${pattern}/ within ${timeoutSec} s`;
}
