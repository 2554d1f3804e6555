// The page as a viewer of a running PTY process (issue 28): while a person has its terminal
// open and the page is visible, the page holds a viewer (ops/attach.ts openViewer, as
// attach_process does), so the terminal takes the smallest viewer's size, the page's being
// what fits its pane. The viewer lives as long as the page's GET /api/view/<id> stream: the
// page closes it when it looks away, and a page that goes away without a word (closed, crashed,
// offline) closes it too. Its size changes by POST /api/view/<id> {viewer, cols, rows}.
// Read-only: the page types through send_input's path (/api/send), whose bytes the log records
// as input; the viewer's own output is not used (the page's terminal reads the log, feeds.ts).
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { BgError } from '../errors.ts';
import { openViewer, type Viewer } from '../ops/attach.ts';
import type { TermSize } from '../log/read/term-size.ts';
import type { Context } from '../store/context.ts';
import type { ProcessRecord } from '../store/state.ts';
import { sendEvent } from './feeds.ts';

const open = new Map<string, Viewer>();

/** A terminal size from the page (query or body); the ops layer clamps it to its limits. */
export function sizeOf(cols: unknown, rows: unknown): TermSize {
  const size = { cols: Number(cols), rows: Number(rows) };
  if (!Number.isInteger(size.cols) || !Number.isInteger(size.rows) || size.cols < 1 || size.rows < 1)
    throw new BgError('USAGE', 'a terminal size needs "cols" and "rows", whole numbers from 1.');
  return size;
}

/**
 * Hold a viewer of `rec` at `size` while `res` is open; events: `viewer` (its key, for
 * resizes), `size` (the terminal's size, each time it changes), `end`. Refused (before the
 * stream opens) as attach_process is refused: not a PTY process, not running. A request that
 * closes while the viewer opens lets it go as soon as it is open.
 */
export async function holdViewer(
  ctx: Context,
  rec: ProcessRecord,
  size: TermSize,
  res: http.ServerResponse,
  openStream: (res: http.ServerResponse) => void,
): Promise<void> {
  // Heard before the viewer opens: a request given up meanwhile must not leave a viewer holding
  // the PTY at its size until the process ends.
  let gone = false;
  let hangUp = () => {};
  const onClose = () => {
    gone = true;
    hangUp();
  };
  res.on('close', onClose);
  const viewer = await openViewer(ctx, rec, { ...size, readOnly: true });
  const key = randomUUID();
  open.set(key, viewer);
  try {
    if (gone || res.destroyed) return;
    openStream(res);
    sendEvent(res, 'viewer', key);
    sendEvent(res, 'size', { cols: viewer.start.cols, rows: viewer.start.rows });
    viewer.on('size', (s: TermSize) => sendEvent(res, 'size', s));
    await new Promise<void>((done) => {
      hangUp = done;
      viewer.on('close', done);
      viewer.on('end', done);
    });
  } finally {
    open.delete(key);
    viewer.close();
    res.off('close', onClose);
  }
  if (!res.writableEnded) sendEvent(res, 'end', 'ended');
}

/** The page's pane changed size: its viewer's size changes (the terminal's, if it is the smallest). */
export function resizeViewer(key: unknown, size: TermSize): string {
  const viewer = typeof key === 'string' ? open.get(key) : undefined;
  if (!viewer) throw new BgError('NOT_FOUND', 'no such viewer: open the terminal again.');
  viewer.resize(size);
  return `viewer resized to ${size.cols}x${size.rows}`;
}
