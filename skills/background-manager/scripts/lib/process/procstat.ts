// One process as either layer reads it (proc.ts: /proc; portable.ts: ps).
export interface ProcStat {
  pid: number;
  state: string; // R, S, D, Z, T, ...
  ppid: number;
  pgid: number;
  sid: number; // -1 on the portable layer: macOS does not tell it
  startTicks: number; // Linux: clock ticks since boot; portable: seconds since 1970
  /** Portable layer: the controlling terminal (ps tty), when there is one, and its foreground group. */
  tty?: string;
  tpgid?: number;
}
