// Input of any size for send_input, read from a file or standard input and never from argv
// (one argument holds at most 128 KiB on Linux, and argv is readable by every local user in
// /proc/*/cmdline). It is cut into pieces of about 1 MiB, each sent as its own request, so
// neither send_input nor the supervisor holds the whole input at once.
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { BgError } from '../errors.ts';
import { oneLine } from '../util/format.ts';

export const INPUT_PIECE = 1 << 20;

/** A readable stream of the named input, opened now so that a bad path fails before anything is sent. */
export function openInput(file: string | undefined, stdin: { isTTY?: boolean } = process.stdin): Readable {
  if (file === undefined) {
    if (stdin.isTTY) {
      throw new BgError(
        'USAGE',
        'standard input is a terminal, not the input to send: pipe it in (send_input.ts ID - < FILE) or give --file FILE.',
      );
    }
    return process.stdin;
  }
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new BgError(
      'USAGE',
      `--file ${oneLine(file)} cannot be read (${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code}). Give a readable file.`,
      { cause: err },
    );
  }
  if (fs.fstatSync(fd).isDirectory()) {
    fs.closeSync(fd);
    throw new BgError('USAGE', `--file ${oneLine(file)} is a folder. Give a file.`);
  }
  return fs.createReadStream('', { fd, highWaterMark: INPUT_PIECE });
}

/**
 * The input in pieces of about `size` bytes, `suffix` after the last: the bytes that follow the
 * input, told the input's last byte (undefined: it was empty), as whether Enter follows depends
 * on it (ops/send.ts suffixOf). A piece ends after a line end where one is near its end, so that a terminal in
 * line mode gets no line cut in two between pieces (it keeps at most 4095 bytes of one line).
 */
export async function* inputPieces(
  src: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
  suffix: (lastByte: number | undefined) => Buffer,
  size = INPUT_PIECE,
): AsyncGenerator<Buffer> {
  let held: Buffer[] = [];
  let heldBytes = 0;
  let lastByte: number | undefined;
  for await (const chunk of src) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (buf.length) lastByte = buf[buf.length - 1];
    held.push(buf);
    heldBytes += buf.length;
    while (heldBytes >= size) {
      const all = held.length === 1 ? held[0]! : Buffer.concat(held);
      let cut = size;
      const nl = all.lastIndexOf(0x0a, size - 1);
      if (nl >= size / 2) cut = nl + 1;
      yield all.subarray(0, cut);
      const rest = all.subarray(cut);
      held = rest.length ? [rest] : [];
      heldBytes = rest.length;
    }
  }
  const last = Buffer.concat([...held, suffix(lastByte)]);
  if (last.length) yield last;
}
