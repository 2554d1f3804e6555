// One error type for everything the tool reports to a user: a stable code, a message that
// names the problem and the fix, and the exit code the scripts document in SKILL.md.

export const EXIT = {
  OK: 0,
  FAILED: 1, // the operation itself failed (command cannot run, stop did not take, timeout)
  USAGE: 2, // bad flags or arguments
  PASSWORD: 3, // BG_PASSWORD unset, empty or wrong
  NOT_FOUND: 4, // no process with that ID or name, or an ambiguous prefix
  NOT_RUNNING: 5, // the process is not running (send_input)
  DAMAGED: 6, // a stored file failed its integrity check or cannot be parsed
  STORAGE: 7, // the data dir cannot be used (not a folder, not writable, locked)
} as const;

export type ErrorCode =
  | 'USAGE'
  | 'NO_PASSWORD'
  | 'WRONG_PASSWORD'
  | 'NOT_FOUND'
  | 'AMBIGUOUS'
  | 'NOT_RUNNING'
  | 'DAMAGED'
  | 'STORAGE'
  | 'CANNOT_START' // the command cannot run (not found, bad working folder)
  | 'REFUSED' // a request the tool declines as it stands: a name taken, a running process to remove, a legacy record
  | 'SUPERVISOR'
  | 'TIMEOUT';

const exitFor: Record<ErrorCode, number> = {
  USAGE: EXIT.USAGE,
  NO_PASSWORD: EXIT.PASSWORD,
  WRONG_PASSWORD: EXIT.PASSWORD,
  NOT_FOUND: EXIT.NOT_FOUND,
  AMBIGUOUS: EXIT.NOT_FOUND,
  NOT_RUNNING: EXIT.NOT_RUNNING,
  DAMAGED: EXIT.DAMAGED,
  STORAGE: EXIT.STORAGE,
  CANNOT_START: EXIT.FAILED,
  REFUSED: EXIT.FAILED, // as CANNOT_START was for these: the exit code stays
  SUPERVISOR: EXIT.FAILED,
  TIMEOUT: EXIT.FAILED,
};

export class BgError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BgError';
    this.code = code;
    this.exitCode = exitFor[code];
  }
}

export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}
