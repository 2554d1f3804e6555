// What start_process hands a new supervisor over its stdin pipe (never argv or environment),
// and what the supervisor answers on its stdout once the child runs.
//
// The pipe carries the data key's 32 raw bytes, then the config as JSON. The key is read
// straight into the one buffer that keeps it: as base64 in the JSON it became three strings
// (the bytes read, the text, the parsed field) that JavaScript can neither wipe nor free at will.
import type { ProcessLayerName } from '../util/platform.ts';
import fs from 'node:fs';
import type { Writable } from 'node:stream';
import { KEY_BYTES } from '../store/crypto.ts';
import type { Readiness, RestartMode } from '../store/state.ts';
import type { Provenance } from '../util/git.ts';

export interface SupervisorConfig {
  dataDir: string;
  command: string; // for display
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  pty: boolean;
  cols: number;
  rows: number;
  maxLogSize: number; // bytes on disk for this process's log; the oldest output goes first
  name?: string;
  extraEnv: Record<string, string>; // the --env values, recorded for restart_process
  restart: { mode: RestartMode; max: number };
  timeoutSec?: number;
  ready?: Readiness; // recorded for restart_process
  reuseId?: string; // restart_process: run again under this ID, continuing its log
  replacing?: { id?: string }; // start_process --replace: the process it stopped for the name, if any
  restartClaim?: string; // restart_process: its claim on reuseId's next run (the record's restartClaim.token)
  provenance?: Provenance; // where the start came from (recorded; read again at each automatic restart)
  /** The process layer of the call that started it (BG_PLATFORM; absent: linux): the supervisor uses the same. */
  platform?: ProcessLayerName;
}

export type SupervisorHello =
  | { ok: true; id: string; pid: number }
  | {
      ok: false;
      code: 'CANNOT_START' | 'REFUSED' | 'STORAGE' | 'DAMAGED' | 'SUPERVISOR' | 'NOT_FOUND';
      message: string;
    };

/** start_process's side: the key, then the config; the pipe is closed after. */
export function writeHandoff(pipe: Writable, dataKey: Buffer, cfg: SupervisorConfig): void {
  pipe.write(dataKey);
  pipe.end(JSON.stringify(cfg));
}

// Read into `buf` from `fd` (the stdin pipe, blocking as spawned) on the thread pool, with no
// copy on the way; 0 at the end. A non-blocking pipe is waited on instead.
async function readSome(fd: number, buf: Buffer, at: number): Promise<number> {
  for (;;) {
    try {
      return await new Promise<number>((resolve, reject) =>
        fs.read(fd, buf, at, buf.length - at, null, (err, n) => (err ? reject(err) : resolve(n))),
      );
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN' && code !== 'EINTR') throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/** The supervisor's side: the data key (its only copy here) and the config. */
export async function readHandoff(fd = 0): Promise<{ dataKey: Buffer; cfg: SupervisorConfig }> {
  const dataKey = Buffer.alloc(KEY_BYTES); // its own memory, not a slice of a shared pool
  for (let got = 0; got < KEY_BYTES; ) {
    const n = await readSome(fd, dataKey, got);
    if (n === 0) throw new Error('start_process went away before handing over the key');
    got += n;
  }
  const chunks: Buffer[] = [];
  for (;;) {
    const buf = Buffer.allocUnsafe(64 << 10);
    const n = await readSome(fd, buf, 0);
    if (n === 0) break;
    chunks.push(buf.subarray(0, n));
  }
  return { dataKey, cfg: JSON.parse(Buffer.concat(chunks).toString('utf8')) as SupervisorConfig };
}
