// attach's use case, once for every front end (attach_process, the page): a viewer of a running
// PTY process, held by its supervisor over the authenticated control channel
// (lib/control/protocol.ts Channel; supervisor/viewers.ts). It gets the terminal's output
// live, types into it (unless read-only) and has a size: the terminal takes the smallest
// viewer's size, and its default again when the last one leaves, each change in the log.
// The screen as it stood when the viewer joined is the log's (firstScreen): the supervisor
// answers with the log's sequence number up to which every byte came before the live ones.
import { EventEmitter } from 'node:events';
import { openControlStream, type AttachReply, type Channel } from '../control/protocol.ts';
import { BgError } from '../errors.ts';
import { logFileOf } from '../log/format/logset.ts';
import { readerOf } from '../log/read/read-modes.ts';
import { replaySinceReset } from '../log/read/screen.ts';
import { replayAnsi, type AnsiScreen } from '../log/read/screen-ansi.ts';
import { SIZE_LIMIT, type TermSize } from '../log/read/term-size.ts';
import { liveStatus, supervisorAlive } from '../process/status.ts';
import type { Context } from '../store/context.ts';
import type { ProcessRecord } from '../store/state.ts';

const ATTACH_TIMEOUT_MS = 30_000;

export interface ViewerOptions extends TermSize {
  readOnly: boolean;
}

/**
 * A viewer's events: 'out' (Buffer: the terminal's output), 'size' (TermSize: the terminal's
 * new size), 'redraw' (the viewer fell behind and was sent nothing for a while: draw
 * firstScreen(seq) again, then 'out' goes on), 'end' (string: the process ended), 'close'.
 */
export class Viewer extends EventEmitter {
  constructor(
    private readonly ctx: Context,
    readonly rec: ProcessRecord,
    private readonly ch: Channel,
    /** Where the log stood when the viewer joined, the terminal's size then, how many watch. */
    readonly start: AttachReply,
  ) {
    super();
    ch.frames((f) => {
      if (f.t === 'out' && typeof f.d === 'string') this.emit('out', Buffer.from(f.d, 'base64'));
      else if (f.t === 'size') this.emit('size', { cols: Number(f.cols), rows: Number(f.rows) });
      else if (f.t === 'redraw')
        this.emit('redraw', f.seq === undefined ? undefined : Number(f.seq), {
          cols: Number(f.cols),
          rows: Number(f.rows),
        });
      else if (f.t === 'end') this.emit('end', String(f.text ?? 'the process ended'));
    });
    ch.onClose(() => this.emit('close'));
  }

  /** The screen before the live output (or, after a 'redraw', before `seq`), at the size in force. */
  async firstScreen(seq = this.start.seq, size: TermSize = this.start): Promise<AnsiScreen> {
    const reader = readerOf(this.ctx, this.rec, logFileOf(this.ctx.dataDir, this.rec));
    const r = replaySinceReset(reader, size, undefined, seq);
    return replayAnsi(r.parts, r.start);
  }

  /** Type: the bytes go to the terminal as they are (read-only viewers' are dropped by the supervisor). */
  write(data: Buffer): void {
    if (data.length) this.ch.send({ t: 'in', d: data.toString('base64') });
  }

  /** The viewer's own size changed (its window was resized). */
  resize(size: TermSize): void {
    this.ch.send({ t: 'size', cols: clampSize(size.cols), rows: clampSize(size.rows) });
  }

  /** Leave; the process runs on. */
  close(): void {
    this.ch.close();
  }

  get closed(): boolean {
    return this.ch.isClosed;
  }
}

const clampSize = (n: number) => Math.max(1, Math.min(SIZE_LIMIT, Math.floor(n) || 1));

/** Refused unless `rec` runs under a terminal with its supervisor: the message says why and what to do. */
export function checkAttachable(rec: ProcessRecord): void {
  if (!rec.pty)
    throw new BgError(
      'REFUSED',
      `process ${rec.id} runs without a terminal (--no-pty): there is no screen to attach to. Read its output with get_logs and type with send_input.`,
    );
  const st = liveStatus(rec);
  if (st.status === 'orphaned')
    throw new BgError(
      'NOT_RUNNING',
      `process ${rec.id} runs on, but its supervisor is gone, so nothing can reach its terminal. Stop it with stop_process and start it again.`,
    );
  if (st.status !== 'running' || !rec.socket || !supervisorAlive(rec))
    throw new BgError(
      'NOT_RUNNING',
      `process ${rec.id} is not running (${st.label}); only a running process can be attached. Its last screen: get_logs ${rec.id} --screen`,
    );
}

/** Attach to `rec` as a viewer of the given size. */
export async function openViewer(ctx: Context, rec: ProcessRecord, o: ViewerOptions): Promise<Viewer> {
  checkAttachable(rec);
  if (!ctx.unlocked) throw new BgError('NO_PASSWORD', 'BG_PASSWORD is needed to attach.');
  const { reply, channel } = await openControlStream(
    rec.socket!,
    ctx.unlocked.keys.control,
    { type: 'attach', cols: clampSize(o.cols), rows: clampSize(o.rows), readOnly: o.readOnly },
    ATTACH_TIMEOUT_MS,
  );
  if (!reply.ok) throw new BgError(reply.code, `cannot attach to process ${rec.id}: ${reply.message}`);
  if (!channel || !reply.attach)
    throw new BgError(
      'SUPERVISOR',
      `the supervisor of process ${rec.id} does not take viewers (an older version?); restart the process.`,
    );
  return new Viewer(ctx, rec, channel, reply.attach);
}

/** What send_input adds while people are attached (the state's `viewers`). */
export function attachedNote(rec: ProcessRecord): string | undefined {
  const n = rec.viewers ?? 0;
  if (n <= 0) return undefined;
  return `note: ${n === 1 ? 'a person is' : `${n} people are`} attached to process ${rec.id} (attach_process) and may be typing too.`;
}

/** The default --detach-key: Ctrl-] (as telnet and docker attach). */
export const DETACH_KEY = 'ctrl-]';

/** The byte a --detach-key stands for: ctrl-<letter or one of @[\\]^_>, also written ^X. */
export function detachKeyByte(spec: string): number {
  const m = /^(?:ctrl-|\^)(.)$/i.exec(spec.trim());
  const c = m?.[1]?.toUpperCase().charCodeAt(0);
  if (c === undefined || c < 0x40 || c > 0x5f)
    throw new BgError(
      'USAGE',
      `--detach-key ${JSON.stringify(spec)} is not a control key: give ctrl-<letter> or one of ctrl-] ctrl-\\ ctrl-^ ctrl-_ ctrl-@ (default ${DETACH_KEY}).`,
    );
  return c & 0x1f;
}

/** How a detach key reads in the banner: Ctrl-]. */
export function keyLabel(byte: number): string {
  return `Ctrl-${String.fromCharCode(byte | 0x40)}`;
}
