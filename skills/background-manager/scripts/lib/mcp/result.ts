// What an MCP tool answers: a short text for the model plus the same facts as structured
// content, and errors as tool errors (isError) carrying the scripts' messages, BgError codes
// and exit codes. Answers are bounded here, so that one call cannot flood a model's context.
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { BgError, EXIT } from '../errors.ts';
import { lineText, trimLine, type Line } from '../log/read/lines.ts';
import type { Redactor } from '../util/redact.ts';
import { shownMessage } from '../util/format.ts';

/** The longest any tool waits (seconds): hosts give up on a call long before. */
export { MCP_MAX_WAIT_SEC as MAX_WAIT_SEC } from '../ops/defaults.ts';

/** Lines a log answer holds unless the call asks for fewer or more (up to MAX_LINES). */
export const MCP_DEFAULT_LINES = 100;
export const MAX_LINES = 1000;
/** Bytes of log text one answer holds at most, whatever the line count. */
export const MAX_TEXT_BYTES = 24 * 1024;
/** A single line longer than this is cut (a minified bundle, a progress bar never ended). */
export const MAX_LINE_CHARS = 2000;

export function ok(text: string, structured: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text }], structuredContent: structured };
}

/** A failed call: the line a script would print on stderr, and its code and exit code. */
export function failed(tool: string, err: unknown): CallToolResult {
  const e = err instanceof BgError ? err : undefined;
  const message = shownMessage(e ? e.message : `internal error: ${(err as Error)?.message ?? String(err)}`);
  const exitCode = e ? e.exitCode : EXIT.FAILED;
  return {
    content: [{ type: 'text', text: `${tool}: error: ${message}` }],
    structuredContent: { error: { code: e?.code ?? 'INTERNAL', exitCode, message } },
    isError: true,
  };
}

/** A failure that is an answer, not a fault (a wait that timed out): its text and exit code. */
export function notMet(
  tool: string,
  message: string,
  exitCode: number,
  structured: Record<string, unknown>,
): CallToolResult {
  return {
    content: [{ type: 'text', text: `${tool}: ${message}` }],
    structuredContent: { ...structured, exitCode, message },
    isError: true,
  };
}

/** Run a tool's body; a thrown error becomes a tool error with the script's message. */
export function guarded<A>(
  tool: string,
  closed: AbortSignal,
  body: (args: A, signal: AbortSignal) => Promise<CallToolResult>,
) {
  return async (args: A, extra: { signal: AbortSignal }): Promise<CallToolResult> => {
    try {
      // Waits end when the call is cancelled or when the client has gone.
      return await body(args, AbortSignal.any([extra.signal, closed]));
    } catch (err) {
      if (!(err instanceof BgError))
        process.stderr.write(`mcp_server: internal error in ${tool}: ${(err as Error)?.stack ?? String(err)}\n`);
      return failed(tool, err);
    }
  };
}

export interface ShownLine {
  time: string;
  stream: string;
  text: string;
  partial?: true;
  /** A row of the alternate screen (a full-screen program), not a line of the log. */
  screen?: { row: number };
  /** grep's context: a line shown for a match near it (context_before, context_after). */
  context?: true;
  /** The "--" between groups of grep's context that are not adjacent (no time or stream). */
  separator?: true;
}

/**
 * Bytes of one line an answer holds while reading it (LineAssembler's keepBytes): the rest is
 * counted, not kept, so a 60 MB line costs no more than a short one. Enough for MAX_LINE_CHARS
 * characters after rendering in all but heavily redrawn lines.
 */
export const KEEP_LINE_BYTES = 64 * 1024;

/** One log line as the model reads it: rendered text, cut at MAX_LINE_CHARS. */
export function shownLine(line: Line, redact?: Redactor): ShownLine {
  const l = trimLine(line, KEEP_LINE_BYTES); // read up to MATCH_BYTES, for a pattern to see
  let text = lineText(l, false, redact);
  const cut =
    text.length > MAX_LINE_CHARS
      ? /[\ud800-\udbff]/.test(text[MAX_LINE_CHARS - 1]!)
        ? MAX_LINE_CHARS - 1
        : MAX_LINE_CHARS
      : text.length;
  // Never between the two halves of an emoji: a lone surrogate is not text (it becomes U+FFFD).
  if (l.more)
    text = `${text.slice(0, cut)}… (the line is ${l.bytes.length + l.more} bytes long; cut after byte ${l.bytes.length} as it was read${cut < text.length ? `, and its text after ${cut} characters` : ''})`;
  else if (cut < text.length) text = `${text.slice(0, cut)}… (${text.length - cut} more characters)`;
  return {
    time: new Date(l.time).toISOString(),
    stream: l.stream,
    text,
    ...(!l.complete && l.stream !== 'input' ? { partial: true as const } : {}),
    ...(l.screen ? { screen: l.screen } : {}),
  };
}

/**
 * The newest of `lines` that fit MAX_TEXT_BYTES (`keep: 'last'`), or the oldest (`keep:
 * 'first'`, for reads that continue where they stop): the kept lines and how many were left out.
 */
export function fitBytes(lines: ShownLine[], keep: 'first' | 'last'): { lines: ShownLine[]; omitted: number } {
  const order = keep === 'last' ? [...lines].reverse() : lines;
  const kept: ShownLine[] = [];
  let bytes = 0;
  for (const l of order) {
    bytes += Buffer.byteLength(l.text) + 1;
    if (bytes > MAX_TEXT_BYTES && kept.length > 0) break;
    kept.push(l);
  }
  return { lines: keep === 'last' ? kept.reverse() : kept, omitted: lines.length - kept.length };
}

/** The lines as text, with the stream named where it is not plain output. */
export function linesText(lines: ShownLine[], labelStreams: boolean): string {
  return lines
    .map((l) => `${labelStreams && l.stream !== 'stdout' && !l.separator ? `[${l.stream}] ` : ''}${l.text}`)
    .join('\n');
}
