// The latest output of the current run, kept by reference as it passes to the log (no copy on
// the ingest path), so that an end or a restart event can quote the last line that looks like
// an error.
import type { OutputLog } from '../lib/log/write/outputlog.ts';

/** How much of the latest output is kept for the last error line. */
const TAIL_BYTES = 4096;

/** The latest output chunks, held by reference (no copy on the ingest path). */
export class OutputTail {
  private chunks: Buffer[] = [];
  private bytes = 0;

  add(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.chunks.length > 1 && this.bytes - this.chunks[0]!.length >= TAIL_BYTES)
      this.bytes -= this.chunks.shift()!.length;
  }

  clear(): void {
    this.chunks = [];
    this.bytes = 0;
  }

  /** The last line with something on it (a prompt: the line with no newline yet), escapes taken out. */
  lastLine(): string | undefined {
    const lines = this.lines();
    return lines.at(-1);
  }

  private lines(): string[] {
    const text = Buffer.concat(this.chunks).toString('utf8');
    return stripEscapes(text)
      .split(/\r?\n|\r/)
      .map((l) => l.trim())
      .filter(Boolean);
  }

  /** The last line that looks like an error (escape sequences taken out), if any. */
  lastErrorLine(): string | undefined {
    const lines = this.lines();
    for (let i = lines.length - 1; i >= 0; i--)
      if (ERROR_LOOK.test(lines[i]!) || ERRNO.test(lines[i]!)) return lines[i];
    return undefined;
  }
}

const ERROR_LOOK =
  /\b(error|errors|exception|fatal|panic|panicked|traceback|failed|failure|cannot|can't|denied|refused|not found|segmentation fault|abort(ed)?)\b/i;
/** An errno name (EADDRINUSE, ENOENT): capitals only. */
const ERRNO = /\bE[A-Z]{3,}\b/;

export function stripEscapes(text: string): string {
  // CSI, OSC (BEL or ST ended), other two-byte escapes, and the C0 controls but tab.
  return text
    .replace(/\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]/g, '')
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, '');
}

/** Keep what the child prints (not input or our notes) in `tail` as it passes to the log. */
export function tapOutput(out: OutputLog, tail: OutputTail): void {
  const push = out.push.bind(out);
  out.push = (stream, chunk) => {
    if (stream === 'stdout' || stream === 'stderr') tail.add(chunk);
    push(stream, chunk);
  };
}
