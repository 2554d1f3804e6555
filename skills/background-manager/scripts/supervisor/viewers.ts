// The people watching a PTY process (attach_process, the page): each a kept control connection
// (lib/control/protocol.ts Channel) that gets the terminal's output live, may type, and has a
// size. The terminal takes the smallest viewer's columns and rows (each on its own), and its
// default size again when the last one leaves; every change is an event in the log
// (`terminal size: 80x24 (was 200x50)`, docs/FORMAT.md) so replays draw at the size in force.
//
// Live output never waits for a viewer: a viewer whose connection holds more than BEHIND_BYTES
// unsent is sent nothing more until it has taken it all, then a `redraw` (where the log stands:
// it draws the screen from there) and live output again. A viewer that takes nothing for
// STALLED_MS is dropped.
import type { Channel, Connection, Reply, Request } from '../lib/control/protocol.ts';
import { formatSize, SIZE_LIMIT, sizeEvent } from '../lib/log/read/term-size.ts';
import type { Supervisor } from './state.ts';

/** Unsent bytes on a viewer's connection beyond which it is behind. */
const BEHIND_BYTES = 1 << 20;
/** A viewer behind for this long, taking nothing, is dropped. */
const STALLED_MS = 60_000;

interface Viewer {
  ch: Channel;
  cols: number;
  rows: number;
  readOnly: boolean;
  behind: ReturnType<typeof setTimeout> | undefined;
}

type Size = { cols: number; rows: number };

export class Viewers {
  private readonly list = new Set<Viewer>();
  private readonly defaults: Size;
  private size: Size;
  private stateDue = false; // a state write is queued or under way
  private stateAgain = false;

  constructor(private readonly sv: Supervisor) {
    this.defaults = { cols: sv.cfg.cols, rows: sv.cfg.rows };
    this.size = { ...this.defaults };
  }

  get count(): number {
    return this.list.size;
  }

  /** An `attach` request: the connection becomes a viewer's, or is refused. */
  async attach(req: Extract<Request, { type: 'attach' }>, conn: Connection, running: boolean): Promise<Reply> {
    const { sv } = this;
    if (!sv.cfg.pty)
      return {
        ok: false,
        code: 'REFUSED',
        message: 'the process runs without a terminal (--no-pty); only PTY processes can be attached.',
      };
    if (!running)
      return { ok: false, code: 'NOT_RUNNING', message: 'the process is not running; there is nothing to attach to.' };
    for (const n of [req.cols, req.rows])
      if (!Number.isInteger(n) || n < 1 || n > SIZE_LIMIT)
        return { ok: false, code: 'USAGE', message: `a terminal size must be whole numbers from 1 to ${SIZE_LIMIT}.` };
    const v: Viewer = {
      ch: conn.keep(),
      cols: req.cols,
      rows: req.rows,
      readOnly: req.readOnly === true,
      behind: undefined,
    };
    // No output is read while the viewer joins: what the log holds up to `seq` is exactly what
    // came before its first live frame.
    const release = sv.out.hold();
    try {
      this.list.add(v);
      sv.out.tap ??= (stream, chunk) => {
        if (stream === 'stdout') this.output(chunk);
      };
      sv.out.event(`viewer attached (${formatSize(v)}${v.readOnly ? ', read-only' : ''})`);
      this.fit();
      v.ch.onClose(() => this.leave(v));
      v.ch.frames((f) => this.frame(v, f));
      this.noteState();
      const seq = await sv.out.settle();
      return { ok: true, attach: { seq, ...this.size, viewers: this.list.size } };
    } finally {
      release();
    }
  }

  private frame(v: Viewer, f: Record<string, unknown>): void {
    if (f.t === 'in' && typeof f.d === 'string') {
      if (v.readOnly || !this.sv.childRunning || this.sv.stop) return;
      void this.sv.child.write(Buffer.from(f.d, 'base64')).catch(() => undefined);
    } else if (f.t === 'size') {
      const cols = Number(f.cols);
      const rows = Number(f.rows);
      if (!Number.isInteger(cols) || !Number.isInteger(rows) || cols < 1 || rows < 1) return;
      v.cols = Math.min(cols, SIZE_LIMIT);
      v.rows = Math.min(rows, SIZE_LIMIT);
      this.fit();
    }
  }

  private leave(v: Viewer): void {
    if (!this.list.delete(v)) return;
    clearTimeout(v.behind);
    if (this.list.size === 0) this.sv.out.tap = undefined;
    if (!this.sv.ended) {
      this.sv.out.event('viewer detached');
      this.fit();
    }
    this.noteState();
  }

  // The terminal's output, to every viewer that keeps up.
  private output(chunk: Buffer): void {
    let frame: object | undefined;
    for (const v of this.list) {
      if (v.behind) continue;
      frame ??= { t: 'out', d: chunk.toString('base64') };
      v.ch.send(frame);
      if (v.ch.backlog() > BEHIND_BYTES) this.fallBehind(v);
    }
  }

  private fallBehind(v: Viewer): void {
    v.behind = setTimeout(() => v.ch.close(true), STALLED_MS);
    v.behind.unref();
    v.ch.sock.once('drain', () => void this.redraw(v));
  }

  // Caught up: where the log stands, then live output again.
  private async redraw(v: Viewer): Promise<void> {
    if (v.ch.isClosed) return;
    const release = this.sv.out.hold();
    try {
      const seq = await this.sv.out.settle();
      clearTimeout(v.behind);
      v.behind = undefined;
      v.ch.send({ t: 'redraw', seq, ...this.size });
    } finally {
      release();
    }
  }

  // The smallest viewer's size (each dimension), or the default with none; changed, it is recorded.
  private fit(): void {
    let want = this.defaults;
    if (this.list.size) {
      want = { cols: Infinity, rows: Infinity };
      for (const v of this.list) want = { cols: Math.min(want.cols, v.cols), rows: Math.min(want.rows, v.rows) };
    }
    if (want.cols === this.size.cols && want.rows === this.size.rows) return;
    const was = this.size;
    this.size = want;
    // Later runs (a restart policy) start at this size.
    this.sv.cfg.cols = want.cols;
    this.sv.cfg.rows = want.rows;
    if (this.sv.childRunning) {
      try {
        this.sv.child.resize?.(want.cols, want.rows);
      } catch {
        /* the terminal has just closed */
      }
    }
    this.sv.out.event(sizeEvent(want, was));
    for (const v of this.list) v.ch.send({ t: 'size', ...want });
    this.noteState();
  }

  /** The process ended: every viewer is told, and let go. */
  endAll(text: string): void {
    for (const v of this.list) {
      v.ch.send({ t: 'end', text });
      v.ch.close();
    }
  }

  // The state's `viewers` and `ptySize` (list_processes shows them): one write at a time, the newest values.
  private noteState(): void {
    if (this.stateDue) {
      this.stateAgain = true;
      return;
    }
    this.stateDue = true;
    void (async () => {
      do {
        this.stateAgain = false;
        const viewers = this.list.size;
        const size = this.size;
        const dflt = size.cols === this.defaults.cols && size.rows === this.defaults.rows;
        await this.sv.updateRecord((rec) => {
          if (viewers && !this.sv.ended) rec.viewers = viewers;
          else delete rec.viewers;
          if (dflt) delete rec.ptySize;
          else rec.ptySize = { ...size };
        });
      } while (this.stateAgain);
      this.stateDue = false;
    })();
  }
}
