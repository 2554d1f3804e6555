// What start_process hands a new supervisor over its stdin pipe (never argv or environment),
// and what the supervisor answers on its stdout once the child runs.

import type { Readiness, RestartMode } from './state.ts';

export interface SupervisorConfig {
  dataKey: string; // base64; the supervisor never sees the password
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
}

export type SupervisorHello =
  | { ok: true; id: string; pid: number }
  | { ok: false; code: 'CANNOT_START' | 'STORAGE' | 'DAMAGED' | 'SUPERVISOR' | 'NOT_FOUND'; message: string };

/** How long output may wait in the supervisor before it is encrypted and appended. */
export const FLUSH_DELAY_MS = 20;
/** Output buffered beyond this is written at once (back-pressure: the read loop waits). */
export const FLUSH_BYTES = 256 << 10;
