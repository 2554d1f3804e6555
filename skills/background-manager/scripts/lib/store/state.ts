// The state: one encrypted JSON document listing every managed process. Reads need no lock
// (the file is only ever replaced by rename); every change goes through update(), which holds
// a proper-lockfile lock across the whole read-modify-write and replaces the file only while
// the lock is still its own and the file still the one it read (lock.ts).
import { layerName, type ProcessLayerName } from '../util/platform.ts';
import fs from 'node:fs';
import path from 'node:path';
import { BgError, isErrno } from '../errors.ts';
import { open, seal, type SubKeys } from './crypto.ts';
import { ensureDir, readIfExists, storageError } from './fsutil.ts';
import { LockLostError, withLock, type HeldLock } from './lock.ts';
import { KEY_FILE, readStateFloor, withStateFloor } from './keys.ts';
import { decryptOpenssl, isOpensslFile, parseLegacyState, type LegacyEntry } from './legacy.ts';
import type { Provenance } from '../util/git.ts';

export const STATE_FILE = 'processes.json.enc';
export const LEGACY_BACKUP_SUFFIX = '.python-backup';
const STATE_MAGIC = Buffer.from('BGSTATE1', 'latin1');

export type RestartMode = 'no' | 'on-failure' | 'always';
/** Why a process was asked to end: stop_process, --timeout, --replace, restart_process, remove_process. */
export type StopReason = 'stop' | 'timeout' | 'replace' | 'restart' | 'remove';

/** A process of the command's session or group that outlived it. */
export interface Leftover {
  pid: number;
  startTicks: number;
  name: string; // its command name (/proc/<pid>/comm)
}

/** When a process counts as started: a line matching `pattern`, a listening `port`, or both. */
export interface Readiness {
  pattern?: string;
  port?: number;
  timeoutSec: number;
}

/** A log position (logset.ts Cursor): segment file ID, record offset, next seq, bytes of it read. */
export interface NewCursor {
  fileId: string;
  offset: number;
  seq: number;
  skip?: number;
}

export interface ProcessRecord {
  id: string;
  command: string; // as shown to people
  argv: string[]; // what was executed (a single shell line runs as ["sh", "-c", line])
  cwd: string;
  pty: boolean;
  pid: number; // the child's PID
  startTicks?: number; // the child's start time: linux layer, /proc/<pid>/stat field 22; portable, seconds since 1970
  bootId?: string;
  /** The process layer that recorded it (absent: linux); a call with the other layer refuses the data dir. */
  platform?: ProcessLayerName;
  supervisorPid?: number;
  supervisorStartTicks?: number;
  socket?: string; // the supervisor's control socket (abstract namespace)
  startedAt: string; // ISO time
  endedAt?: string;
  exitCode?: number | null;
  signal?: string | null;
  stopRequest?: { signal: string; at: string; reason?: StopReason }; // set when an end was asked for
  name?: string; // unique among live processes
  env?: Record<string, string>; // the --env values (the rest of the environment is the caller's)
  /** --secret-env: each variable named, with its value (from --env or the caller's environment), hidden from reads. */
  secretEnv?: Record<string, string>;
  restart?: { mode: RestartMode; max: number };
  timeoutSec?: number; // stopped this long after it started
  ready?: Readiness; // start_process --wait-for/--wait-port: restart_process waits the same way
  provenance?: Provenance; // the caller's folder and its git checkout (lib/util/git.ts); the commit read again at each restart
  leftovers?: Leftover[]; // background jobs still running when the command ended (stop_process ends them)
  treeMark?: string; // the value of BACKGROUND_MANAGER_TREE in the command's environment (lib/process/proc.ts markedWith)
  restarts?: number; // automatic restarts so far
  restartingAt?: string; // between runs: when the next run starts
  restartClaim?: { token: string; pid: number; at: string }; // restart_process: the one call starting the next run (lib/commands/restart_process.ts)
  gaveUp?: boolean; // the restart policy wanted another run but the budget was used up
  lastExit?: { exitCode: number | null; signal: string | null; at: string }; // of the previous run
  ended?: boolean; // the supervisor saw the child exit and recorded how
  viewers?: number; // people attached now (attach_process, the page), while the supervisor runs
  ptySize?: { cols: number; rows: number }; // the terminal's size when not the default (viewers resized it)
  logFile: string; // relative to the data dir (the active segment; see logset.ts)
  maxLogSize?: number;
  logDropped?: { bytes: number; records: number }; // removed by the size cap so far
  logVersion?: 2; // its log is chained (v2 segment headers): a v1 segment is refused (logset.ts)
  logEnd?: number; // the seq after the log's last record, committed when the process ended
  newCursor?: NewCursor; // where get_logs --new (output, no --grep) stopped
  newCursors?: Record<string, NewCursor>; // the same for other --stream/--grep views, by view
  legacy?: { status?: string; inputFile?: string }; // imported from the Python skill
  waitingForInput?: boolean | null; // the supervisor's input watch (supervisor/waiting.ts): null = cannot tell; absent = a supervisor without the watch
  waitingSince?: string; // ISO time waitingForInput last changed
  waitingDetail?: string; // waiting: "PID 123: read on fd 0"; unknown: why
}

export interface StateDoc {
  version: 1;
  generation?: number; // +1 on every write (absent before the first one): a lost or rolled-back write shows
  processes: ProcessRecord[];
}

export { withLock };

// A writer that lost its lock runs again on fresh state this many times before it gives up (exit 7).
const LOST_LOCK_ATTEMPTS = 3;

function emptyDoc(): StateDoc {
  return { version: 1, processes: [] };
}

export function encodeState(keys: SubKeys, doc: StateDoc): Buffer {
  return Buffer.concat([STATE_MAGIC, seal(keys, STATE_MAGIC, Buffer.from(JSON.stringify(doc), 'utf8'))]);
}

function damaged(file: string, why: string): BgError {
  return new BgError(
    'DAMAGED',
    `state file ${file} is damaged (${why}). It was left as it is; restore it from a backup, or move it away to start with an empty list.`,
  );
}

export function decodeState(file: string, keys: SubKeys, raw: Buffer): StateDoc {
  if (!raw.subarray(0, 8).equals(STATE_MAGIC)) throw damaged(file, 'unknown header');
  const plain = open(keys, STATE_MAGIC, raw.subarray(8));
  if (!plain) throw damaged(file, 'failed its integrity check');
  try {
    const doc = JSON.parse(plain.toString('utf8')) as StateDoc;
    if (doc.version !== 1 || !Array.isArray(doc.processes)) throw new Error('shape');
    return doc;
  } catch {
    throw damaged(file, 'unreadable content');
  }
}

/**
 * A data dir belongs to the process layer that recorded its processes (issue 29): the other
 * layer would read their start times in another unit and take them for strangers (or worse).
 */
function refuseOtherLayer(dataDir: string, doc: StateDoc): void {
  const mine = layerName();
  const other = doc.processes.find((p) => !p.legacy && (p.platform ?? 'linux') !== mine);
  if (!other) return;
  const theirs = other.platform ?? 'linux';
  const set = process.env.BG_PLATFORM?.trim();
  const why = set ? `BG_PLATFORM=${set}` : process.platform === 'linux' ? 'the default on Linux' : 'the only one here';
  throw new BgError(
    'STORAGE',
    `data dir ${dataDir} holds processes recorded by the ${theirs} process layer (${other.id} and maybe more), and this call uses the ${mine} one (${why}): it cannot tell their PIDs apart from strangers'. Use the layer that started them (${theirs === 'linux' ? 'unset BG_PLATFORM' : 'BG_PLATFORM=portable'}), or another data dir (BG_DATA_DIR).`,
  );
}

function rolledBack(file: string, generation: number, floor: number): BgError {
  return new BgError(
    'DAMAGED',
    `${file} was rolled back: it holds generation ${generation}, but key.json vouches that generation ${floor} was written. It is an older copy (restored from a backup, or put back by someone), and processes started since may run on untracked. Put the newest ${path.basename(file)} back; or, to trust this one, delete the "state" entry from key.json.`,
  );
}

function importLegacy(entries: LegacyEntry[]): StateDoc {
  const doc = emptyDoc();
  for (const e of entries) {
    const t = typeof e.start_time === 'number' ? new Date(e.start_time * 1000) : new Date(e.start_time ?? 0);
    doc.processes.push({
      id: e.id,
      command: e.command,
      argv: ['sh', '-c', e.command],
      cwd: e.cwd ?? '',
      pty: true,
      pid: e.pid,
      startedAt: Number.isNaN(t.getTime()) ? new Date(0).toISOString() : t.toISOString(),
      logFile: e.log_file ? path.join('logs', path.basename(e.log_file)) : path.join('logs', `${e.id}.log.enc`),
      legacy: { status: e.status, inputFile: e.input_file },
    });
  }
  return doc;
}

export interface StateStoreOptions {
  dataDir: string;
  keys?: SubKeys; // undefined while no key file exists yet (nothing of ours is stored)
  password?: string; // needed only to read the Python skill's state file
}

export class StateStore {
  readonly file: string;
  readonly dataDir: string;
  private readonly keys?: SubKeys;
  private readonly password?: string;

  constructor(opts: StateStoreOptions) {
    this.dataDir = opts.dataDir;
    this.file = path.join(opts.dataDir, STATE_FILE);
    this.keys = opts.keys;
    this.password = opts.password;
  }

  // Have key.json vouch for the generation just written. After the state, never before (else a
  // crash between the two would read as a rollback); best effort: if it fails, the state is
  // written all the same, and only a rollback to the generations in between goes unseen.
  private raiseFloor(lock: HeldLock, keys: SubKeys, generation: number): void {
    try {
      const { generation: floor, raw } = readStateFloor(this.dataDir, keys);
      if (!raw || floor >= generation) return;
      lock.replace(
        path.join(this.dataDir, KEY_FILE),
        withStateFloor(raw, keys, generation),
        () => !!readIfExists(path.join(this.dataDir, KEY_FILE))?.equals(raw),
      );
    } catch {
      /* see above */
    }
  }

  /** The current document; an absent file is an empty list. Never writes. */
  read(): StateDoc {
    return this.readRaw().doc;
  }

  private readRaw(): { doc: StateDoc; legacy: boolean; raw?: Buffer; floor: number } {
    // key.json's generation first: writers raise it after the state, so read in this order
    // a state is never older than it, unless it was rolled back.
    const floor = this.keys ? readStateFloor(this.dataDir, this.keys).generation : 0;
    const raw = readIfExists(this.file);
    if (!raw) return { doc: emptyDoc(), legacy: false, floor };
    if (isOpensslFile(raw)) return { doc: this.readLegacy(raw), legacy: true, raw, floor };
    if (!this.keys) {
      throw new BgError(
        'DAMAGED',
        `${this.file} exists but the key file ${path.join(this.dataDir, 'key.json')} is missing. Restore key.json from a backup.`,
      );
    }
    const doc = decodeState(this.file, this.keys, raw);
    if ((doc.generation ?? 0) < floor) throw rolledBack(this.file, doc.generation ?? 0, floor);
    refuseOtherLayer(this.dataDir, doc);
    return { doc, legacy: false, raw, floor };
  }

  private readLegacy(raw: Buffer): StateDoc {
    if (this.password === undefined)
      throw new BgError(
        'NO_PASSWORD',
        `${this.file} is in the Python skill's format; BG_PASSWORD is needed to read it.`,
      );
    const plain = decryptOpenssl(raw, this.password);
    const entries = plain?.complete ? parseLegacyState(plain.data.toString('utf8')) : undefined;
    if (!entries) {
      throw new BgError(
        'WRONG_PASSWORD',
        `wrong BG_PASSWORD for ${this.file} (the Python skill's state file), or the file is damaged. Set BG_PASSWORD to the password it was written with.`,
      );
    }
    return importLegacy(entries);
  }

  /**
   * Read, let `fn` change the document, and write it back, all under one lock. `fn` may
   * return a value; it is returned once the new state is durable. The Python skill's state
   * file is converted on the first write, its original kept beside it.
   */
  async update<T>(fn: (doc: StateDoc) => T | Promise<T>): Promise<T> {
    if (!this.keys) throw new Error('StateStore.update needs the data key');
    ensureDir(this.dataDir);
    const keys = this.keys;
    for (let attempt = 1; ; attempt++) {
      try {
        return await withLock(
          this.file,
          async (lock) => {
            const { doc, legacy, raw, floor } = this.readRaw();
            const result = await fn(doc);
            if (legacy) {
              const backup = this.file + LEGACY_BACKUP_SUFFIX;
              if (!fs.existsSync(backup)) fs.linkSync(this.file, backup);
            }
            // Past key.json's too: a state file moved away (to start afresh) restarts from there.
            doc.generation = Math.max(doc.generation ?? 0, floor) + 1;
            // Nobody else wrote since we read (a lost lock shows here): the same bytes, or still none.
            const unchanged = () => {
              const now = readIfExists(this.file);
              return raw ? !!now?.equals(raw) : now === undefined;
            };
            lock.replace(this.file, encodeState(keys, doc), unchanged);
            this.raiseFloor(lock, keys, doc.generation);
            return result;
          },
          { guards: [KEY_FILE] },
        );
      } catch (err) {
        // We stalled past the lock's stale time and another call wrote meanwhile: our change
        // was made to an old copy, so make it again on the state as it is now.
        if (err instanceof LockLostError && attempt < LOST_LOCK_ATTEMPTS) continue;
        throw err;
      }
    }
  }
}

// Used by tests and by scripts that want a missing state file to be an error.
export function stateFileExists(dataDir: string): boolean {
  try {
    fs.statSync(path.join(dataDir, STATE_FILE));
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    throw storageError(path.join(dataDir, STATE_FILE), err);
  }
}

/** Views (other than the default) whose get_logs --new position is kept, per process; the oldest go. */
const MAX_NEW_VIEWS = 16;

/** Where the last get_logs --new read of this view (undefined: the default one) stopped. */
export function newCursorOf(rec: ProcessRecord, view: string | undefined): NewCursor | undefined {
  return view === undefined ? rec.newCursor : rec.newCursors?.[view];
}

/** Record where a get_logs --new read of `view` stopped, so the next one goes on from there. */
export async function saveNewCursor(
  store: StateStore,
  id: string,
  view: string | undefined,
  end: NewCursor,
): Promise<void> {
  await store.update((doc) => {
    const r = findRecord(doc, id);
    if (!r) return;
    if (view === undefined) {
      r.newCursor = end;
      return;
    }
    const views = { ...r.newCursors };
    delete views[view]; // set again below: the newest last
    const keep = Object.keys(views).slice(-(MAX_NEW_VIEWS - 1));
    r.newCursors = Object.fromEntries([...keep.map((k) => [k, views[k]!] as const), [view, end]]);
  });
}

/** The record with this exact ID (no prefixes or names: lib/process/resolve.ts does those). */
export function findRecord(doc: StateDoc, id: string): ProcessRecord | undefined {
  return doc.processes.find((p) => p.id === id);
}
