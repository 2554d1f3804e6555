// The event log: what happened to the data dir's processes (started, ready, a port opened or
// closed, waiting for input, restarted, how it ended), kept encrypted in the data dir so that a
// watcher (watch_processes, the MCP server, the page) learns it without polling, and one that
// starts later (`--new`) misses nothing. Supervisors append their own events; a caller that
// decided something (readiness) appends its own.
//
// Two files, `events.enc` (appended) and `events.old.enc` (the one before): each is
// `BGEVENT1` then frames `u32 len | u64 seq | sealed JSON | u32 len` (docs/FORMAT.md). A frame is
// sealed with the magic and its seq as associated data, so a flipped byte, a record moved
// to another place of the sequence, or one from another data dir fails its check. Appends are
// one write() each, under the file's lock (lock.ts), which also numbers them: seqs count up by
// one across both files. When `events.enc` would pass MAX_EVENT_FILE_BYTES, it becomes
// `events.old.enc` (the previous old file, the oldest events, is dropped) and a new one
// starts; a reader whose position is older than the oldest kept event is told how many it
// lost. A rename keeps the inode, so a reader that was part-way through the active file reads
// the rest of it as the old one.
import fs from 'node:fs';
import path from 'node:path';
import { isErrno } from '../errors.ts';
import { open, seal, type SubKeys } from './crypto.ts';
import { FILE_MODE, fsyncDir, storageError, writeAll } from './fsutil.ts';
import { withLock } from './lock.ts';

export const EVENTS_FILE = 'events.enc';
export const OLD_EVENTS_FILE = 'events.old.enc';
const MAGIC = Buffer.from('BGEVENT1', 'latin1');
/** Each of the two files stays below this: about 1,500 events each. */
export const MAX_EVENT_FILE_BYTES = 256 * 1024;
/** One event's JSON is cut to fit this (a long prompt or error line). */
const MAX_TEXT_CHARS = 400;

export const EVENT_KINDS = [
  'started',
  'ready',
  'port-opened',
  'port-closed',
  'waiting-input',
  'restarted',
  'exited',
  'failed',
  'stopped',
  'killed',
] as const;
/** What a stored event says happened; 'output' (a --match line) is never stored. */
export type StoredKind = (typeof EVENT_KINDS)[number];

/** An event as stored (seq given by the append). */
export interface BgEvent {
  seq: number;
  at: string; // ISO time
  id: string;
  name?: string;
  event: StoredKind;
  text: string; // the short, self-contained part of the line: "listening on port 8080"
  pid?: number;
  port?: number;
  exitCode?: number | null;
  signal?: string | null;
  reason?: string; // restarted: why; stopped: who asked
  line?: string; // ready: the line that did it; ended: the last error-looking line; waiting-input: the prompt
}

export type NewEvent = Omit<BgEvent, 'seq' | 'at'> & { at?: string };

const eventsPath = (dataDir: string) => path.join(dataDir, EVENTS_FILE);
const oldPath = (dataDir: string) => path.join(dataDir, OLD_EVENTS_FILE);

function cut(s: string | undefined): string | undefined {
  return s === undefined || s.length <= MAX_TEXT_CHARS ? s : `${s.slice(0, MAX_TEXT_CHARS)}...`;
}

function aad(seq: number): Buffer {
  const b = Buffer.alloc(16);
  MAGIC.copy(b);
  b.writeBigUInt64BE(BigInt(seq), 8);
  return b;
}

export function encodeFrame(keys: SubKeys, ev: BgEvent): Buffer {
  const sealed = seal(keys, aad(ev.seq), Buffer.from(JSON.stringify(ev), 'utf8'));
  const len = 8 + sealed.length;
  const out = Buffer.alloc(4 + len + 4);
  out.writeUInt32BE(len, 0);
  out.writeBigUInt64BE(BigInt(ev.seq), 4);
  sealed.copy(out, 12);
  out.writeUInt32BE(len, 4 + len);
  return out;
}

/** The seq of a file's last whole frame (walking back by its length trailer); 0: none. */
function lastSeqOf(file: string): number {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return 0;
    throw storageError(file, err);
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size < MAGIC.length + 16) return 0;
    const tail = Buffer.alloc(4);
    fs.readSync(fd, tail, 0, 4, size - 4);
    const len = tail.readUInt32BE(0);
    const start = size - 4 - len - 4;
    if (start < MAGIC.length) return 0; // a torn last frame: the reader skips it; count from the file before
    const seq = Buffer.alloc(8);
    fs.readSync(fd, seq, 0, 8, start + 4);
    return Number(seq.readBigUInt64BE(0));
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Append one event (numbered here). Under the events file's lock: a supervisor's events and a
 * start_process's "ready" may come at once. Returns it as stored. (`maxBytes`: the unit tests' bound.)
 */
export async function appendEvent(
  dataDir: string,
  keys: SubKeys,
  ev: NewEvent,
  maxBytes = MAX_EVENT_FILE_BYTES,
): Promise<BgEvent> {
  const file = eventsPath(dataDir);
  return withLock(file, () => {
    const last = lastSeqOf(file) || lastSeqOf(oldPath(dataDir));
    const full: BgEvent = {
      ...ev,
      seq: last + 1,
      at: ev.at ?? new Date().toISOString(),
      text: cut(ev.text)!,
      line: cut(ev.line),
    };
    if (full.line === undefined) delete full.line;
    const frame = encodeFrame(keys, full);
    let size = 0;
    try {
      size = fs.statSync(file).size;
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw storageError(file, err);
    }
    if (size && size + frame.length > maxBytes) {
      try {
        fs.renameSync(file, oldPath(dataDir)); // the oldest events go
      } catch (err) {
        throw storageError(file, err);
      }
      size = 0;
    }
    let fd: number | undefined;
    try {
      fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, FILE_MODE);
      writeAll(fd, size ? frame : Buffer.concat([MAGIC, frame]));
      fs.fdatasyncSync(fd);
    } catch (err) {
      throw storageError(file, err);
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
    if (!size) fsyncDir(dataDir);
    return full;
  });
}

/** What a read found besides the events. */
export interface EventsRead {
  events: BgEvent[];
  /** Frames that failed their check or broke the order (skipped). */
  damaged: number;
}

/** Parse the frames of `buf` (a file's bytes from `from`); `used`: bytes of whole frames. */
function parseFrames(keys: SubKeys, buf: Buffer, after: number, out: EventsRead): { used: number; lastSeq: number } {
  let off = 0;
  let lastSeq = after;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt32BE(off);
    if (len < 8 || off + 4 + len + 4 > buf.length) break; // torn, or still being written
    if (buf.readUInt32BE(off + 4 + len) !== len) {
      out.damaged++;
      off = buf.length; // the framing is lost: nothing after it can be trusted to line up
      break;
    }
    const seq = Number(buf.readBigUInt64BE(off + 4));
    const plain = open(keys, aad(seq), buf.subarray(off + 12, off + 4 + len));
    off += 4 + len + 4;
    if (!plain) {
      out.damaged++;
      continue;
    }
    if (seq <= lastSeq) {
      if (seq < lastSeq) out.damaged++; // out of order: not shown twice
      continue;
    }
    lastSeq = seq;
    try {
      out.events.push(JSON.parse(plain.toString('utf8')) as BgEvent);
    } catch {
      out.damaged++;
    }
  }
  return { used: off, lastSeq };
}

/**
 * A reader that follows the event log: each poll() returns the events appended since the last
 * one. It holds the active file's inode and how far it read: after a rotation that inode is the
 * old file, whose rest it reads first.
 */
export class EventReader {
  private ino: number | undefined;
  private offset = 0;
  /** The seq of the newest event seen (read, or skipped as older than asked). */
  lastSeq: number;
  damaged = 0;

  constructor(
    private readonly dataDir: string,
    private readonly keys: SubKeys,
    after = 0,
  ) {
    this.lastSeq = after;
  }

  /** The events after lastSeq, oldest first; `dropped`: events after `lastSeq` no longer kept. */
  poll(): { events: BgEvent[]; dropped: number } {
    const out: EventsRead = { events: [], damaged: 0 };
    const active = eventsPath(this.dataDir);
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(active);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw storageError(active, err);
    }
    const before = this.lastSeq;
    let firstKept: number | undefined;
    const read = (file: string, from: number, ino: number | undefined): number | undefined => {
      const buf = readFrom(file, from, ino);
      if (!buf) return undefined;
      if (!buf.length) return from;
      const n = out.events.length;
      const start = from === 0 ? (buf.subarray(0, 8).equals(MAGIC) ? 8 : -1) : 0;
      if (start < 0) {
        out.damaged++;
        return buf.length;
      }
      const all: EventsRead = { events: [], damaged: 0 };
      const r = parseFrames(this.keys, buf.subarray(start), 0, all);
      out.damaged += all.damaged;
      if (all.events.length) firstKept ??= all.events[0]!.seq;
      for (const e of all.events) if (e.seq > this.lastSeq) out.events.push(e);
      if (out.events.length > n) this.lastSeq = out.events.at(-1)!.seq;
      return from + start + r.used;
    };
    if (st && this.ino !== undefined && st.ino !== this.ino) {
      // Rotated since: the rest of the file we were reading is the old one now (if still there).
      read(oldPath(this.dataDir), this.offset, this.ino);
      this.offset = 0;
    } else if (this.ino === undefined) {
      // First look: the old file, then the active one, from their starts.
      read(oldPath(this.dataDir), 0, undefined);
      this.offset = 0;
    }
    if (st) {
      this.ino = st.ino;
      this.offset = read(active, this.offset, st.ino) ?? this.offset;
    }
    this.damaged += out.damaged;
    // Events between the position asked for and the oldest one read were dropped by the bound.
    const oldest = out.events[0]?.seq ?? firstKept;
    const dropped = oldest !== undefined && oldest > before + 1 && before > 0 ? oldest - before - 1 : 0;
    return { events: out.events, dropped };
  }
}

// The bytes of `file` from `from`, if it is still the file with inode `ino` (when given).
function readFrom(file: string, from: number, ino: number | undefined): Buffer | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw storageError(file, err);
  }
  try {
    const st = fs.fstatSync(fd);
    if (ino !== undefined && st.ino !== ino) return undefined;
    if (st.size <= from) return Buffer.alloc(0);
    const buf = Buffer.alloc(st.size - from);
    let got = 0;
    while (got < buf.length) {
      const n = fs.readSync(fd, buf, got, buf.length - got, from + got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    fs.closeSync(fd);
  }
}

/** Every kept event after `after` (a one-off read: MCP get_events, the page). */
export function readEvents(dataDir: string, keys: SubKeys, after = 0): { events: BgEvent[]; dropped: number } {
  return new EventReader(dataDir, keys, after).poll();
}

/** The seq of the newest event kept; 0 when there is none. */
export function lastEventSeq(dataDir: string): number {
  return lastSeqOf(eventsPath(dataDir)) || lastSeqOf(oldPath(dataDir));
}
