// The encrypted, append-only log format (docs/FORMAT.md): a MAC'd file header, then records
// that are each sealed on their own and carry a sequence number, a stream tag, a time and a
// length trailer. Writers append one record per write(); readers go forward from any record
// offset or walk back from the end, and report damage without losing the other records.
import { reclaimAfter } from './reclaim.ts';
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { BgError, isErrno } from '../../errors.ts';
import {
  IV_BYTES,
  MAC_BYTES,
  hmac,
  macEqual,
  open,
  paddedLength,
  sealParts,
  type SubKeys,
} from '../../store/crypto.ts';
import { openNewFile, storageError, writeAll } from '../../store/fsutil.ts';

export const LOG_MAGIC = Buffer.from('BGLOGv1\n', 'latin1');
export const HEADER_BYTES = 80;
/**
 * The chained header (docs/FORMAT.md): v1's fields plus `keptFrom`, the oldest sequence number
 * the size cap had kept when the segment was made, so that a reader can tell the cap's drops
 * from deleted segments. Written by CappedLogWriter; v1 logs still read.
 */
export const LOG_MAGIC_V2 = Buffer.from('BGLOGv2\n', 'latin1');
export const HEADER_BYTES_V2 = 96;
export const REC_MAGIC = Buffer.from([0x42, 0x47, 0x52, 0x01]); // "BGR\x01"
export const TRAIL_MAGIC = Buffer.from([0x01, 0x52, 0x47, 0x42]); // "\x01RGB"
export const REC_HEAD_BYTES = 28;
export const REC_OVERHEAD = REC_HEAD_BYTES + IV_BYTES + MAC_BYTES + 8;
/** Largest plaintext in one record; writers split bigger chunks. */
export const MAX_RECORD_DATA = 1 << 20;
const MAX_CT = paddedLength(MAX_RECORD_DATA);
const MAX_RECORD = MAX_CT + REC_OVERHEAD;

export const STREAMS = ['stdout', 'stderr', 'input', 'event'] as const;
export type StreamName = (typeof STREAMS)[number];

export interface LogHeader {
  procId: string;
  fileId: Buffer;
  baseSeq: number;
  created: number;
  /** v2 only: records before this seq were dropped by the size cap when the segment was made. */
  keptFrom?: number;
}

/** The header's version and length (where the first record starts). */
export function headerVersion(h: LogHeader): { version: 1 | 2; bytes: number } {
  return h.keptFrom === undefined ? { version: 1, bytes: HEADER_BYTES } : { version: 2, bytes: HEADER_BYTES_V2 };
}

export interface LogRecord {
  seq: number;
  stream: StreamName;
  time: number; // ms since the epoch
  data: Buffer;
  offset: number; // where the record starts in the file
  end: number; // where the next record starts
}

export type IssueKind = 'torn-tail' | 'damaged' | 'missing' | 'duplicate' | 'out-of-order';
export interface LogIssue {
  kind: IssueKind;
  offset: number;
  message: string;
}

function encodeHeader(keys: SubKeys, h: LogHeader): Buffer {
  const v2 = h.keptFrom !== undefined;
  const b = Buffer.alloc(v2 ? HEADER_BYTES_V2 : HEADER_BYTES);
  (v2 ? LOG_MAGIC_V2 : LOG_MAGIC).copy(b, 0);
  b.write(h.procId.slice(0, 8), 8, 'latin1');
  h.fileId.copy(b, 16);
  b.writeBigUInt64BE(BigInt(h.baseSeq), 32);
  b.writeBigUInt64BE(BigInt(h.created), 40);
  if (v2) b.writeBigUInt64BE(BigInt(h.keptFrom!), 48); // bytes 56-63 reserved, zero
  const macAt = b.length - 32;
  hmac(keys.mac, Buffer.from('bglog header'), b.subarray(0, macAt)).copy(b, macAt);
  return b;
}

export function decodeHeader(file: string, keys: SubKeys, b: Buffer, procId?: string): LogHeader {
  const v2 = b.subarray(0, 8).equals(LOG_MAGIC_V2);
  const size = v2 ? HEADER_BYTES_V2 : HEADER_BYTES;
  if (b.length < size || !(v2 || b.subarray(0, 8).equals(LOG_MAGIC))) {
    throw new BgError(
      'DAMAGED',
      `${file} is not a background-manager log (bad header). It may be damaged or from another tool.`,
    );
  }
  if (!macEqual(b.subarray(size - 32, size), hmac(keys.mac, Buffer.from('bglog header'), b.subarray(0, size - 32)))) {
    throw new BgError(
      'DAMAGED',
      `${file}: the log header failed its integrity check (damaged, or written under another data key).`,
    );
  }
  const h: LogHeader = {
    procId: b.toString('latin1', 8, 16).replace(/\0+$/, ''),
    fileId: Buffer.from(b.subarray(16, 32)),
    baseSeq: Number(b.readBigUInt64BE(32)),
    created: Number(b.readBigUInt64BE(40)),
    ...(v2 ? { keptFrom: Number(b.readBigUInt64BE(48)) } : {}),
  };
  if (procId !== undefined && h.procId !== procId) {
    throw new BgError('DAMAGED', `${file} belongs to process ${h.procId}, not ${procId}: the file was swapped.`);
  }
  return h;
}

export function encodeRecord(
  keys: SubKeys,
  fileId: Buffer,
  seq: number,
  stream: StreamName,
  time: number,
  data: Uint8Array,
): Buffer {
  const ctLen = paddedLength(data.length);
  const head = Buffer.alloc(REC_HEAD_BYTES);
  REC_MAGIC.copy(head, 0);
  head.writeBigUInt64BE(BigInt(seq), 4);
  head.writeUInt8(STREAMS.indexOf(stream), 12);
  head.writeBigUInt64BE(BigInt(time), 16);
  head.writeUInt32BE(ctLen, 24);
  const sealed = sealParts(keys, Buffer.concat([fileId, head]), data); // seal(), unjoined: one copy below
  const trail = Buffer.alloc(8);
  const total = REC_HEAD_BYTES + IV_BYTES + ctLen + MAC_BYTES + 8;
  trail.writeUInt32BE(total, 0);
  TRAIL_MAGIC.copy(trail, 4);
  return Buffer.concat([head, ...sealed, trail], total);
}

// Parse and authenticate the record at buf[pos..]; undefined if it is not a whole valid record.
function decodeRecordAt(
  keys: SubKeys,
  fileId: Buffer,
  buf: Buffer,
  pos: number,
  fileOffset: number,
): LogRecord | undefined {
  if (buf.length - pos < REC_OVERHEAD + 16) return undefined;
  if (buf[pos] !== 0x42 || buf[pos + 1] !== 0x47 || buf[pos + 2] !== 0x52 || buf[pos + 3] !== 0x01) return undefined;
  const ctLen = buf.readUInt32BE(pos + 24);
  if (ctLen === 0 || ctLen % 16 !== 0 || ctLen > MAX_CT) return undefined;
  const total = ctLen + REC_OVERHEAD;
  if (buf.length - pos < total) return undefined;
  const t = pos + total - 8;
  if (buf.readUInt32BE(t) !== total || !buf.subarray(t + 4, t + 8).equals(TRAIL_MAGIC)) return undefined;
  const streamIx = buf[pos + 12]!;
  if (streamIx >= STREAMS.length) return undefined;
  const head = buf.subarray(pos, pos + REC_HEAD_BYTES);
  const data = open(keys, Buffer.concat([fileId, head]), buf.subarray(pos + REC_HEAD_BYTES, t));
  if (!data) return undefined;
  reclaimAfter(data.length);
  return {
    seq: Number(head.readBigUInt64BE(4)),
    stream: STREAMS[streamIx]!,
    time: Number(head.readBigUInt64BE(16)),
    data,
    offset: fileOffset,
    end: fileOffset + total,
  };
}

// The declared total length of a record that starts at buf[pos], if its head is readable.
// A head cut short (fewer than 28 bytes left) that starts like a record counts as longer
// than what is there: the start of a torn write.
function declaredTotal(buf: Buffer, pos: number): number | undefined {
  const left = buf.length - pos;
  if (left <= 0) return undefined;
  if (left < REC_HEAD_BYTES) {
    return buf.subarray(pos, pos + Math.min(4, left)).equals(REC_MAGIC.subarray(0, Math.min(4, left)))
      ? REC_HEAD_BYTES + 1
      : undefined;
  }
  if (!buf.subarray(pos, pos + 4).equals(REC_MAGIC)) return undefined;
  const ctLen = buf.readUInt32BE(pos + 24);
  return ctLen % 16 === 0 && ctLen <= MAX_CT ? ctLen + REC_OVERHEAD : undefined;
}

/** Counts bytes read, so tests can prove a tail read is bounded whatever the file size. */
export interface ReadStats {
  bytesRead: number;
}

/** `into`: read into this buffer (its start) instead of a new one. */
function pread(fd: number, position: number, length: number, stats?: ReadStats, into?: Buffer): Buffer {
  const buf = into && into.length >= length ? into : Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  if (stats) stats.bytesRead += got;
  return got === buf.length ? buf : buf.subarray(0, got);
}

// Read buffers, shared by every LogReader: a read of a log opens all its segments, and a
// buffer per segment (8 MiB each) was what made a long log's read take memory in proportion
// to its length. Taken while in use (a visitor may read another log meanwhile: it gets its own).
const scratchFree: Buffer[] = [];

function takeScratch(size: number): Buffer {
  const ix = scratchFree.findIndex((b) => b.length >= size);
  return ix >= 0 ? scratchFree.splice(ix, 1)[0]! : Buffer.allocUnsafe(size);
}

function giveScratch(b: Buffer): void {
  if (scratchFree.length < 2) scratchFree.push(b);
}

export class LogReader {
  readonly file: string;
  readonly header: LogHeader;
  private readonly keys: SubKeys;
  private readonly fd: number;
  /** Where the first record starts: the header's length. */
  readonly start: number;
  readonly stats: ReadStats = { bytesRead: 0 };

  private constructor(file: string, fd: number, keys: SubKeys, header: LogHeader) {
    this.file = file;
    this.fd = fd;
    this.keys = keys;
    this.header = header;
    this.start = headerVersion(header).bytes;
  }

  static open(file: string, keys: SubKeys, procId?: string): LogReader {
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK); // a FIFO must not block the open
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new BgError('NOT_FOUND', `log file ${file} does not exist.`);
      throw storageError(file, err);
    }
    try {
      // Something else in a log's place (a folder, a FIFO) is damage, not a crash or a hang.
      if (!fs.fstatSync(fd).isFile()) throw new BgError('DAMAGED', `${file} is not a regular file; it is not a log.`);
      const head = pread(fd, 0, HEADER_BYTES_V2); // v1's 80 bytes, or all of v2's
      return new LogReader(file, fd, keys, decodeHeader(file, keys, head, procId));
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  size(): number {
    return fs.fstatSync(this.fd).size;
  }

  /**
   * Read records from `offset` (a record boundary; default the first record) up to the
   * current end. A record still being written at the end (or torn by a crash) stops the read
   * at its start: `next` is where to continue. `expectSeq` is the sequence number expected
   * at `offset`, when known. With `visit`, records go to it instead of the returned list, and
   * it may return false to stop after that record.
   */
  readForward(
    opts: { offset?: number; expectSeq?: number; maxBytes?: number; visit?: (rec: LogRecord) => boolean | void } = {},
  ): {
    records: LogRecord[];
    issues: LogIssue[];
    next: number;
    nextSeq: number;
  } {
    const start = Math.max(opts.offset ?? this.start, this.start);
    const end = Math.min(this.size(), opts.maxBytes === undefined ? Infinity : start + opts.maxBytes);
    const fileId = this.header.fileId;
    const records: LogRecord[] = [];
    const issues: LogIssue[] = [];
    let expect = opts.expectSeq ?? (start === this.start ? this.header.baseSeq : undefined);
    let pos = start;
    const CHUNK = 8 << 20;
    let buf: Buffer = Buffer.alloc(0);
    let bufStart = start;
    const scratch = takeScratch(CHUNK);
    try {
      while (pos < end) {
        if (pos - bufStart + MAX_RECORD > buf.length && bufStart + buf.length < end) {
          // Into the same buffer each time: records are decrypted into buffers of their own, and
          // a long read makes no garbage of 8 MiB chunks (a process's memory stays flat).
          buf = pread(this.fd, pos, Math.min(end - pos, CHUNK), this.stats, scratch);
          bufStart = pos;
        }
        const rel = pos - bufStart;
        const rec = decodeRecordAt(this.keys, fileId, buf, rel, pos);
        if (rec) {
          if (expect !== undefined && rec.seq !== expect) {
            if (rec.seq < expect) {
              issues.push({
                kind: rec.seq === expect - 1 ? 'duplicate' : 'out-of-order',
                offset: pos,
                message: `record #${rec.seq} at byte ${pos} repeats or comes out of order (expected #${expect}); skipped`,
              });
              pos = rec.end;
              continue;
            }
            issues.push({
              kind: 'missing',
              offset: pos,
              message: `records #${expect}..#${rec.seq - 1} are missing before byte ${pos}`,
            });
          }
          expect = rec.seq + 1;
          pos = rec.end;
          // With a visitor nothing is kept (a big log is streamed); it may stop the read.
          if (!opts.visit) records.push(rec);
          else if (opts.visit(rec) === false) return { records, issues, next: pos, nextSeq: expect };
          continue;
        }
        // Not a valid record here. At the end of the file a shorter-than-declared record is one
        // being written (or torn by a crash): stop before it.
        // Unless a whole valid record follows: then it is this record's length field that is
        // damaged, and stopping here would hide every later record.
        const total = declaredTotal(buf, rel);
        if (
          total !== undefined &&
          pos + total > end &&
          bufStart + buf.length >= end &&
          !this.validRecordAfter(buf, rel + 1, bufStart)
        ) {
          if (opts.maxBytes === undefined)
            issues.push({
              kind: 'torn-tail',
              offset: pos,
              message: `the last record at byte ${pos} is incomplete (${end - pos} of ${total} bytes); ignored`,
            });
          return { records, issues, next: pos, nextSeq: expect ?? 0 };
        }
        const resync = this.findNextRecord(buf, rel + 1, bufStart, end);
        issues.push({
          kind: 'damaged',
          offset: pos,
          message: `bytes ${pos}..${resync - 1} are damaged (failed the integrity check); skipped`,
        });
        if (resync >= end) return { records, issues, next: end, nextSeq: expect ?? 0 };
        expect = undefined; // the damaged span may have held records; take the next valid seq
        pos = resync;
        // Keep the sequence check honest across damage: a gap is reported when the next record
        // is read (expect resumes from it).
      }
      return { records, issues, next: pos, nextSeq: expect ?? 0 };
    } finally {
      giveScratch(scratch);
    }
  }

  // Whether a whole valid record starts anywhere in buf[rel..] (buf already reaches the end).
  private validRecordAfter(buf: Buffer, rel: number, bufStart: number): boolean {
    for (let ix = buf.indexOf(REC_MAGIC, rel); ix >= 0; ix = buf.indexOf(REC_MAGIC, ix + 1)) {
      if (decodeRecordAt(this.keys, this.header.fileId, buf, ix, bufStart + ix)) return true;
    }
    return false;
  }

  // Offset of the next position after `rel` where a whole valid record starts, else `end`.
  private findNextRecord(buf: Buffer, rel: number, bufStart: number, end: number): number {
    let from = rel;
    for (;;) {
      const ix = buf.indexOf(REC_MAGIC, from);
      if (ix < 0) break;
      if (decodeRecordAt(this.keys, this.header.fileId, buf, ix, bufStart + ix)) return bufStart + ix;
      const total = declaredTotal(buf, ix);
      if (total !== undefined && bufStart + ix + total > end && bufStart + buf.length >= end) return bufStart + ix; // torn tail
      from = ix + 1;
    }
    if (bufStart + buf.length >= end) return end;
    // Scan further into the file: reload from the end of this buffer minus a record's worth.
    const nextStart = bufStart + Math.max(rel, buf.length - MAX_RECORD);
    const more = pread(this.fd, nextStart, Math.min(end - nextStart, 8 << 20), this.stats);
    return this.findNextRecord(more, 0, nextStart, end);
  }

  /**
   * Walk back from the end: calls `visit` with each record, newest first, until it returns
   * false. Reads only the records it visits (plus a bounded window when the tail is torn).
   */
  readBackward(visit: (rec: LogRecord) => boolean): { issues: LogIssue[] } {
    const issues: LogIssue[] = [];
    let end = this.lastGoodEnd(this.size(), issues);
    let expect: number | undefined;
    while (end > this.start) {
      const trail = pread(this.fd, end - 8, 8, this.stats);
      const total = trail.readUInt32BE(0);
      let rec: LogRecord | undefined;
      if (
        trail.subarray(4).equals(TRAIL_MAGIC) &&
        total <= end - this.start &&
        total >= REC_OVERHEAD + 16 &&
        total <= MAX_RECORD
      ) {
        // Into one buffer for the walk: a record's data is decrypted into a buffer of its own.
        const scratch = takeScratch(MAX_RECORD);
        try {
          rec = decodeRecordAt(
            this.keys,
            this.header.fileId,
            pread(this.fd, end - total, total, this.stats, scratch),
            0,
            end - total,
          );
        } finally {
          giveScratch(scratch);
        }
      }
      if (!rec) {
        // Damage in the middle: find the nearest valid record before `end` and report the span.
        const prevEnd = this.lastGoodEnd(end, issues, true);
        if (prevEnd >= end) break;
        end = prevEnd;
        expect = undefined;
        continue;
      }
      if (expect !== undefined && rec.seq !== expect) {
        if (rec.seq > expect) {
          issues.push({
            kind: rec.seq === expect + 1 ? 'duplicate' : 'out-of-order',
            offset: rec.offset,
            message: `record #${rec.seq} at byte ${rec.offset} repeats or comes out of order (expected #${expect}); skipped`,
          });
          end = rec.offset;
          continue;
        }
        issues.push({
          kind: 'missing',
          offset: rec.end,
          message: `records #${rec.seq + 1}..#${expect} are missing after byte ${rec.end}`,
        });
      }
      expect = rec.seq - 1;
      end = rec.offset;
      if (!visit(rec)) return { issues };
    }
    if (expect !== undefined && end <= this.start && expect + 1 > this.header.baseSeq) {
      issues.push({
        kind: 'missing',
        offset: this.start,
        message: `records #${this.header.baseSeq}..#${expect} are missing at the start of the file`,
      });
    }
    return { issues };
  }

  /**
   * The end of the last whole valid record at or before `limit`. If `limit` is not one, look
   * back through at most two records' worth of bytes; a short record at the very end is a
   * torn write, anything else is damage.
   */
  private lastGoodEnd(limit: number, issues: LogIssue[], midFile = false): number {
    if (limit <= this.start) return limit;
    const winStart = Math.max(this.start, limit - 2 * MAX_RECORD);
    const tailProbe = pread(
      this.fd,
      limit - Math.min(8, limit - this.start),
      Math.min(8, limit - this.start),
      this.stats,
    );
    if (!midFile && tailProbe.length === 8 && tailProbe.subarray(4).equals(TRAIL_MAGIC)) {
      const total = tailProbe.readUInt32BE(0);
      if (total <= limit - this.start && total <= MAX_RECORD && total >= REC_OVERHEAD + 16) {
        const buf = pread(this.fd, limit - total, total, this.stats);
        if (decodeRecordAt(this.keys, this.header.fileId, buf, 0, limit - total)) return limit;
      }
    }
    const win = pread(this.fd, winStart, limit - winStart, this.stats);
    let from = win.length - 8;
    let goodEnd = winStart;
    let found = false;
    while (from >= 0) {
      const ix = win.lastIndexOf(TRAIL_MAGIC, from + 4);
      if (ix < 4) break;
      const recEnd = ix + 4;
      const total = win.readUInt32BE(ix - 4);
      if (
        total <= recEnd &&
        decodeRecordAt(this.keys, this.header.fileId, win, recEnd - total, winStart + recEnd - total)
      ) {
        if (recEnd < win.length || midFile) {
          goodEnd = winStart + recEnd;
          found = true;
          break;
        }
      }
      from = ix - 5;
    }
    if (!found && winStart > this.start) {
      issues.push({
        kind: 'damaged',
        offset: winStart,
        message: `no valid record found in bytes ${winStart}..${limit - 1}; earlier records were not read`,
      });
      return this.start;
    }
    const rel = goodEnd - winStart;
    const total = declaredTotal(win, rel);
    if (!midFile && total !== undefined && goodEnd + total > limit) {
      issues.push({
        kind: 'torn-tail',
        offset: goodEnd,
        message: `the last record at byte ${goodEnd} is incomplete (${limit - goodEnd} of ${total} bytes); ignored`,
      });
    } else {
      issues.push({
        kind: 'damaged',
        offset: goodEnd,
        message: `bytes ${goodEnd}..${limit - 1} are damaged (failed the integrity check); skipped`,
      });
    }
    return goodEnd;
  }
}

/** Appends records to a log; one write() per record, so a reader never sees a mix. */
export class LogWriter {
  readonly file: string;
  private readonly keys: SubKeys;
  readonly fileId: Buffer;
  private fd: number;
  nextSeq: number;
  bytes: number; // the file's size: header and every record appended

  private constructor(file: string, fd: number, keys: SubKeys, fileId: Buffer, nextSeq: number, bytes: number) {
    this.file = file;
    this.fd = fd;
    this.keys = keys;
    this.fileId = fileId;
    this.nextSeq = nextSeq;
    this.bytes = bytes;
  }

  /** `keptFrom` given: a chained (v2) header, as CappedLogWriter makes; else v1. */
  static create(file: string, keys: SubKeys, procId: string, baseSeq = 0, keptFrom?: number): LogWriter {
    const header: LogHeader = {
      procId,
      fileId: randomBytes(16),
      baseSeq,
      created: Date.now(),
      ...(keptFrom === undefined ? {} : { keptFrom }),
    };
    // The header goes into a file of another name first, which then gets the log's name (a hard
    // link: like O_EXCL, it never replaces a file there): a reader that opens the log while it is
    // made (a rotation's new segment) finds no file or a whole header, never an empty file that
    // reads as "not a background-manager log". That name does not look like a segment's.
    const fresh = `${file}.new-${randomBytes(6).toString('hex')}`;
    let fd: number;
    try {
      fd = openNewFile(fresh);
      try {
        writeAll(fd, encodeHeader(keys, header));
      } finally {
        fs.closeSync(fd);
      }
      fs.linkSync(fresh, file);
      fd = fs.openSync(file, 'a');
    } catch (err) {
      throw storageError(file, err);
    } finally {
      fs.rmSync(fresh, { force: true });
    }
    return new LogWriter(file, fd, keys, header.fileId, baseSeq, headerVersion(header).bytes);
  }

  // Continue an existing log: cut a torn last record off, then append after the last one.
  static openExisting(file: string, keys: SubKeys, procId: string): LogWriter {
    const reader = LogReader.open(file, keys, procId);
    let last: LogRecord | undefined;
    try {
      reader.readBackward((rec) => {
        last = rec;
        return false;
      });
      // The backward walk gives up after 2 MiB of damage at the end (e.g. zeros left by a
      // crash); before cutting anything off, find the last valid record going forward, a
      // window at a time so a big log is not held in memory.
      if (!last) {
        const size = reader.size();
        for (let offset = reader.start; offset < size; ) {
          const r = reader.readForward({ offset, maxBytes: 64 << 20 });
          last = r.records[r.records.length - 1] ?? last;
          if (r.next <= offset) break;
          offset = r.next;
        }
      }
    } finally {
      reader.close();
    }
    const end = last ? last.end : reader.start;
    const fd = fs.openSync(file, 'r+');
    if (fs.fstatSync(fd).size > end) fs.ftruncateSync(fd, end);
    fs.closeSync(fd);
    return new LogWriter(
      file,
      fs.openSync(file, 'a'),
      keys,
      reader.header.fileId,
      last ? last.seq + 1 : reader.header.baseSeq,
      end,
    );
  }

  append(stream: StreamName, data: Uint8Array, time = Date.now()): void {
    for (let off = 0; off < data.length || (off === 0 && data.length === 0); off += MAX_RECORD_DATA) {
      const part = data.subarray(off, off + MAX_RECORD_DATA);
      const rec = encodeRecord(this.keys, this.fileId, this.nextSeq, stream, time, part);
      try {
        writeAll(this.fd, rec);
      } catch (err) {
        // A partial write (disk full) must not stay as a torn record between whole ones.
        try {
          fs.ftruncateSync(this.fd, this.bytes);
        } catch {
          /* the reader treats what is left as a torn tail */
        }
        throw err;
      }
      this.nextSeq++;
      this.bytes += rec.length;
      if (data.length === 0) break;
    }
  }

  sync(): void {
    fs.fsyncSync(this.fd);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
