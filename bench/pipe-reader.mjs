// The reference for --no-pty ingest: plain Node reading a child's pipes, nothing else (no
// encryption, no disk). Usage: node bench/pipe-reader.mjs <command> [args...]; prints the
// number of bytes read.
import { spawn } from 'node:child_process';

const [cmd, ...args] = process.argv.slice(2);
const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
let bytes = 0;
child.stdout.on('data', (d) => (bytes += d.length));
child.stderr.on('data', (d) => (bytes += d.length));
child.on('close', (code) => {
  process.stdout.write(`${bytes}\n`);
  process.exitCode = code ?? 1;
});
