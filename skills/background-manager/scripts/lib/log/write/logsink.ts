// Where the supervisor's output batches go: a LogAppender (the capped, encrypted log plus the
// bookkeeping of what could not be written), run on the supervisor's own thread or, for a
// terminal's burst of output, on a worker thread (log-thread.ts), so that encrypting and
// writing never stop the supervisor from reading: a child under a PTY blocks as soon as its
// small terminal buffer is full, so every millisecond spent encrypting on the reading thread
// was a millisecond the child stood still. (Pipes gained about 8% from it, but glibc's heap
// grew with the two threads' turnover to 55-75 MB peaks in 1 run of 3: they stay on one.)
import { Worker } from 'node:worker_threads';
import type { SubKeys } from '../../store/crypto.ts';
import type { StreamName } from '../format/logfile.ts';
import { CappedLogWriter } from '../format/logset.ts';

/** How long output may wait in the supervisor before it is encrypted and appended. */
export const FLUSH_DELAY_MS = 20;
/** Output buffered beyond this is written at once (back-pressure: the read loop waits). */
export const FLUSH_BYTES = 256 << 10;

export interface Segment {
  stream: StreamName;
  data: Uint8Array;
  time: number; // ms since the epoch: when the batch was cut, not when it was written
}

export interface Dropped {
  bytes: number;
  records: number;
}

/** Output that could not be written (disk full), said in the log once it can be. */
export interface Lost {
  bytes: number;
  chunks: number;
  reason: string;
}

/** Everything a LogAppender needs; also what passes between the two threads at a switch. */
export interface SinkState {
  file: string;
  keys: SubKeys;
  procId: string;
  maxBytes: number;
  dropped: Dropped;
  lost: Lost;
  nextSeq?: number; // where the log ends, as the last writer knew it (not read back from disk)
}

/**
 * Every this many bytes of output, a minor garbage collection. Each byte ingested allocates
 * about four (read buffers, the joined batch, ciphertext, record), garbage at once; but V8
 * frees a buffer's memory only when it collects the small object that owns it, which under
 * load came late enough for the supervisor to peak at 79-87 MB. A scavenge (about 0.1 ms)
 * every 4 MiB on the supervisor's thread kept it near 34 MB. The log thread, which makes
 * most of the garbage while it runs, scavenges after every record (256 KiB): at 4 MiB the
 * two threads together peaked at 50-90 MB, at 256 KiB at 37-50 MB, with no loss of speed.
 * `gc` exists because start_process passes --expose-gc (worker threads inherit it).
 */
export const COLLECT_EVERY = 4 << 20;
export const COLLECT_EVERY_ON_THREAD = 256 << 10;
const collectGarbage = (globalThis as { gc?: (o: { type: 'minor' }) => void }).gc;
let sinceCollect = 0; // per thread: each has its own module instance and heap

/** Count bytes this thread allocated for output; a minor collection every `every` bytes. */
export function noteGarbage(bytes: number, every = COLLECT_EVERY): void {
  sinceCollect += bytes;
  if (sinceCollect < every || !collectGarbage) return;
  sinceCollect = 0;
  collectGarbage({ type: 'minor' });
}

/** Appends batches to the capped log; counts what a full disk kept out, and says so after. */
export class LogAppender {
  private writer: CappedLogWriter | undefined; // made on first use: opening may fail (counted)
  private readonly state: SinkState;

  constructor(
    state: SinkState,
    private readonly collectEvery = COLLECT_EVERY,
  ) {
    this.state = { ...state, dropped: { ...state.dropped }, lost: { ...state.lost } };
  }

  /** Append each segment in order; true when the size cap dropped old output meanwhile. */
  write(segs: Segment[]): boolean {
    let droppedNow = false;
    const lost = this.state.lost;
    for (const s of segs) {
      noteGarbage(s.data.length, this.collectEvery);
      // After a failed write (disk full), first say what was lost, then go on.
      if (lost.bytes > 0) {
        const r = this.noteLost(s.time);
        if (r === undefined) {
          this.lose(s.data.length);
          continue;
        }
        droppedNow ||= r;
      }
      const r = this.tryAppend(s.stream, s.data, s.time);
      if (r === undefined) this.lose(s.data.length);
      else droppedNow ||= r;
    }
    return droppedNow;
  }

  /** Output that never reached this appender (held too long): said in the log with the rest. */
  addLost(bytes: number, chunks: number, reason: string): void {
    const lost = this.state.lost;
    lost.bytes += bytes;
    lost.chunks += chunks;
    lost.reason ||= reason;
  }

  get dropped(): Dropped {
    return { ...(this.writer?.dropped ?? this.state.dropped) };
  }

  /** The seq of the next record: the log's end as written (a deleted or cut file does not change it). */
  get nextSeq(): number | undefined {
    return this.writer?.next ?? this.state.nextSeq;
  }

  // The loss so far, said in the log (then forgotten); undefined if that could not be written.
  private noteLost(time = Date.now()): boolean | undefined {
    const lost = this.state.lost;
    const note = `output dropped: ${lost.bytes} bytes in ${lost.chunks} pieces could not be written (${lost.reason})`;
    const r = this.tryAppend('event', Buffer.from(note), time);
    if (r !== undefined) Object.assign(lost, { bytes: 0, chunks: 0, reason: '' });
    return r;
  }

  private lose(bytes: number): void {
    this.state.lost.bytes += bytes;
    this.state.lost.chunks++;
  }

  // undefined: not written (the reason is kept); else whether the cap dropped old output.
  private tryAppend(stream: StreamName, data: Uint8Array, time: number): boolean | undefined {
    try {
      this.writer ??= new CappedLogWriter(
        this.state.file,
        this.state.keys,
        this.state.procId,
        this.state.maxBytes,
        this.state.dropped,
      );
      return this.writer.append(stream, data, time);
    } catch (err) {
      // An errno (ENOSPC) says it all; a wrapped error (a piece that could not be made) says more.
      const code = (err as NodeJS.ErrnoException).code;
      this.state.lost.reason =
        code && /^E[A-Z0-9]+$/.test(code)
          ? code
          : String((err as Error)?.message ?? err).split('\n')[0]! || 'write failed';
      return undefined;
    }
  }

  /** On disk, and a loss not said yet is said now (nothing may follow it: the run's end). */
  sync(): void {
    if (this.state.lost.bytes > 0) this.noteLost();
    try {
      this.writer?.sync();
    } catch {
      /* the records are written; fsync is best effort */
    }
  }

  /** Close the log; what the next appender needs to go on where this one stopped. */
  close(): SinkState {
    const dropped = this.dropped;
    const nextSeq = this.nextSeq;
    this.writer?.close();
    this.writer = undefined;
    return { ...this.state, dropped, ...(nextSeq === undefined ? {} : { nextSeq }) };
  }
}

/** Batch buffers kept for reuse (about what back-pressure lets be in flight), and their size. */
const POOL_MAX = 16;
const POOL_BUFFER = FLUSH_BYTES + (64 << 10); // a batch is cut at FLUSH_BYTES, plus the last read

/** Messages from the supervisor to the log thread, and its answers. */
export type ToThread =
  | { type: 'open'; state: SinkState }
  | { type: 'write'; segs: Segment[]; bytes: number }
  | { type: 'sync' }
  | { type: 'close' };
export type FromThread =
  | { type: 'ready' }
  | { type: 'written'; bytes: number; dropped: Dropped | undefined; buffers: ArrayBuffer[] }
  | { type: 'synced'; nextSeq: number | undefined }
  | { type: 'closed'; state: SinkState | undefined }
  | { type: 'failed'; message: string };

/**
 * The log on a worker thread. It starts empty and says when it is ready; only then does the
 * supervisor close its own writer and open() the log there, so that a thread that cannot
 * start costs nothing. Batches are then handed over (their memory moved, not copied) and
 * written in order; `inflight` counts the bytes not written yet, for back-pressure.
 */
export class ThreadSink {
  ready = false;
  opened = false;
  inflight = 0;
  private readonly pool: ArrayBuffer[] = [];
  failed: string | undefined;
  private readonly worker: Worker;
  private readonly waiting: { type: FromThread['type']; resolve: (m: FromThread) => void }[] = [];

  constructor(
    script: URL,
    private readonly on: { written: (dropped: Dropped | undefined) => void; failed: (message: string) => void },
  ) {
    this.worker = new Worker(script);
    this.worker.on('message', (m: FromThread) => {
      if (m.type === 'ready') this.ready = true;
      else if (m.type === 'written') {
        this.inflight -= m.bytes;
        for (const b of m.buffers) if (this.pool.length < POOL_MAX) this.pool.push(b);
        this.on.written(m.dropped);
      } else if (m.type === 'failed') this.fail(m.message);
      else {
        const ix = this.waiting.findIndex((w) => w.type === m.type);
        if (ix >= 0) this.waiting.splice(ix, 1)[0]!.resolve(m);
      }
    });
    this.worker.on('error', (err) => this.fail(err.message));
    this.worker.on('exit', (code) => this.fail(`the log thread exited (code ${code})`));
  }

  private fail(message: string): void {
    if (this.failed) return;
    this.failed = message;
    for (const w of this.waiting.splice(0)) w.resolve({ type: 'failed', message });
    void this.worker.terminate();
    this.on.failed(message);
  }

  /** Hand the log over: the supervisor's own writer must be closed already. */
  open(state: SinkState): void {
    this.opened = true;
    this.worker.postMessage({ type: 'open', state } satisfies ToThread);
  }

  /**
   * Memory for a batch of `size` bytes, to be filled and handed over with write(). Buffers
   * come back from the thread once written and are used again: allocating a fresh one per
   * batch left glibc's heap tens of MB larger than what was in use.
   */
  buffer(size: number): Uint8Array {
    const ix = this.pool.findIndex((b) => b.byteLength >= size);
    const ab = ix >= 0 ? this.pool.splice(ix, 1)[0]! : new ArrayBuffer(Math.max(size, POOL_BUFFER));
    return new Uint8Array(ab, 0, size);
  }

  /** Each segment's data must be a buffer() (its memory is moved to the thread). */
  write(segs: Segment[]): void {
    const bytes = segs.reduce((n, s) => n + s.data.length, 0);
    this.inflight += bytes;
    this.worker.postMessage(
      { type: 'write', segs, bytes } satisfies ToThread,
      segs.map((s) => s.data.buffer as ArrayBuffer),
    );
  }

  private ask(msg: ToThread, answer: FromThread['type']): Promise<FromThread> {
    if (this.failed) return Promise.resolve({ type: 'failed', message: this.failed });
    return new Promise((resolve) => {
      this.waiting.push({ type: answer, resolve });
      this.worker.postMessage(msg);
    });
  }

  /** Every batch handed over is written, and on disk: the seq of the next record, if known. */
  async sync(): Promise<number | undefined> {
    const m = await this.ask({ type: 'sync' }, 'synced');
    return m.type === 'synced' ? m.nextSeq : undefined;
  }

  /** Written, closed, the thread gone: the state to go on from (undefined if never opened or failed). */
  async close(): Promise<SinkState | undefined> {
    const m = await this.ask({ type: 'close' }, 'closed');
    this.failed ??= 'closed'; // its exit is expected now
    await this.worker.terminate();
    return m.type === 'closed' ? m.state : undefined;
  }
}
