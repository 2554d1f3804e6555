// Tail benchmark: how long the library takes to read the last 20 lines of a log with
// readBackward, for a 1 GiB log and a 1 MiB log, and how many bytes it reads. The point is
// that both are the same: a tail read touches only the last records, whatever the size.
//
// Run: npx tsx bench/tail.ts        (needs ~1.1 GiB free in the temp dir; removed afterwards)
//
// Timings are with a warm page cache (the logs were just written), so they measure the
// library's work (reads, HMAC, AES), not the disk.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { subKeys, type SubKeys } from '../skills/background-manager/scripts/lib/store/crypto.ts';
import { LogReader, LogWriter } from '../skills/background-manager/scripts/lib/log/logfile.ts';

const RECORD = 64 << 10; // plaintext bytes per record
const LINE = 64; // bytes per line, newline included
const LINES_PER_RECORD = RECORD / LINE;
const TAIL = 20;
const RUNS = 9;

// Write `bytes` of output as 64 KiB records of numbered text lines ("RRRRRRRR:LLLL ....\n").
// Every record is encrypted on its own (its MAC binds its seq), so this is a valid log.
function buildLog(file: string, keys: SubKeys, bytes: number): { records: number; seconds: number } {
  const t0 = performance.now();
  const template = Buffer.alloc(RECORD, '.'.charCodeAt(0));
  for (let l = 0; l < LINES_PER_RECORD; l++) {
    template.write(`00000000:${String(l).padStart(4, '0')} `, l * LINE, 'latin1');
    template[l * LINE + LINE - 1] = 0x0a;
  }
  const n = Math.ceil(bytes / RECORD);
  const w = LogWriter.create(file, keys, 'bench001');
  try {
    for (let r = 0; r < n; r++) {
      const stamp = Buffer.from(String(r).padStart(8, '0'), 'latin1');
      for (let l = 0; l < LINES_PER_RECORD; l++) stamp.copy(template, l * LINE);
      w.append('stdout', template, Date.now());
    }
    w.append('event', Buffer.from('exited with code 0'));
  } finally {
    w.close();
  }
  return { records: n, seconds: (performance.now() - t0) / 1000 };
}

// What `get_logs -n 20` does: walk back from the end until 20 whole lines are in hand.
function lastLines(reader: LogReader, n: number): string[] {
  const chunks: Buffer[] = [];
  let newlines = 0;
  reader.readBackward((rec) => {
    if (rec.stream !== 'stdout' && rec.stream !== 'stderr') return true;
    chunks.unshift(rec.data);
    for (let i = rec.data.indexOf(0x0a); i >= 0; i = rec.data.indexOf(0x0a, i + 1)) newlines++;
    return newlines <= n;
  });
  const lines = Buffer.concat(chunks).toString('utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.slice(-n);
}

interface Result {
  name: string;
  size: number;
  records: number;
  times: number[];
  bytesRead: number;
}

function measure(name: string, file: string, keys: SubKeys, records: number): Result {
  const want = `${String(records - 1).padStart(8, '0')}:${String(LINES_PER_RECORD - 1).padStart(4, '0')} `.padEnd(LINE - 1, '.');
  const times: number[] = [];
  let bytesRead = -1;
  for (let run = 0; run < RUNS; run++) {
    const t0 = performance.now();
    const reader = LogReader.open(file, keys, 'bench001');
    const lines = lastLines(reader, TAIL);
    reader.close();
    times.push(performance.now() - t0);
    if (lines.length !== TAIL || lines[TAIL - 1] !== want) throw new Error(`${name}: wrong tail: ${JSON.stringify(lines.slice(-2))}`);
    if (bytesRead >= 0 && reader.stats.bytesRead !== bytesRead) throw new Error(`${name}: bytesRead varies between runs`);
    bytesRead = reader.stats.bytesRead;
  }
  return { name, size: fs.statSync(file).size, records, times, bytesRead };
}

function fmtBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(2)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')).join('\n');
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
    process.stdout.write(`building a 1 GiB log in ${dir} ... `);
    const big = buildLog(bigFile, keys, 1 << 30);
    console.log(`${big.records} records in ${big.seconds.toFixed(1)} s (${((1 << 30) / (1 << 20) / big.seconds).toFixed(0)} MiB/s)`);
    const small = buildLog(smallFile, keys, 1 << 20);
    console.log(`built a 1 MiB log: ${small.records} records`);

    // One untimed warm-up read each, so the first timed run does not pay for JIT compilation.
    measure('warm-up', smallFile, keys, small.records);
    const results = [measure('1 GiB log', bigFile, keys, big.records), measure('1 MiB log', smallFile, keys, small.records)];

    const ms = (x: number) => x.toFixed(3);
    const rows = [['log', 'file size', 'records', 'median ms', 'min ms', 'max ms', 'bytesRead']];
    for (const r of results) {
      const s = [...r.times].sort((a, b) => a - b);
      rows.push([r.name, fmtBytes(r.size), String(r.records + 1), ms(s[Math.floor(s.length / 2)]!), ms(s[0]!), ms(s[s.length - 1]!), `${r.bytesRead} (${fmtBytes(r.bytesRead)})`]);
    }
    console.log(`\nlast ${TAIL} lines via readBackward, ${RUNS} runs each (open + read + close):\n`);
    console.log(table(rows));
  } finally {
    cleanup();
  }
}

main();
