// A process's log as a set of segments, so a size cap can drop the oldest output in whole
// pieces without rewriting anything: the active segment `logs/<id>.log.enc`, and archived
// ones `logs/<id>.log.enc.<first seq, 12 digits>`. Sequence numbers run on across segments.
import fs from 'node:fs';
import path from 'node:path';
import { LogReader, LogWriter, type LogIssue, type LogRecord, type StreamName } from './logfile.ts';
import type { SubKeys } from './crypto.ts';
import { isErrno } from './errors.ts';

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
    else if (n.startsWith(base + '.') && /^\d{12}$/.test(n.slice(base.length + 1))) {
      out.push({ file: path.join(dir, n), firstSeq: Number(n.slice(base.length + 1)) });
    }
  }
  out.sort((a, b) => a.firstSeq! - b.firstSeq!);
  if (active) out.push({ file: activeFile, firstSeq: undefined });
  return out;
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

export class LogSetReader {
  private readonly activeFile: string;
  private readonly keys: SubKeys;
  private readonly procId: string;
  readonly issues: LogIssue[] = [];
  bytesRead = 0;
  /** During backward(): the position just after the record being visited. */
  lastCursor: Cursor | undefined;
  /** During forward(): the record being visited (its segment, and the bytes cut from its front). */
  private visiting: { fileId: string; skip: number } | undefined;

  constructor(activeFile: string, keys: SubKeys, procId: string) {
    this.activeFile = activeFile;
    this.keys = keys;
    this.procId = procId;
  }

  private open(file: string): LogReader | undefined {
    try {
      return LogReader.open(file, this.keys, this.procId);
    } catch (err) {
      // A segment deleted by the cap between listing and opening is simply gone; one whose
      // header is damaged is reported and skipped, so the other segments stay readable.
      const code = (err as { code?: string }).code;
      if (code === 'NOT_FOUND') return undefined;
      if (code === 'DAMAGED') {
        this.issues.push({ kind: 'damaged', offset: 0, message: (err as Error).message });
        return undefined;
      }
      throw err;
    }
  }

  private note(file: string, issues: LogIssue[]): void {
    for (const i of issues) this.issues.push({ ...i, message: `${path.basename(file)}: ${i.message}` });
  }

  /** Newest first across segments, until `visit` returns false. Returns true if it reached the start. */
  backward(visit: (rec: LogRecord) => boolean): boolean {
    const segs = listSegments(this.activeFile).reverse();
    for (const seg of segs) {
      const r = this.open(seg.file);
      if (!r) continue;
      let stopped = false;
      try {
        const fileId = r.header.fileId.toString('hex');
        const { issues } = r.readBackward((rec) => {
          this.lastCursor = { fileId, offset: rec.end, seq: rec.seq + 1 };
          if (visit(rec)) return true;
          stopped = true;
          return false;
        });
        this.note(seg.file, issues.filter((i) => !(i.kind === 'torn-tail' && seg.firstSeq !== undefined)));
        this.bytesRead += r.stats.bytesRead;
      } finally {
        r.close();
      }
      if (stopped) return false;
    }
    return true;
  }

  /** The first seq still kept (older ones were dropped by the cap), or undefined if no log. */
  firstKeptSeq(): number | undefined {
    const segs = listSegments(this.activeFile);
    for (const seg of segs) {
      const r = this.open(seg.file);
      if (!r) continue;
      try {
        return r.header.baseSeq;
      } finally {
        r.close();
      }
    }
    return undefined;
  }

  /**
   * Records after `from` (default: from the oldest kept), oldest first, up to the current
   * end. Returns the cursor to continue from.
   */
  forward(from: Cursor | undefined, visit: (rec: LogRecord) => boolean | void): Cursor | undefined {
    const segs = listSegments(this.activeFile);
    const readers = segs.map((seg) => ({ seg, r: this.open(seg.file) }));
    try {
      // The cursor's segment, found by file ID (archiving renames a segment, never changes it).
      let startIx = from ? readers.findIndex(({ r }) => r?.header.fileId.toString('hex') === from.fileId) : 0;
      const minSeq = startIx < 0 ? from!.seq : 0; // its segment was dropped: skip nothing newer
      if (startIx < 0) startIx = 0;
      let cursor = from;
      for (let i = startIx; i < readers.length; i++) {
        const { seg, r } = readers[i]!;
        if (!r) continue;
        const fileId = r.header.fileId.toString('hex');
        const resume = i === startIx && from && fileId === from.fileId;
        let stopped = false;
        const { issues, next, nextSeq } = r.readForward({
          ...(resume ? { offset: from.offset, expectSeq: from.seq } : {}),
          visit: (rec) => {
            if (rec.seq < minSeq) return true;
            // The record a cursor points into: only what it had not read yet.
            const skip = resume && from.skip && rec.seq === from.seq && rec.offset === from.offset ? Math.min(from.skip, rec.data.length) : 0;
            this.visiting = { fileId, skip };
            if (visit(skip ? { ...rec, data: rec.data.subarray(skip) } : rec) !== false) return true;
            stopped = true;
            return false;
          },
        });
        this.bytesRead += r.stats.bytesRead;
        this.note(seg.file, issues.filter((x) => !(x.kind === 'torn-tail' && seg.firstSeq === undefined)));
        cursor = { fileId, offset: next, seq: nextSeq };
        if (stopped) return cursor;
      }
      return cursor;
    } finally {
      this.visiting = undefined;
      for (const { r } of readers) r?.close();
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

  /** The seq after the newest archived record (0 for a new log). */
  private nextSeqAfterArchive(): number {
    const last = listSegments(this.activeFile).filter((s) => s.firstSeq !== undefined).pop();
    if (!last) return 0;
    let r: LogReader | undefined;
    try {
      r = LogReader.open(last.file, this.keys, this.procId);
      let next = r.header.baseSeq;
      r.readBackward((rec) => {
        next = rec.seq + 1;
        return false;
      });
      return next;
    } catch {
      return last.firstSeq!; // unreadable: at least not below its first record
    } finally {
      r?.close();
    }
  }

  /** Append; returns true when older output was dropped by this call (the caller records it). */
  append(stream: StreamName, data: Uint8Array, time = Date.now()): boolean {
    // After a failed rotation (disk full) the next append makes the new segment.
    this.writer ??= LogWriter.create(this.activeFile, this.keys, this.procId, this.nextSeq);
    this.writer.append(stream, data, time);
    this.nextSeq = this.writer.nextSeq;
    if (this.writer.bytes < this.pieceBytes) return false;
    return this.rotate();
  }

  private rotate(): boolean {
    const nextSeq = this.nextSeq;
    const firstSeq = this.baseSeqOfActive();
    this.writer!.close();
    this.writer = undefined;
    fs.renameSync(this.activeFile, archivedName(this.activeFile, firstSeq));
    // Keep the archived pieces within the cap, less the piece now being written.
    const archived = listSegments(this.activeFile).filter((s) => s.firstSeq !== undefined);
    let total = archived.reduce((n, s) => n + fs.statSync(s.file).size, 0);
    let droppedNow = false;
    for (let i = 0; i < archived.length && total > this.maxBytes - this.pieceBytes; i++) {
      const seg = archived[i]!;
      const size = fs.statSync(seg.file).size;
      const next = archived[i + 1]?.firstSeq ?? nextSeq;
      fs.rmSync(seg.file);
      total -= size;
      this.dropped.bytes += size;
      this.dropped.records += next - seg.firstSeq!;
      droppedNow = true;
    }
    return droppedNow;
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
