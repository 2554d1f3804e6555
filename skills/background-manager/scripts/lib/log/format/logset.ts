// A process's log as a set of segments, so a size cap can drop the oldest output in whole
// pieces without rewriting anything: the active segment `logs/<id>.log.enc`, and archived
// ones `logs/<id>.log.enc.<first seq, 12 digits>`. Sequence numbers run on across segments.
import fs from 'node:fs';
import path from 'node:path';
import { HEADER_BYTES_V2, LogReader, LogWriter, type LogIssue, type LogRecord, type StreamName } from './logfile.ts';
import type { SubKeys } from '../../store/crypto.ts';
import { isErrno } from '../../errors.ts';

export const DEFAULT_MAX_LOG_SIZE = 100 * 1024 * 1024;
export const MIN_MAX_LOG_SIZE = 1024 * 1024;
/** The cap is kept in this many pieces; the oldest piece goes when the cap is reached. */
const PIECES = 8;

/** The active segment of a process's log. */
export function logFileOf(dataDir: string, rec: { logFile: string }): string {
  return path.resolve(dataDir, rec.logFile);
}

export interface Segment {
  file: string;
  firstSeq: number | undefined; // undefined for the active segment
}

export function archivedName(active: string, firstSeq: number): string {
  return `${active}.${String(firstSeq).padStart(12, '0')}`;
}

/** Segments oldest first: archived ones in sequence order, then the active one if present. */
export function listSegments(activeFile: string): Segment[] {
  const dir = path.dirname(activeFile);
  const base = path.basename(activeFile);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
  const out: Segment[] = [];
  let active = false;
  for (const n of names) {
    if (n === base) active = true;
    else if (n.startsWith(`${base}.`) && /^\d{12}$/.test(n.slice(base.length + 1))) {
      out.push({ file: path.join(dir, n), firstSeq: Number(n.slice(base.length + 1)) });
    }
  }
  out.sort((a, b) => a.firstSeq! - b.firstSeq!);
  if (active) out.push({ file: activeFile, firstSeq: undefined });
  return out;
}

/**
 * The seq the next record of this log would have (its newest segment's last record + 1, or
 * that segment's base if it has none); undefined if there is no log or it cannot be read.
 * The supervisor commits it to the state when the process ends (ProcessRecord.logEnd).
 */
export function logNextSeq(activeFile: string, keys: SubKeys, procId: string): number | undefined {
  const newest = listSegments(activeFile).pop();
  return newest && seqAfterSegment(newest.file, keys, procId);
}

/** The seq after the newest record of one segment (its base if it has none); undefined if it cannot be read. */
function seqAfterSegment(file: string, keys: SubKeys, procId: string): number | undefined {
  let r: LogReader | undefined;
  try {
    r = LogReader.open(file, keys, procId);
    let next = r.header.baseSeq;
    r.readBackward((rec) => {
      next = rec.seq + 1;
      return false;
    });
    return next;
  } catch {
    return undefined;
  } finally {
    r?.close();
  }
}

/**
 * Where a reader stopped: the segment (by file ID), the byte offset, the next seq, and how much
 * of that record's data was already taken (a read that stopped after a line mid-record).
 */
export interface Cursor {
  fileId: string; // hex
  offset: number;
  seq: number;
  skip?: number; // bytes of the record at `offset` already read
}

/**
 * Records a forward read could not give because they are no longer kept (the size cap dropped
 * them, or segments were deleted): `from` (the first the read wanted) to `to`; the read goes on
 * with `to + 1`, the oldest record kept, which may begin inside a line.
 */
export interface Gap {
  from: number;
  to: number;
}

/** What the state says about a log, for the checks a reader can make (ProcessRecord fields). */
export interface LogExpectations {
  /** The seq after the last record, committed when the process ended (ProcessRecord.logEnd). */
  endSeq?: number;
  /** The log was written chained (ProcessRecord.logVersion 2): a v1 segment is a downgrade. */
  chained?: boolean;
}

/** A segment opened for reading, in a consistent listing (see snapshot()). */
interface Opened {
  seg: Segment;
  r: LogReader;
}

/**
 * Reads a log's segments as one chain: each segment must belong to the process (header), be
 * named for its first seq, start where the previous one ended, and (chained logs) not start
 * past what the newest segment says the size cap kept; an ended process's log must reach the
 * end committed in the state. Anything else is reported as an issue, never silently skipped.
 */
/** Listings a read takes while a rotation changes them, before it reports what it sees. */
const SNAPSHOT_TRIES = 10;

export class LogSetReader {
  private readonly activeFile: string;
  private readonly keys: SubKeys;
  private readonly procId: string;
  private readonly expect: LogExpectations;
  readonly issues: LogIssue[] = [];
  private readonly said = new Set<string>(); // issue messages already in `issues` (reads repeat)
  bytesRead = 0;
  /** After a backward() that reached the start: records before the oldest kept one are gone. */
  startsAfterGap = false;
  /** During backward(): the position just after the record being visited. */
  lastCursor: Cursor | undefined;
  /** During forward(): the record being visited (its segment, and the bytes cut from its front). */
  private visiting: { fileId: string; skip: number } | undefined;

  constructor(activeFile: string, keys: SubKeys, procId: string, expect: LogExpectations = {}) {
    this.activeFile = activeFile;
    this.keys = keys;
    this.procId = procId;
    this.expect = expect;
  }

  private push(issue: LogIssue): void {
    if (this.said.has(issue.message)) return;
    this.said.add(issue.message);
    this.issues.push(issue);
  }

  private damaged(message: string): void {
    this.push({ kind: 'damaged', offset: 0, message });
  }

  private missing(from: number, to: number, where: string): void {
    if (to < from) return;
    this.push({ kind: 'missing', offset: 0, message: `records #${from}..#${to} are missing ${where}` });
  }

  private open(file: string, lastTry: boolean): LogReader | undefined | 'gone' {
    try {
      return LogReader.open(file, this.keys, this.procId);
    } catch (err) {
      // A segment deleted (by the cap) between listing and opening: the listing is taken again.
      // So is one made this instant, its header not written yet (one write() of it follows).
      // One whose header is damaged is reported and skipped, so the others stay readable.
      const code = (err as { code?: string }).code;
      if (code === 'NOT_FOUND') return 'gone';
      if (code === 'DAMAGED' && !lastTry && (fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0) < HEADER_BYTES_V2)
        return 'gone';
      if (code === 'DAMAGED') {
        this.damaged((err as Error).message);
        return undefined;
      }
      throw err;
    }
  }

  /**
   * Every segment opened, from a listing that did not change while they were opened (a
   * rotation renames the active segment and makes a new one: a reader racing it would
   * otherwise see a gap that is not there). Segments that break the chain's static rules
   * (name, version) are reported and left out.
   */
  private snapshot(): Opened[] {
    for (let attempt = 0; ; attempt++) {
      const segs = listSegments(this.activeFile);
      const opened: Opened[] = [];
      let changed = false;
      for (const seg of segs) {
        const r = this.open(seg.file, attempt >= SNAPSHOT_TRIES);
        if (r === 'gone') changed = true;
        else if (r) opened.push({ seg, r });
      }
      const again = listSegments(this.activeFile)
        .map((x) => x.file)
        .join('\n');
      if ((changed || again !== segs.map((x) => x.file).join('\n')) && attempt < SNAPSHOT_TRIES) {
        for (const o of opened) o.r.close();
        // The writer is mid-rotation: give it a moment (1, 2, 4, ... 256 ms: half a second in
        // all, as a loaded machine can hold a writer between making a segment and writing its
        // header; 15 ms once reported a segment being made as damaged in a full test run).
        if (attempt > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2 ** (attempt - 1));
        continue;
      }
      return opened.filter((o) => this.admissible(o) || (o.r.close(), false));
    }
  }

  private admissible({ seg, r }: Opened): boolean {
    const name = path.basename(seg.file);
    if (seg.firstSeq !== undefined && r.header.baseSeq !== seg.firstSeq) {
      this.damaged(
        `${name} is named for record #${seg.firstSeq} but starts at #${r.header.baseSeq} (segments renamed or swapped); not shown`,
      );
      return false;
    }
    if (this.expect.chained && r.header.keptFrom === undefined) {
      this.damaged(
        `${name} is in the log format before chaining, but this process's log was written chained (a substituted segment); not shown`,
      );
      return false;
    }
    return true;
  }

  /**
   * Reading reached the oldest segment kept: it must not start past what the newest segment's
   * header says the cap kept (older records were dropped by the cap, newer ones deleted).
   */
  private checkStart(opened: Opened[]): void {
    const oldest = opened[0];
    const keptFrom = opened[opened.length - 1]?.r.header.keptFrom;
    if (!oldest || keptFrom === undefined) return;
    this.missing(
      keptFrom,
      oldest.r.header.baseSeq - 1,
      `before ${path.basename(oldest.seg.file)}: segments were deleted beyond what the size cap dropped`,
    );
  }

  /** The last record read was `lastSeq` (undefined: none at all): the committed end must be reached. */
  private checkEnd(nextSeq: number | undefined, opened: Opened[]): void {
    const end = this.expect.endSeq;
    if (end === undefined || (nextSeq ?? 0) >= end) return;
    const last = opened[opened.length - 1];
    if (!last) {
      this.missing(0, end - 1, `(the log ${path.basename(this.activeFile)} of this ended process is gone: deleted)`);
      return;
    }
    this.missing(
      nextSeq ?? last.r.header.baseSeq,
      end - 1,
      `at the end of the log: it was cut short${this.activeGone(opened)}`,
    );
  }

  private activeGone(opened: Opened[]): string {
    const last = opened[opened.length - 1];
    return last && last.seg.firstSeq !== undefined
      ? ` (its active segment ${path.basename(this.activeFile)} is gone)`
      : '';
  }

  private note(file: string, issues: LogIssue[]): void {
    for (const i of issues) this.push({ ...i, message: `${path.basename(file)}: ${i.message}` });
  }

  /** Newest first across segments, until `visit` returns false. Returns true if it reached the start. */
  backward(visit: (rec: LogRecord) => boolean): boolean {
    const opened = this.snapshot();
    try {
      // The seq the next record visited must have: the committed end, then each segment's base.
      let want = this.expect.endSeq;
      let after = `at the end of the log: it was cut short${this.activeGone(opened)}`;
      for (let i = opened.length - 1; i >= 0; i--) {
        const { seg, r } = opened[i]!;
        let stopped = false;
        let seen = false;
        const fileId = r.header.fileId.toString('hex');
        const { issues } = r.readBackward((rec) => {
          if (!seen) {
            seen = true;
            if (want !== undefined) this.missing(rec.seq + 1, want - 1, after);
          }
          this.lastCursor = { fileId, offset: rec.end, seq: rec.seq + 1 };
          if (visit(rec)) return true;
          stopped = true;
          return false;
        });
        this.note(
          seg.file,
          issues.filter((x) => !(x.kind === 'torn-tail' && seg.firstSeq !== undefined)),
        );
        this.bytesRead += r.stats.bytesRead;
        if (stopped) return false;
        if (!seen && want !== undefined) this.missing(r.header.baseSeq, want - 1, after); // an empty segment
        want = r.header.baseSeq;
        after = `before ${path.basename(seg.file)}: a segment was deleted or cut short`;
      }
      if (opened.length === 0) this.checkEnd(undefined, opened);
      this.checkStart(opened);
      this.startsAfterGap = (opened[0]?.r.header.baseSeq ?? 0) > 0;
      return true;
    } finally {
      for (const { r } of opened) r.close();
    }
  }

  /** The first seq still kept (older ones were dropped by the cap), or undefined if no log. */
  firstKeptSeq(): number | undefined {
    const opened = this.snapshot();
    for (const { r } of opened) r.close();
    return opened[0]?.r.header.baseSeq;
  }

  /**
   * Records after `from` (default: from the oldest kept), oldest first, up to the current
   * end. Returns the cursor to continue from. `onGap`, before any record is visited: the
   * records wanted that are no longer kept (a cursor older than the oldest kept record, or a
   * read from the start of a log whose oldest records are gone).
   */
  forward(
    from: Cursor | undefined,
    visit: (rec: LogRecord) => boolean | void,
    onGap?: (gap: Gap) => void,
  ): Cursor | undefined {
    const readers = this.snapshot();
    try {
      // The cursor's segment, found by file ID (archiving renames a segment, never changes it).
      let startIx = from ? readers.findIndex(({ r }) => r.header.fileId.toString('hex') === from.fileId) : 0;
      const minSeq = startIx < 0 ? from!.seq : 0; // its segment was dropped: skip nothing newer
      if (startIx < 0) startIx = 0;
      const oldest = readers[0]?.r.header.baseSeq;
      const wanted =
        startIx === 0 && from?.fileId !== readers[0]?.r.header.fileId.toString('hex') ? (from?.seq ?? 0) : undefined;
      if (oldest !== undefined && wanted !== undefined && wanted < oldest) onGap?.({ from: wanted, to: oldest - 1 });
      if (startIx === 0) this.checkStart(readers);
      let cursor = from;
      let nextSeq: number | undefined; // where the previous segment ended
      for (let i = startIx; i < readers.length; i++) {
        const { seg, r } = readers[i]!;
        const fileId = r.header.fileId.toString('hex');
        const resume = i === startIx && from && fileId === from.fileId;
        if (nextSeq !== undefined && r.header.baseSeq !== nextSeq) {
          const prev = path.basename(readers[i - 1]!.seg.file);
          if (r.header.baseSeq > nextSeq)
            this.missing(
              nextSeq,
              r.header.baseSeq - 1,
              `between ${prev} and ${path.basename(seg.file)}: a segment was deleted or cut short`,
            );
          else
            this.damaged(
              `${path.basename(seg.file)} starts at #${r.header.baseSeq}, inside ${prev} (which ends before #${nextSeq}): segments out of order`,
            );
        }
        let stopped = false;
        const res = r.readForward({
          ...(resume ? { offset: from.offset, expectSeq: from.seq } : {}),
          visit: (rec) => {
            if (rec.seq < minSeq) return true;
            // The record a cursor points into: only what it had not read yet.
            const skip =
              resume && from.skip && rec.seq === from.seq && rec.offset === from.offset
                ? Math.min(from.skip, rec.data.length)
                : 0;
            this.visiting = { fileId, skip };
            if (visit(skip ? { ...rec, data: rec.data.subarray(skip) } : rec) !== false) return true;
            stopped = true;
            return false;
          },
        });
        this.bytesRead += r.stats.bytesRead;
        // A torn record ends only the active segment (the writer cuts it off before going on):
        // it is said here as by a tail read (get_logs leaves it out while the process runs).
        // Each read states it afresh: the record it saw torn may be whole by the next one.
        this.forgetTorn(seg.file);
        this.note(
          seg.file,
          res.issues.filter((x) => !(x.kind === 'torn-tail' && seg.firstSeq !== undefined)),
        );
        cursor = { fileId, offset: res.next, seq: res.nextSeq };
        if (stopped) return cursor;
        nextSeq = res.nextSeq;
      }
      this.checkEnd(readers.length ? nextSeq : undefined, readers);
      return cursor;
    } finally {
      this.visiting = undefined;
      for (const { r } of readers) r.close();
    }
  }

  private forgetTorn(file: string): void {
    const prefix = `${path.basename(file)}: `;
    for (let i = this.issues.length - 1; i >= 0; i--) {
      const x = this.issues[i]!;
      if (x.kind === 'torn-tail' && x.message.startsWith(prefix)) {
        this.said.delete(x.message);
        this.issues.splice(i, 1);
      }
    }
  }

  /**
   * During forward(), inside `visit(rec)`: the cursor just after the first `used` bytes of
   * `rec.data` (as visit saw it), so a later read starts with the bytes after them.
   */
  cursorAfter(rec: LogRecord, used: number): Cursor {
    const v = this.visiting!;
    if (used >= rec.data.length) return { fileId: v.fileId, offset: rec.end, seq: rec.seq + 1 };
    return { fileId: v.fileId, offset: rec.offset, seq: rec.seq, skip: v.skip + used };
  }
}

/**
 * The supervisor's writer: appends to the active segment and, past the piece size, archives
 * it and starts a new one, deleting the oldest archived pieces beyond the cap.
 */
export class CappedLogWriter {
  private writer: LogWriter | undefined; // undefined: a new segment could not be made yet
  private nextSeq: number;
  private readonly activeFile: string;
  private readonly keys: SubKeys;
  private readonly procId: string;
  private readonly pieceBytes: number;
  private readonly maxBytes: number;
  dropped: { bytes: number; records: number }; // by the cap, so far (this writer and the ones before it)

  /** `dropped`: what earlier writers of this log dropped already (the totals run on). */
  constructor(activeFile: string, keys: SubKeys, procId: string, maxBytes: number, dropped = { bytes: 0, records: 0 }) {
    this.activeFile = activeFile;
    this.keys = keys;
    this.procId = procId;
    this.maxBytes = maxBytes;
    this.dropped = { ...dropped };
    this.pieceBytes = Math.max(64 * 1024, Math.floor(maxBytes / PIECES));
    // No active segment (a new log, or a rotation that could not make the next one): it is
    // made by the first append, numbered on from the archived pieces. Nothing is created
    // here, so a full disk or a missing folder fails an append (counted), not the caller.
    this.writer = fs.existsSync(activeFile) ? LogWriter.openExisting(activeFile, keys, procId) : undefined;
    this.nextSeq = this.writer?.nextSeq ?? this.nextSeqAfterArchive();
  }

  /** The seq the next record will have: where the log ends, as this writer knows it. */
  get next(): number {
    return this.nextSeq;
  }

  /** The seq after the newest archived record (0 for a new log). */
  private nextSeqAfterArchive(): number {
    const last = listSegments(this.activeFile)
      .filter((s) => s.firstSeq !== undefined)
      .pop();
    if (!last) return 0;
    // Unreadable: at least not below its first record.
    return seqAfterSegment(last.file, this.keys, this.procId) ?? last.firstSeq!;
  }

  /**
   * Append; returns true when older output was dropped by this call (the caller records it).
   * Data longer than a piece is written as several records of at most a piece each: what piled
   * up while the writer was busy can be larger than the whole cap, and one record that size
   * would be archived and dropped with everything before it, newest output included.
   */
  append(stream: StreamName, data: Uint8Array, time = Date.now()): boolean {
    let dropped = false;
    for (let at = 0; at < data.length || at === 0; at += this.pieceBytes) {
      dropped = this.appendRecord(stream, data.subarray(at, at + this.pieceBytes), time) || dropped;
    }
    return dropped;
  }

  private appendRecord(stream: StreamName, data: Uint8Array, time: number): boolean {
    // After a failed rotation (disk full) the next append makes the new segment.
    const dropped = this.writer ? false : this.startSegment();
    this.writer!.append(stream, data, time);
    this.nextSeq = this.writer!.nextSeq;
    if (this.writer!.bytes < this.pieceBytes) return dropped;
    return this.rotate() || dropped;
  }

  private rotate(): boolean {
    const firstSeq = this.baseSeqOfActive();
    this.writer!.close();
    this.writer = undefined;
    fs.renameSync(this.activeFile, archivedName(this.activeFile, firstSeq));
    try {
      return this.startSegment();
    } catch {
      return false; // made by the next append (which counts what it cannot write)
    }
  }

  /**
   * Make the next active segment, then delete the oldest archived ones beyond the cap (less
   * the piece now being written). The new segment's header says where the kept records start,
   * and it exists before anything is deleted, so a reader can always tell the cap's drops from
   * deleted segments. Throws, deleting nothing, if the segment cannot be made.
   */
  private startSegment(): boolean {
    const archived = listSegments(this.activeFile).filter((s) => s.firstSeq !== undefined);
    const sizes = archived.map((s) => fs.statSync(s.file).size);
    let total = sizes.reduce((n, x) => n + x, 0);
    let drop = 0;
    while (drop < archived.length && total > this.maxBytes - this.pieceBytes) total -= sizes[drop++]!;
    const keptFrom = archived[drop]?.firstSeq ?? this.nextSeq;
    this.writer = LogWriter.create(this.activeFile, this.keys, this.procId, this.nextSeq, keptFrom);
    for (let i = 0; i < drop; i++) {
      const seg = archived[i]!;
      fs.rmSync(seg.file);
      this.dropped.bytes += sizes[i]!;
      this.dropped.records += (archived[i + 1]?.firstSeq ?? this.nextSeq) - seg.firstSeq!;
    }
    return drop > 0;
  }

  private baseSeqOfActive(): number {
    const fd = fs.openSync(this.activeFile, 'r');
    try {
      const b = Buffer.alloc(8);
      fs.readSync(fd, b, 0, 8, 32);
      return Number(b.readBigUInt64BE(0));
    } finally {
      fs.closeSync(fd);
    }
  }

  sync(): void {
    this.writer?.sync();
  }

  close(): void {
    this.writer?.close();
    this.writer = undefined;
  }
}
