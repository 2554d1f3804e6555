// Tail benchmark: how long the library takes to read the last 20 lines of a log as get_logs
// -n 20 does (LogSetReader.backward over the log's pieces), for a log at a 1 GiB cap and a
// 1 MiB log, and how many bytes it reads. The point is that both are the same: a tail read
// touches only the last records, whatever the size. The logs are written in today's format,
// by the supervisor's own writer (bench/logs.ts: capped, chained, in pieces).
//
// Run: npx tsx bench/tail.ts        (needs ~1 GiB free in the temp dir; removed afterwards)
//
// Timings are with a warm page cache (the logs were just written), so they measure the
// library's work (reads, HMAC, AES), not the disk.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { subKeys, type SubKeys } from '../skills/background-manager/scripts/lib/store/crypto.ts';
import { LogSetReader, listSegments } from '../skills/background-manager/scripts/lib/log/format/logset.ts';
import { lastLineOf, lineBatch, MiB, writeProductLog } from './logs.ts';

const TAIL = 20;
const RUNS = 9;
const PROC = 'bench001';

interface Built {
  written: number;
  endSeq: number;
  seconds: number;
}

function buildLog(file: string, keys: SubKeys, written: number, cap: number): Built {
  const t0 = performance.now();
  const { fields } = writeProductLog(file, PROC, keys, written, cap, lineBatch);
  return { written, endSeq: fields.logEnd!, seconds: (performance.now() - t0) / 1000 };
}

// What `get_logs -n 20` does: walk back from the end until 20 whole lines are in hand.
function lastLines(reader: LogSetReader, n: number): string[] {
  const chunks: Buffer[] = [];
  let newlines = 0;
  reader.backward((rec) => {
    if (rec.stream !== 'stdout' && rec.stream !== 'stderr') return true;
    chunks.unshift(rec.data);
    for (let i = rec.data.indexOf(0x0a); i >= 0; i = rec.data.indexOf(0x0a, i + 1)) newlines++;
    return newlines <= n;
  });
  if (reader.issues.length) throw new Error(reader.issues.map((i) => i.message).join('; '));
  const lines = Buffer.concat(chunks).toString('utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.slice(-n);
}

interface Result {
  name: string;
  size: number;
  pieces: number;
  times: number[];
  bytesRead: number;
}

function measure(name: string, file: string, keys: SubKeys, built: Built): Result {
  const want = lastLineOf(built.written);
  const times: number[] = [];
  let bytesRead = -1;
  for (let run = 0; run < RUNS; run++) {
    const t0 = performance.now();
    const reader = new LogSetReader(file, keys, PROC, { endSeq: built.endSeq, chained: true });
    const lines = lastLines(reader, TAIL);
    times.push(performance.now() - t0);
    if (lines.length !== TAIL || lines[TAIL - 1] !== want)
      throw new Error(`${name}: wrong tail: ${JSON.stringify(lines.slice(-2))}`);
    if (bytesRead >= 0 && reader.bytesRead !== bytesRead) throw new Error(`${name}: bytesRead varies between runs`);
    bytesRead = reader.bytesRead;
  }
  const segs = listSegments(file);
  return { name, size: segs.reduce((n, s) => n + fs.statSync(s.file).size, 0), pieces: segs.length, times, bytesRead };
}

function fmtBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(2)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '))
    .join('\n');
}

function main(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bg-bench-tail-'));
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    const keys = subKeys(randomBytes(32));
    const bigFile = path.join(dir, 'big.log.enc');
    const smallFile = path.join(dir, 'small.log.enc');
    // Past the cap (--max-log-size 1G), so the oldest pieces are dropped as they would be.
    const bigWritten = (1 << 30) + 127 * MiB;
    process.stdout.write(`writing ${(bigWritten / MiB).toFixed(0)} MiB of output under a 1 GiB cap in ${dir} ... `);
    const big = buildLog(bigFile, keys, bigWritten, 1 << 30);
    console.log(`${big.seconds.toFixed(1)} s (${(bigWritten / MiB / big.seconds).toFixed(0)} MiB/s)`);
    const small = buildLog(smallFile, keys, MiB, 100 * MiB);

    // One untimed warm-up read, so the first timed run does not pay for JIT compilation.
    measure('warm-up', smallFile, keys, small);
    const results = [measure('1 GiB cap', bigFile, keys, big), measure('1 MiB log', smallFile, keys, small)];

    const ms = (x: number) => x.toFixed(3);
    const rows = [['log', 'on disk', 'pieces', 'median ms', 'min ms', 'max ms', 'bytesRead']];
    for (const r of results) {
      const s = [...r.times].sort((a, b) => a - b);
      rows.push([
        r.name,
        fmtBytes(r.size),
        String(r.pieces),
        ms(s[Math.floor(s.length / 2)]!),
        ms(s[0]!),
        ms(s[s.length - 1]!),
        `${r.bytesRead} (${fmtBytes(r.bytesRead)})`,
      ]);
    }
    console.log(
      `\nlast ${TAIL} lines via LogSetReader.backward, ${RUNS} runs each (open every piece + read + close):\n`,
    );
    console.log(table(rows));
  } finally {
    cleanup();
  }
}

main();
