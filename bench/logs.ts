// Logs for the bench's size-scaling rows (bench/run.ts, bench/tail.ts), written in the format
// the product writes today: the supervisor's own LogAppender, so a capped, chained log in
// pieces (lib/log/format/logset.ts), fed batches of FLUSH_BYTES (256 KiB: where the supervisor cuts a
// batch of output under load).
import fs from 'node:fs';
import path from 'node:path';
import { listSegments } from '../skills/background-manager/scripts/lib/log/format/logset.ts';
import { FLUSH_BYTES, LogAppender } from '../skills/background-manager/scripts/lib/log/write/logsink.ts';
import type { SubKeys } from '../skills/background-manager/scripts/lib/store/crypto.ts';
import type { ProcessRecord } from '../skills/background-manager/scripts/lib/store/state.ts';

export const MiB = 1 << 20;
export const LINE = 64; // bytes per line, newline included
const LINES_PER_BATCH = FLUSH_BYTES / LINE;
/** Line `l` of batch `b`: "BBBBBBBB:LLLL ...." (63 bytes; a newline follows). */
const lineText = (b: number, l: number) =>
  `${String(b).padStart(8, '0')}:${String(l).padStart(4, '0')} `.padEnd(LINE - 1, '.');

/**
 * Write `written` bytes of output (batch(0), batch(1), ...) to the log `file` of process
 * `procId` under a cap of `cap` bytes, between a start and an exit event, as the supervisor
 * does: past the cap the oldest pieces are dropped. Returns the record's log fields as the
 * supervisor commits them at the end, and what is on disk.
 */
export function writeProductLog(
  file: string,
  procId: string,
  keys: SubKeys,
  written: number,
  cap: number,
  batch: (n: number) => Buffer,
): { fields: Partial<ProcessRecord>; pieces: number; onDisk: number } {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const log = new LogAppender({
    file,
    keys,
    procId,
    maxBytes: cap,
    dropped: { bytes: 0, records: 0 },
    lost: { bytes: 0, chunks: 0, reason: '' },
  });
  log.write([{ stream: 'event', data: Buffer.from('started: bench (PID 1)'), time: Date.now() }]);
  for (let done = 0, n = 0; done < written; n++) {
    const data = batch(n);
    log.write([{ stream: 'stdout', data, time: Date.now() }]);
    done += data.length;
  }
  log.write([{ stream: 'event', data: Buffer.from('exited with code 0'), time: Date.now() }]);
  log.sync();
  const end = log.close();
  if (end.lost.bytes) throw new Error(`${file}: ${end.lost.bytes} bytes could not be written (${end.lost.reason})`);
  const segs = listSegments(file);
  const onDisk = segs.reduce((n, s) => n + fs.statSync(s.file).size, 0);
  return {
    fields: { maxLogSize: cap, logDropped: end.dropped, logEnd: end.nextSeq, logVersion: 2 },
    pieces: segs.length,
    onDisk,
  };
}

/** Batches of numbered 64-byte lines (FLUSH_BYTES each): a template, each line stamped with the batch number. */
const TEMPLATE = Buffer.from(
  Array.from({ length: LINES_PER_BATCH }, (_, l) => `${lineText(0, l)}\n`).join(''),
  'latin1',
);
export const lineBatch = (n: number): Buffer => {
  const b = Buffer.from(TEMPLATE);
  const stamp = Buffer.from(String(n).padStart(8, '0'), 'latin1');
  for (let l = 0; l < LINES_PER_BATCH; l++) stamp.copy(b, l * LINE);
  return b;
};
/** The last line of a log of `written` bytes of lineBatch output. */
export const lastLineOf = (written: number) => lineText(Math.ceil(written / FLUSH_BYTES) - 1, LINES_PER_BATCH - 1);

/** Batches of full-screen redraws (clear, then 40 rows), as curses programs write. */
const frame = () =>
  `\x1b[H\x1b[2J${Array.from({ length: 40 }, (_, r) => `Counter: 00000000  row ${String(r).padStart(2, '0')}`.padEnd(60, '.')).join('\r\n')}`;
const SCREEN_TEMPLATE = Buffer.from(
  Array.from({ length: Math.floor(FLUSH_BYTES / frame().length) }, frame).join(''),
  'latin1',
);
const COUNTERS: number[] = []; // where each row's 8-digit counter is in the template
for (let i = SCREEN_TEMPLATE.indexOf('Counter: '); i >= 0; i = SCREEN_TEMPLATE.indexOf('Counter: ', i + 1))
  COUNTERS.push(i + 'Counter: '.length);
/** A batch of redraws, every row showing the batch's number. */
export const screenBatch = (n: number): Buffer => {
  const b = Buffer.from(SCREEN_TEMPLATE);
  const stamp = Buffer.from(String(n).padStart(8, '0'), 'latin1');
  for (const at of COUNTERS) stamp.copy(b, at);
  return b;
};
