// send_input: type into a running process (text, keypresses, or end of input).
import { makeParser } from '../cli/cli.ts';
import { openContext, type Context } from '../store/context.ts';
import type { ProcessRecord } from '../store/state.ts';
import { resolveProcess } from '../process/resolve.ts';
import { liveStatus, supervisorAlive } from '../process/status.ts';
import { requestControl, type Request } from '../control/protocol.ts';
import { BgError } from '../errors.ts';
import { inputPieces, openInput } from '../process/input-source.ts';
import { KEY_NAMES, keyBytes, needsCursorMode, readAppCursorMode, splitKeys } from '../process/keys-input.ts';
import { LogSetReader, logFileOf } from '../log/format/logset.ts';
import { oneLine } from '../util/format.ts';

/** The bytes of these keypresses for this process (arrows as its terminal expects them). */
export function keysText(ctx: Context, rec: ProcessRecord, keys: string[]): string {
  const keyMode = { pty: rec.pty, appCursor: false };
  for (const k of keys) keyBytes(k, keyMode); // a bad name fails before the log is read
  if (rec.pty && needsCursorMode(keys) && ctx.unlocked)
    keyMode.appCursor = readAppCursorMode(new LogSetReader(logFileOf(ctx.dataDir, rec), ctx.unlocked.keys, rec.id));
  return keys.map((k) => keyBytes(k, keyMode)).join('');
}

/**
 * Send `source` then `suffix` to a running process, piece by piece, and close its input when
 * `eof`: the bytes sent. Refused (NOT_RUNNING) unless its supervisor runs (send_input, MCP).
 */
export async function sendInput(
  ctx: Context,
  rec: ProcessRecord,
  source: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
  suffix: Buffer,
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
    const reply = await requestControl(rec.socket!, ctx.unlocked!.keys.control, req, 30_000);
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

export async function main(argv: string[]): Promise<number> {
  const args = await makeParser(
    argv,
    'Usage: $0 <id> <text> [-n]\n       $0 <id> - [-n] < FILE      (standard input: any size, exact bytes)\n       $0 <id> --file PATH [-n]\n       $0 <id> --key NAME [--key NAME...]\n       $0 <id> --eof\n\nWrites to the standard input of a running process. A newline is added to the text\n(pressing Enter) unless -n is given. Long text and secrets: use - or --file, not argv.',
  )
    .option('n', { type: 'boolean', default: false, describe: 'Do not add a newline after the text' })
    .option('key', {
      type: 'string',
      describe: `A keypress (repeatable): ${KEY_NAMES.join(', ')}, ctrl-<letter> (ctrl-c, ctrl-d) or alt-<key> (alt-x)`,
    })
    .option('keys', {
      type: 'string',
      describe: "Several keypresses in one: 'down down enter' (sent after any --key)",
      requiresArg: true,
    })
    .option('file', {
      type: 'string',
      describe: 'Send the bytes of this file (any size; a newline after them unless -n)',
      requiresArg: true,
    })
    .option('eof', { type: 'boolean', default: false, describe: "Close the process's input (end of file)" })
    .example('$0 a1b2 "yes"', 'Answer a prompt')
    .example('$0 a1b2 -n "partial "', 'Type without pressing Enter')
    .example('$0 a1b2 --key ctrl-c', 'Interrupt the foreground program')
    .example("$0 a1b2 --keys 'down down enter'", 'Pick the third entry of a menu')
    .example('$0 a1b2 -n --file big.txt', 'A file, byte for byte')
    .example('printf \'%s\' "$PW" | $0 a1b2 -', 'A secret from standard input, then Enter')
    .example('$0 a1b2 -- -1', 'Text that starts with - goes after --')
    .demandCommand(
      1,
      2,
      'give the process ID and the text to send.',
      'Too many arguments: quote the text as one argument.',
    )
    .parseAsync();
  const [ref, textArg] = args._.map(String);
  const keys = [
    ...([] as unknown[]).concat(args.key ?? []).map(String),
    ...([] as unknown[]).concat(args.keys ?? []).flatMap((k) => splitKeys(String(k))),
  ];
  const fromStdin = textArg === '-';
  if (args.file !== undefined && textArg !== undefined) {
    throw new BgError(
      'USAGE',
      `give the input once: --file ${oneLine(String(args.file))} or ${fromStdin ? '- (standard input)' : 'the text'}, not both.`,
    );
  }
  if (textArg === undefined && args.file === undefined && keys.length === 0 && !args.eof) {
    throw new BgError(
      'USAGE',
      "nothing to send: give <text>, - (standard input), --file PATH, --key NAME, --keys 'NAME NAME' or --eof. Run with --help for usage.",
    );
  }
  const ctx = openContext({ create: false });
  const rec = resolveProcess(ctx.store.read(), ref!);
  // Everything is checked before anything is sent: a bad key name or file sends nothing.
  const keyBytesAll = keysText(ctx, rec, keys);
  const streamed = fromStdin || args.file !== undefined;
  const source = streamed ? openInput(args.file) : undefined;
  const text = streamed || textArg === undefined ? '' : textArg;
  const enter = (streamed || textArg !== undefined) && !args.n ? '\n' : '';
  const suffix = Buffer.from(text + enter + keyBytesAll, 'utf8');
  const bytes = await sendInput(ctx, rec, source ?? [], suffix, args.eof);
  process.stdout.write(
    `Sent ${bytes} byte${bytes === 1 ? '' : 's'} to process ${rec.id}${args.eof ? ' and closed its input' : ''}.\n`,
  );
  return 0;
}
