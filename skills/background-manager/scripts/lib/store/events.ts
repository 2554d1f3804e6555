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

/** A frame is at least this long (lengths, seq, nonce, tag, the smallest JSON): a bound on how many were torn. */
const MIN_FRAME_BYTES = 40;
/** No frame is longer: its texts are cut to MAX_TEXT_CHARS. */
const MAX_FRAME_BYTES = 64 * 1024;
/** The most read of one file: its bound plus one frame (the first of a file may pass it). */
export const MAX_EVENT_READ_BYTES = MAX_EVENT_FILE_BYTES + MAX_FRAME_BYTES;

/** One of the event files is not what the tool writes: reported, and skipped. */
export class EventFileDamage extends Error {}

/**
 * Open an event file without following a symbolic link, and check it is a regular file of this
 * user's no longer than the bound. undefined: there is none. Throws EventFileDamage otherwise.
 */
function openEventFile(file: string, flags = fs.constants.O_RDONLY): { fd: number; size: number } | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, flags | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK, FILE_MODE);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    if (isErrno(err, 'ELOOP'))
      throw new EventFileDamage(`${file} is damaged: a symbolic link, not a regular file; not read`);
    throw storageError(file, err);
  }
  const st = fs.fstatSync(fd);
  const problem = !st.isFile()
    ? 'not a regular file'
    : process.getuid && st.uid !== process.getuid()
      ? `owned by uid ${st.uid}, not this user`
      : st.size > MAX_EVENT_READ_BYTES
        ? `${st.size} bytes, larger than the ${MAX_EVENT_READ_BYTES} an event file can hold`
        : undefined;
  if (problem) {
    fs.closeSync(fd);
    throw new EventFileDamage(`${file} is damaged: ${problem}; not read`);
  }
  return { fd, size: st.size };
}

function readAt(fd: number, from: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buf, got, length - got, from + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

type Frame = { seq: number; plain: Buffer | undefined; next: number };

/**
 * The frame at `off` of `buf`: 'short' when its length runs past the end (torn, or still being
 * written), 'bad' when its framing does not hold; with `keys`, plain is its opened JSON
 * (undefined: it failed its check).
 */
function frameAt(buf: Buffer, off: number, keys?: SubKeys): Frame | 'short' | 'bad' {
  if (off + 12 > buf.length) return 'short';
  const len = buf.readUInt32BE(off);
  if (len < MIN_FRAME_BYTES - 8 || len > MAX_FRAME_BYTES) return 'bad';
  if (off + 4 + len + 4 > buf.length) return 'short';
  if (buf.readUInt32BE(off + 4 + len) !== len) return 'bad';
  const seq = Number(buf.readBigUInt64BE(off + 4));
  const plain = keys ? open(keys, aad(seq), buf.subarray(off + 12, off + 4 + len)) : undefined;
  return { seq, plain, next: off + 4 + len + 4 };
}

/** The next place after `from` where a whole frame starts (that opens, with `keys`). */
function resync(buf: Buffer, from: number, keys?: SubKeys): number | undefined {
  for (let p = from; p + 12 <= buf.length; p++) {
    const f = frameAt(buf, p, keys);
    if (typeof f === 'object' && (!keys || f.plain)) return p;
  }
  return undefined;
}

/**
 * Where a file's whole frames end and the last one's seq, walking its frames (past damage);
 * `torn`: bytes after the last whole frame. With keys a frame counts only if it opens.
 */
function lastGoodOf(buf: Buffer, keys?: SubKeys): { end: number; seq: number; torn: number; magic: boolean } {
  if (buf.length < MAGIC.length || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    return { end: 0, seq: 0, torn: buf.length, magic: false };
  }
  let off = MAGIC.length;
  let end = off;
  let seq = 0;
  while (off < buf.length) {
    const f = frameAt(buf, off, keys);
    if (typeof f === 'object' && (!keys || f.plain)) {
      seq = Math.max(seq, f.seq);
      off = end = f.next;
      continue;
    }
    const next = resync(buf, off + 1, keys);
    if (next === undefined) break;
    off = next;
  }
  return { end, seq, torn: buf.length - end, magic: true };
}

/** Most often the last frame is whole: its trailer finds it without reading the file. */
function tailSeq(f: { fd: number; size: number }, keys?: SubKeys): number | undefined {
  if (f.size < MAGIC.length + 16) return undefined;
  const len = readAt(f.fd, f.size - 4, 4).readUInt32BE(0);
  const start = f.size - 4 - len - 4;
  if (start < MAGIC.length) return undefined;
  const frame = frameAt(readAt(f.fd, start, 8 + len), 0, keys);
  return typeof frame === 'object' && (!keys || frame.plain) ? frame.seq : undefined;
}

/** The seq of a file's last whole frame; 0: none (or the file is not one of ours). */
function lastSeqOf(file: string, keys?: SubKeys): number {
  let f: { fd: number; size: number } | undefined;
  try {
    f = openEventFile(file);
  } catch (err) {
    if (err instanceof EventFileDamage) return 0;
    throw err;
  }
  if (!f) return 0;
  try {
    const tail = tailSeq(f, keys);
    if (tail !== undefined) return tail;
    return lastGoodOf(readAt(f.fd, 0, f.size), keys).seq;
  } finally {
    fs.closeSync(f.fd);
  }
}

/**
 * Before an append (under the lock): the seq to number from, with a torn or damaged tail of
 * `events.enc` cut off (a write cut short by a full disk or a kill). Numbering goes on past
 * every frame the torn bytes could have held, so no reader that saw one sees its seq again.
 */
function repairTail(dataDir: string, keys: SubKeys): number {
  const file = eventsPath(dataDir);
  let f: { fd: number; size: number } | undefined;
  try {
    f = openEventFile(file, fs.constants.O_RDWR);
  } catch (err) {
    if (!(err instanceof EventFileDamage) || isSymlink(file)) throw err;
    // Not one we could have written whole (too long): set aside as the old file; a reader reports it.
    const before = lastSeqOf(oldPath(dataDir), keys);
    rotate(dataDir);
    return before + 1 + Math.ceil(MAX_EVENT_READ_BYTES / MIN_FRAME_BYTES);
  }
  if (!f) return lastSeqOf(oldPath(dataDir), keys);
  try {
    const tail = tailSeq(f, keys);
    if (tail !== undefined) return tail;
    const good = lastGoodOf(readAt(f.fd, 0, f.size), keys);
    const base = good.seq || lastSeqOf(oldPath(dataDir), keys);
    if (!good.torn) return base;
    try {
      fs.ftruncateSync(f.fd, good.magic ? good.end : 0);
      fs.fdatasyncSync(f.fd);
    } catch (err) {
      throw storageError(file, err);
    }
    return base + 1 + Math.floor(good.torn / MIN_FRAME_BYTES);
  } finally {
    fs.closeSync(f.fd);
  }
}

function isSymlink(file: string): boolean {
  try {
    return fs.lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

function rotate(dataDir: string): void {
  try {
    fs.renameSync(eventsPath(dataDir), oldPath(dataDir)); // the oldest events go
  } catch (err) {
    throw storageError(eventsPath(dataDir), err);
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
    const last = repairTail(dataDir, keys);
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
      rotate(dataDir);
      size = 0;
    }
    let fd: number | undefined;
    try {
      fd = fs.openSync(
        file,
        fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW,
        FILE_MODE,
      );
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
  /** What was damaged, one sentence each (`<file> is damaged: ...`). */
  damage: string[];
}

/**
 * Parse the frames of `buf` (bytes of `file` from `base`); `used`: bytes read past. A span that
 * fails its check is skipped to the next whole frame that opens, and named; a torn end with no
 * frame after it is left to be read again (it may still be being written, or be cut off by the
 * next append).
 */
function parseFrames(
  keys: SubKeys,
  buf: Buffer,
  file: string,
  base: number,
  out: EventsRead,
): { used: number; last?: { at: number; seq: number } } {
  let off = 0;
  let last: { at: number; seq: number } | undefined;
  let lastSeq = 0;
  const damaged = (from: number, to: number) => {
    out.damaged++;
    out.damage.push(`${file} is damaged: bytes ${base + from}..${base + to - 1} failed the integrity check; skipped`);
  };
  while (off < buf.length) {
    const f = frameAt(buf, off, keys);
    if (typeof f !== 'object' || !f.plain) {
      const next = resync(buf, off + 1, keys);
      if (next === undefined) {
        if (f !== 'short') damaged(off, buf.length);
        break;
      }
      damaged(off, next);
      off = next;
      continue;
    }
    last = { at: base + off, seq: f.seq };
    off = f.next;
    if (f.seq <= lastSeq) {
      if (f.seq < lastSeq) out.damaged++; // out of order: not shown twice
      continue;
    }
    lastSeq = f.seq;
    try {
      out.events.push(JSON.parse(f.plain.toString('utf8')) as BgEvent);
    } catch {
      out.damaged++;
    }
  }
  return { used: off, last };
}

/**
 * A reader that follows the event log: each poll() returns the events appended since the last
 * one. It holds the active file's inode and how far it read: after a rotation that inode is the
 * old file, whose rest it reads first.
 */
export class EventReader {
  private ino: number | undefined;
  private offset = 0;
  /** Where the last frame read of the active file starts, and its seq: checked again before reading on. */
  private tail: { at: number; seq: number } | undefined;
  /** The seq of the newest event seen (read, or skipped as older than asked). */
  lastSeq: number;
  damaged = 0;
  /** Damage already reported (each once). */
  private told = new Set<string>();

  constructor(
    private readonly dataDir: string,
    private readonly keys: SubKeys,
    after = 0,
  ) {
    this.lastSeq = after;
  }

  /**
   * The events after lastSeq, oldest first; `dropped`: events after `lastSeq` no longer kept;
   * `damage`: what was found damaged since the last poll (skipped; never more than the bound read).
   */
  poll(): { events: BgEvent[]; dropped: number; damage: string[] } {
    const out: EventsRead = { events: [], damaged: 0, damage: [] };
    const active = eventsPath(this.dataDir);
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(active);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw storageError(active, err);
    }
    const before = this.lastSeq;
    let firstKept: number | undefined;
    const read = (file: string, from: number, ino: number | undefined, isActive = false): number | undefined => {
      const cutBack = isActive && from > 0 && !this.stillThere(file, ino);
      if (cutBack) {
        // The file was cut back under us (a torn tail repaired): read it again from its start; the
        // seqs already seen are not shown twice (numbering went on past them).
        from = 0;
      }
      let buf: Buffer | undefined;
      try {
        buf = readFrom(file, from, ino);
      } catch (err) {
        if (!(err instanceof EventFileDamage)) throw err;
        out.damaged++;
        out.damage.push(err.message);
        return undefined;
      }
      if (!buf) return undefined;
      if (!buf.length) return from;
      const n = out.events.length;
      const start = from === 0 ? (buf.subarray(0, 8).equals(MAGIC) ? 8 : -1) : 0;
      if (start < 0) {
        if (buf.length < MAGIC.length && MAGIC.subarray(0, buf.length).equals(buf)) return from; // being made
        out.damaged++;
        out.damage.push(`${file} is damaged: not an event log (bad header); not read`);
        return from;
      }
      const all: EventsRead = { events: [], damaged: 0, damage: [] };
      const { used, last } = parseFrames(this.keys, buf.subarray(start), file, from + start, all);
      if (isActive && last) this.tail = last;
      out.damaged += all.damaged;
      out.damage.push(...all.damage);
      if (all.events.length && from === 0 && !cutBack) firstKept ??= all.events[0]!.seq;
      for (const e of all.events) if (e.seq > this.lastSeq) out.events.push(e);
      if (out.events.length > n) this.lastSeq = out.events.at(-1)!.seq;
      return from + start + used;
    };
    if (st && this.ino !== undefined && st.ino !== this.ino) {
      // Rotated since: the rest of the file we were reading is the old one now (if still there).
      read(oldPath(this.dataDir), this.offset, this.ino);
      this.offset = 0;
      this.tail = undefined;
    } else if (this.ino === undefined) {
      // First look: the old file, then the active one, from their starts.
      read(oldPath(this.dataDir), 0, undefined);
      this.offset = 0;
    }
    if (st) {
      this.ino = st.ino;
      this.offset = read(active, this.offset, st.ino, true) ?? this.offset;
    }
    this.damaged += out.damaged;
    const damage = out.damage.filter((d) => !this.told.has(d));
    for (const d of damage) this.told.add(d);
    // Events between the position asked for and the oldest one read were dropped by the bound.
    const oldest = out.events[0]?.seq ?? firstKept;
    const dropped = oldest !== undefined && oldest > before + 1 && before > 0 ? oldest - before - 1 : 0;
    return { events: out.events, dropped, damage };
  }

  /** Whether the last frame read of the active file is still where it was (not cut off). */
  private stillThere(file: string, ino: number | undefined): boolean {
    if (!this.tail) return true;
    let buf: Buffer | undefined;
    try {
      buf = readFrom(file, this.tail.at, ino, this.offset - this.tail.at);
    } catch {
      return false;
    }
    const f = buf && frameAt(buf, 0, this.keys);
    return typeof f === 'object' && !!f.plain && f.seq === this.tail.seq && f.next === buf!.length;
  }
}

// The bytes of `file` from `from`, if it is still the file with inode `ino` (when given): never
// through a symbolic link, never more than MAX_EVENT_READ_BYTES (openEventFile's checks).
function readFrom(file: string, from: number, ino: number | undefined, most = Infinity): Buffer | undefined {
  const f = openEventFile(file);
  if (!f) return undefined;
  try {
    if (ino !== undefined && fs.fstatSync(f.fd).ino !== ino) return undefined;
    if (f.size <= from) return Buffer.alloc(0);
    return readAt(f.fd, from, Math.min(most, f.size - from));
  } finally {
    fs.closeSync(f.fd);
  }
}

/** Every kept event after `after` (a one-off read: MCP get_events, the page). */
export function readEvents(
  dataDir: string,
  keys: SubKeys,
  after = 0,
): { events: BgEvent[]; dropped: number; damage: string[] } {
  return new EventReader(dataDir, keys, after).poll();
}

/** The seq of the newest event kept; 0 when there is none. */
export function lastEventSeq(dataDir: string): number {
  return lastSeqOf(eventsPath(dataDir)) || lastSeqOf(oldPath(dataDir));
}
