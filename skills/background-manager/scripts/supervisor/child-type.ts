// What the supervisor holds of its child, whichever adapter started it (child.ts with pipes,
// pty-child.ts under a terminal): apart from both, so neither imports the other for it.
import type { Exit } from './policy.ts';

export interface Child {
  pid: number;
  /** The process itself has exited (its output may still be draining). */
  hasExited(): boolean;
  write(data: Buffer): Promise<void>;
  closeInput(): void;
  /** Under a terminal: set its size (the kernel sends the program SIGWINCH). */
  resize?(cols: number, rows: number): void;
  /** Resolves once it has exited and its output is read to the end. */
  exited: Promise<Exit>;
}
