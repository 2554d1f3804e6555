// Output for big reads: lines are batched and written synchronously, so a slow reader of our
// stdout (a pipe) holds us back instead of letting unwritten output pile up in memory.
import fs from 'node:fs';

const pause = new Int32Array(new SharedArrayBuffer(4));

export function writeAllSync(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off, buf.length - off);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        Atomics.wait(pause, 0, 0, 5); // a non-blocking pipe is full: let the reader catch up
        continue;
      }
      if (code === 'EPIPE') return; // the reader is gone (`| head`)
      throw err;
    }
  }
}

export class SyncOut {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Write through at once (following live output) instead of batching. */
  immediate = false;

  constructor(private readonly fd = 1) {}

  write(buf: Buffer): void {
    this.chunks.push(buf);
    this.size += buf.length;
    if (this.immediate || this.size >= 1 << 20) this.flush();
  }

  flush(): void {
    if (this.size === 0) return;
    // Big chunks (a long line's pieces) are written as they are: no copy of a MiB to make.
    const all =
      this.chunks.length === 1 || this.size / this.chunks.length >= 16384 ? this.chunks : [Buffer.concat(this.chunks)];
    this.chunks = [];
    this.size = 0;
    for (const b of all) writeAllSync(this.fd, b);
  }
}
