// The supervisor's output path: what the child prints is batched briefly (few, large records
// under load) and appended to the encrypted log, on the supervisor's own thread while output
// is light and, under a PTY, on a log thread (logsink.ts) during a burst, with back-pressure
// on the child (its output is paused) when batches pile up, so memory stays bounded.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { StreamName } from '../format/logfile.ts';
import {
  FLUSH_BYTES,
  FLUSH_DELAY_MS,
  LogAppender,
  ThreadSink,
  noteGarbage,
  type Dropped,
  type Lost,
  type Segment,
  type SinkState,
} from './logsink.ts';

/**
 * Output held, at most, should pausing fail to hold it back; beyond it, output is counted as
 * lost (and said). Pausing starts at HIGH_WATER, also while the log is being set up: a bench
 * run lost 2 MiB that arrived while the state lock was contended, when this was the only guard.
 */
const MAX_HELD_BYTES = 16 << 20;
/** Output waiting to be written beyond this pauses the child's output; below LOW it resumes. */
const HIGH_WATER = 4 << 20;
const LOW_WATER = 1 << 20;
/** A log thread with nothing to write for this long is ended (it costs about 8 MB). */
const THREAD_IDLE_MS = 3000;

export interface OutputSource {
  pause(): void;
  resume(): void;
}

export class OutputLog {
  private segments: { stream: StreamName; chunks: Buffer[] }[] = [];
  private pending = 0;
  private timer: NodeJS.Timeout | undefined;
  private held: Lost = { bytes: 0, chunks: 0, reason: '' }; // lost beyond MAX_HELD_BYTES, not yet told to an appender
  private inline: LogAppender | undefined;
  private thread: ThreadSink | undefined;
  private threadState: SinkState | undefined; // what the thread was given, drops updated
  private switching: Promise<void> | undefined; // thread -> inline under way
  private threadIdle: NodeJS.Timeout | undefined;
  private threadsOff = false; // a log thread failed once: stay on this thread
  private source: OutputSource | undefined;
  private holds = 0; // hold(): the source stays paused whatever the back-pressure
  paused = false;
  /** Sees every chunk as it is pushed (the supervisor's viewers); unset, it costs one check. */
  tap: ((stream: StreamName, chunk: Buffer) => void) | undefined;

  /**
   * `threadScript`: the log thread's bundle (none: never use one). `onDropped`: the size cap
   * dropped old output; the totals so far.
   */
  constructor(
    private readonly threadScript: URL | undefined,
    private readonly onDropped: (totals: Dropped) => void,
  ) {
    if (threadScript && !fs.existsSync(fileURLToPath(threadScript))) this.threadsOff = true;
  }

  /** The log is ready: output goes to it from now on (held output first). */
  open(state: SinkState): void {
    this.inline = new LogAppender(state);
    this.passOnLost();
  }

  private passOnLost(): void {
    if (!this.inline || this.held.bytes === 0) return;
    this.inline.addLost(this.held.bytes, this.held.chunks, 'output arrived faster than it could be written');
    this.held = { bytes: 0, chunks: 0, reason: '' };
  }

  /** Append at once, before anything held (the log's first record): only right after open(). */
  appendNow(stream: StreamName, data: Buffer): void {
    this.inline!.write([{ stream, data, time: Date.now() }]);
  }

  /** Where pauses go: the current run's output streams (none between runs). */
  setSource(source: OutputSource | undefined): void {
    if (this.paused || this.holds) this.source?.resume();
    this.paused = false;
    this.source = source;
    if (this.holds) source?.pause();
    this.pressure();
  }

  push(stream: StreamName, chunk: Buffer): void {
    this.tap?.(stream, chunk);
    if (this.pending >= MAX_HELD_BYTES) {
      this.held.bytes += chunk.length; // bounded, and said in the log
      this.held.chunks++;
      this.passOnLost();
      return;
    }
    const last = this.segments[this.segments.length - 1];
    if (last && last.stream === stream) last.chunks.push(chunk);
    else this.segments.push({ stream, chunks: [chunk] });
    this.pending += chunk.length;
    if (this.pending >= FLUSH_BYTES) this.flush(true);
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_DELAY_MS);
    this.pressure();
  }

  event(text: string): void {
    this.push('event', Buffer.from(text, 'utf8'));
    this.flush();
  }

  /** Write what is held. `burst`: the batch filled up at once, so a log thread may pay off. */
  flush(burst = false): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.inline && !this.thread) return; // held until the log exists
    if (this.switching) return void this.switching.then(() => this.flush());
    if (this.segments.length === 0) return this.pressure(); // a paused child may go on now
    const time = Date.now();
    const toThread = this.thread?.opened || (this.thread?.ready && this.handOver());
    const segs: Segment[] = this.segments.map((s) => ({
      stream: s.stream,
      data: toThread ? this.threadBuffer(s.chunks) : joined(s.chunks),
      time,
    }));
    this.segments = [];
    this.pending = 0;
    if (toThread) {
      noteGarbage(segs.reduce((n, s) => n + s.data.length, 0)); // the read buffers, joined here
      this.thread!.write(segs);
      this.armThreadIdle();
    } else {
      if (this.inline!.write(segs)) this.onDropped(this.inline!.dropped);
      if (burst && !this.thread && !this.threadsOff && this.threadScript) this.startThread();
    }
    this.pressure();
  }

  // The batch copied into a buffer the log thread can take over (and give back).
  private threadBuffer(chunks: Buffer[]): Uint8Array {
    const out = this.thread!.buffer(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  private startThread(): void {
    try {
      this.thread = new ThreadSink(this.threadScript!, {
        written: (dropped) => {
          if (dropped) {
            this.threadState!.dropped = dropped;
            this.onDropped(dropped);
          }
          this.pressure();
        },
        failed: (message) => this.threadFailed(message),
      });
    } catch {
      this.threadsOff = true; // no thread to be had (ERR_WORKER_INIT_FAILED): this one writes
      return;
    }
    this.armThreadIdle();
  }

  // The thread is ready and output keeps coming: close the log here and open it there.
  private handOver(): boolean {
    this.threadState = this.inline!.close();
    this.inline = undefined;
    this.thread!.open(this.threadState);
    return true;
  }

  private armThreadIdle(): void {
    clearTimeout(this.threadIdle);
    this.threadIdle = setTimeout(() => void this.toInline(), THREAD_IDLE_MS);
    this.threadIdle.unref();
  }

  // Back to this thread: the log thread closes the log and hands back where it stopped.
  private toInline(failure?: string): Promise<void> {
    clearTimeout(this.threadIdle);
    const t = this.thread;
    if (!t || this.switching) return this.switching ?? Promise.resolve();
    this.switching = (async () => {
      const inflight = t.inflight;
      const state = t.opened
        ? ((await t.close()) ?? this.afterFailure(this.threadState!, inflight, failure ?? t.failed))
        : undefined;
      if (!t.opened) await t.close();
      this.thread = undefined;
      if (state) this.inline = new LogAppender(state);
      this.passOnLost();
    })()
      .catch((err) => {
        // Not expected (the appender opens its log on first use); should it happen, this
        // thread writes on without a thread, and the batches the thread had are said lost.
        this.threadsOff = true;
        this.thread = undefined;
        this.inline ??= new LogAppender(
          this.afterFailure(this.threadState!, t.inflight, String((err as Error)?.message ?? err)),
        );
      })
      .finally(() => {
        this.switching = undefined;
        this.flush();
      });
    return this.switching;
  }

  // What was handed to a failed thread may or may not be in the log: counted as lost, and said.
  private afterFailure(state: SinkState, inflight: number, why: string | undefined): SinkState {
    const lost = {
      bytes: state.lost.bytes + inflight,
      chunks: state.lost.chunks + (inflight ? 1 : 0),
      reason: `the log thread failed (${why ?? 'unknown'}); up to this much may be missing`,
    };
    return { ...state, lost };
  }

  private threadFailed(message: string): void {
    this.threadsOff = true;
    if (!this.switching) void this.toInline(message);
  }

  private pressure(): void {
    const waiting = this.pending + (this.thread?.inflight ?? 0);
    if (!this.paused && waiting > HIGH_WATER && this.source) {
      this.paused = true;
      this.source.pause();
    } else if (this.paused && waiting < LOW_WATER) {
      this.paused = false;
      if (!this.holds) this.source?.resume();
    }
  }

  /**
   * Stop reading the child's output until the returned function is called: with settle(), a
   * point in the log that no output after it precedes (a viewer's start).
   */
  hold(): () => void {
    if (this.holds++ === 0 && !this.paused) this.source?.pause();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.holds === 0 && !this.paused) this.source?.resume();
    };
  }

  /**
   * Everything so far written and on disk (the end of a run is recorded after this). Returns
   * the seq the next record will have, as the writer knows it (undefined if unknown).
   */
  async settle(): Promise<number | undefined> {
    this.flush();
    await this.switching;
    let next = this.thread?.opened ? await this.thread.sync() : undefined;
    // A thread that failed meanwhile is handing back: its loss is said by the appender here.
    await this.switching;
    if (!this.thread?.opened) {
      this.inline?.sync();
      next = this.inline?.nextSeq;
    }
    return next;
  }

  /** Written, on disk and closed; a log thread ended. */
  async close(): Promise<void> {
    await this.settle();
    clearTimeout(this.threadIdle);
    if (this.thread) await this.toInline();
    this.inline?.close();
    this.inline = undefined;
  }
}

function joined(chunks: Buffer[]): Buffer {
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}
