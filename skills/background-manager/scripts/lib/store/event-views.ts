// Where each view of the event log stopped: watch_processes --new (and MCP get_events with a
// view) start after the last event that view was shown, as get_logs --new keeps its place per
// view in the state. One small encrypted JSON document, `events.views.enc`, replaced atomically
// under its own lock (not the state's: a watcher saving its place must not hold up a start).
import path from 'node:path';
import { BgError } from '../errors.ts';
import { open, seal, type SubKeys } from './crypto.ts';
import { readIfExists } from './fsutil.ts';
import { withLock } from './lock.ts';

export const VIEWS_FILE = 'events.views.enc';
const MAGIC = Buffer.from('BGVIEWS1', 'latin1');
/** Views kept; the least recently saved go first. */
export const MAX_EVENT_VIEWS = 64;

interface ViewsDoc {
  version: 1;
  views: Record<string, { seq: number; at: string }>;
}

function decode(file: string, keys: SubKeys, raw: Buffer | undefined): ViewsDoc {
  if (!raw) return { version: 1, views: {} };
  const plain = raw.subarray(0, 8).equals(MAGIC) ? open(keys, MAGIC, raw.subarray(8)) : undefined;
  try {
    if (plain) {
      const doc = JSON.parse(plain.toString('utf8')) as ViewsDoc;
      if (doc.version === 1 && doc.views && typeof doc.views === 'object') return doc;
    }
  } catch {
    /* below */
  }
  throw new BgError(
    'DAMAGED',
    `${file} is damaged (it failed its integrity check). Delete it: every watch_processes --new view then starts with the events from now on.`,
  );
}

/** The seq after which `view` continues; undefined: this view never saved a place. */
export function readViewSeq(dataDir: string, keys: SubKeys, view: string): number | undefined {
  const file = path.join(dataDir, VIEWS_FILE);
  return decode(file, keys, readIfExists(file)).views[view]?.seq;
}

/** Save `seq` as where `view` stopped (never moved back: two watchers of one view may overlap). */
export async function saveViewSeq(dataDir: string, keys: SubKeys, view: string, seq: number): Promise<void> {
  const file = path.join(dataDir, VIEWS_FILE);
  await withLock(file, (lock) => {
    const raw = readIfExists(file);
    const doc = decode(file, keys, raw);
    const old = doc.views[view];
    if (old && old.seq >= seq) return;
    delete doc.views[view]; // set again below: the newest last
    const keep = Object.keys(doc.views).slice(-(MAX_EVENT_VIEWS - 1));
    doc.views = Object.fromEntries([
      ...keep.map((k) => [k, doc.views[k]!] as const),
      [view, { seq, at: new Date().toISOString() }],
    ]);
    const data = Buffer.concat([MAGIC, seal(keys, MAGIC, Buffer.from(JSON.stringify(doc), 'utf8'))]);
    lock.replace(file, data, () => {
      const now = readIfExists(file);
      return raw ? !!now?.equals(raw) : now === undefined;
    });
  });
}
