// The reference for PTY ingest: plain node-pty reading a child, nothing else (no encryption,
// no disk). Usage: node bench/pty-reader.mjs <command> [args...]; prints the bytes read.
import { createRequire } from 'node:module';

// node-pty is the skill's dependency, installed in its own folder (skills/background-manager/node_modules).
const pty = createRequire(new URL('../skills/background-manager/package.json', import.meta.url))('@lydell/node-pty');

const [cmd, ...args] = process.argv.slice(2);
const term = pty.spawn(cmd, args, {
  name: 'xterm-256color',
  cols: 200,
  rows: 50,
  cwd: process.cwd(),
  env: process.env,
  encoding: null,
});
let bytes = 0;
term.onData((d) => (bytes += d.length));
term.onExit(({ exitCode }) => {
  process.stdout.write(`${bytes}\n`);
  process.exitCode = exitCode;
});
