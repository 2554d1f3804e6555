// What get_logs shows: the output records of a process's log (or the Python skill's openssl
// log), the last N lines found by walking back from the end.
import fs from 'node:fs';
import path from 'node:path';
import { LogReader, type LogIssue, type LogRecord, type StreamName } from './logfile.ts';
import type { SubKeys } from './crypto.ts';
import type { ProcessRecord } from './state.ts';
import { decryptOpenssl, isOpensslFile } from './legacy.ts';
import { BgError, isErrno } from './errors.ts';
import { countNewlines, lastLines } from './render.ts';

export interface LogSlice {
  data: Buffer; // the bytes of the selected lines, in order
  records: LogRecord[];
  issues: LogIssue[];
  missing?: boolean; // no log file (yet)
}

export function logFileOf(dataDir: string, rec: ProcessRecord): string {
  return path.resolve(dataDir, rec.logFile);
}

/** The last `lines` lines (0: all) of the chosen streams. */
export function readLogTail(dataDir: string, keys: SubKeys | undefined, password: string, rec: ProcessRecord, lines: number, streams: StreamName[] = ['stdout', 'stderr']): LogSlice {
  const file = logFileOf(dataDir, rec);
  let head: Buffer;
  try {
    const fd = fs.openSync(file, 'r');
    head = Buffer.alloc(16);
    fs.readSync(fd, head, 0, 16, 0);
    fs.closeSync(fd);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return { data: Buffer.alloc(0), records: [], issues: [], missing: true };
    throw err;
  }
  if (isOpensslFile(head)) return readLegacyLog(file, password, lines);
  if (!keys) throw new BgError('DAMAGED', `${file} exists but key.json is missing. Restore key.json from a backup.`);
  const reader = LogReader.open(file, keys, rec.id);
  try {
    const wanted = new Set(streams);
    if (lines === 0) {
      const { records, issues } = reader.readForward();
      const picked = records.filter((r) => wanted.has(r.stream));
      return { data: Buffer.concat(picked.map((r) => r.data)), records: picked, issues };
    }
    const picked: LogRecord[] = [];
    let newlines = 0;
    const { issues } = reader.readBackward((r) => {
      if (!wanted.has(r.stream)) return true;
      picked.push(r);
      newlines += countNewlines(r.data);
      // A final newline closes the last line rather than opening one: need lines + 1 of them.
      return newlines <= lines;
    });
    picked.reverse();
    return { data: lastLines(Buffer.concat(picked.map((r) => r.data)), lines), records: picked, issues };
  } finally {
    reader.close();
  }
}

function readLegacyLog(file: string, password: string, lines: number): LogSlice {
  const plain = decryptOpenssl(fs.readFileSync(file), password);
  const issues: LogIssue[] = [];
  if (plain && !plain.complete) {
    issues.push({ kind: 'torn-tail', offset: 0, message: `${path.basename(file)} (Python skill log) ends mid-stream; shown up to its last whole block` });
  }
  return { data: lastLines(plain?.data ?? Buffer.alloc(0), lines), records: [], issues };
}
