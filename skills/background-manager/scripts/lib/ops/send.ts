// send_input's use case, once for the scripts, the MCP server and the page: text (Enter after
// it unless told, or unless it ends with a line end already), input of any size, keypresses and the end of input, to a running process.
// Everything is checked before anything is sent: a bad key name or file sends nothing.
import { requestControl, type Request } from '../control/protocol.ts';
import { BgError } from '../errors.ts';
import { LogSetReader, logFileOf } from '../log/format/logset.ts';
import { inputPieces } from '../process/input-source.ts';
import { keyBytes, needsCursorMode, readAppCursorMode } from '../process/keys-input.ts';
import { liveStatus, supervisorAlive } from '../process/status.ts';
import type { Context } from '../store/context.ts';
import type { ProcessRecord } from '../store/state.ts';

/** How long one piece of input may take to reach the process. */
const SEND_TIMEOUT_MS = 30_000;

type Source = AsyncIterable<Buffer | string> | Iterable<Buffer | string>;

/** What a caller asks send_input for, in the order it is sent: input, text, Enter, keys; then eof. */
export interface SendRequest {
  /** Input of any size (a file, standard input, the page's keystrokes), opened once all is checked. */
  input?: () => Source;
  /** Text as typed. */
  text?: string;
  /** Press Enter after the input or the text (there is one), unless it ends with a line end already. */
  enter: boolean;
  /** Keypresses by name (enter, up, ctrl-c ...). */
  keys: string[];
  /** Close the process's input after the rest. */
  eof: boolean;
}

/** Refused (USAGE) when a request sends nothing; `what` says, in the front end's words, what to give. */
export function checkSend(req: SendRequest, what: string): SendRequest {
  if (req.input === undefined && req.text === undefined && req.keys.length === 0 && !req.eof)
    throw new BgError('USAGE', `nothing to send: give ${what}.`);
  return req;
}

/** Send a checked request to `rec`: the bytes sent. */
export async function sendTo(ctx: Context, rec: ProcessRecord, req: SendRequest): Promise<number> {
  const keys = keysText(ctx, rec, req.keys);
  return sendInput(ctx, rec, req.input?.() ?? [], (last) => suffixOf(req, keys, last), req.eof);
}

/**
 * What goes after the input (`inputEnd`: its last byte; undefined when empty or none): the
 * text, Enter (after input or text, unless told, and unless they end with a line end already:
 * `<<< 'y'`, a heredoc or a file end with one, and a second Enter would answer the next
 * prompt), the keys' bytes.
 */
export function suffixOf(req: SendRequest, keys: string, inputEnd?: number): Buffer {
  const text = req.text ?? '';
  const endsLine = text ? text.endsWith('\n') : inputEnd === 0x0a;
  const enter = (req.input !== undefined || req.text !== undefined) && req.enter && !endsLine ? '\n' : '';
  return Buffer.from(text + enter + keys, 'utf8');
}

/** What send_input says it did. */
export function sentText(id: string, bytes: number, eof: boolean): string {
  return `Sent ${bytes} byte${bytes === 1 ? '' : 's'} to process ${id}${eof ? ' and closed its input' : ''}.`;
}

/** The bytes of these keypresses for this process (arrows as its terminal expects them). */
export function keysText(ctx: Context, rec: ProcessRecord, keys: string[]): string {
  const keyMode = { pty: rec.pty, appCursor: false };
  for (const k of keys) keyBytes(k, keyMode); // a bad name fails before the log is read
  if (rec.pty && needsCursorMode(keys) && ctx.unlocked)
    keyMode.appCursor = readAppCursorMode(new LogSetReader(logFileOf(ctx.dataDir, rec), ctx.unlocked.keys, rec.id));
  return keys.map((k) => keyBytes(k, keyMode)).join('');
}

/**
 * Send `source` then `suffix` (told the source's last byte) to a running process, piece by piece, and close its input when
 * `eof`: the bytes sent. Refused (NOT_RUNNING) unless its supervisor runs.
 */
export async function sendInput(
  ctx: Context,
  rec: ProcessRecord,
  source: Source,
  suffix: (lastByte: number | undefined) => Buffer,
  eof: boolean,
): Promise<number> {
  const st = liveStatus(rec);
  if (st.status === 'orphaned') {
    throw new BgError(
      'NOT_RUNNING',
      `process ${rec.id} runs on, but its supervisor is gone, so nothing can reach its input (and its output is no longer logged). Stop it with stop_process and start it again.`,
    );
  }
  if (st.status !== 'running' || !rec.socket || !supervisorAlive(rec) || !ctx.unlocked) {
    throw new BgError(
      'NOT_RUNNING',
      `process ${rec.id} is not running (${st.label}); input can only go to a running process.`,
    );
  }
  const send = async (req: Request) => {
    const reply = await requestControl(rec.socket!, ctx.unlocked!.keys.control, req, SEND_TIMEOUT_MS);
    if (!reply.ok) throw new BgError(reply.code, reply.message);
    return reply;
  };
  let bytes = 0;
  try {
    // Piece by piece, in order: each is written to the process before the next is read.
    for await (const piece of inputPieces(source, suffix)) {
      bytes += (await send({ type: 'send-input', data: piece.toString('base64') })).bytes ?? 0;
    }
  } catch (err) {
    if (!(err instanceof BgError) || bytes === 0) throw err;
    throw new BgError(
      err.code,
      `${err.message.replace(/\.$/, '')} (after ${bytes} bytes of the input had been sent).`,
      { cause: err },
    );
  }
  if (eof) await send({ type: 'close-input' });
  return bytes;
}
