// Memory of long reads. Each record read is decrypted into a buffer of its own (node:crypto
// makes a new one per call), up to 1 MiB; V8 frees such buffers only when it collects, and it
// collects a heap this small only once some 64 MiB of them have piled up, so a read of a long
// log took 60 to 110 MiB over a short one's, more or less at random (measured with
// process.memoryUsage().arrayBuffers). A collection every RECLAIM_BYTES of records read frees
// them (a few milliseconds each on get_logs's small heap; a young-generation one is not enough:
// a buffer still in use at one is promoted, and then waits for the next full one), and only
// reads that big pay for it.
import { createRequire } from 'node:module';

const RECLAIM_BYTES = 8 << 20;

let pending = 0;
let gc: ((o?: { type: 'minor' | 'major' }) => void) | null | undefined;

/** Count `bytes` just decrypted; every RECLAIM_BYTES of them, collect the garbage they left. */
export function reclaimAfter(bytes: number): void {
  pending += bytes;
  if (pending < RECLAIM_BYTES) return;
  pending = 0;
  if (gc === undefined) {
    try {
      // Loaded here, not at start-up: most reads never get this far (node:v8 costs every call
      // that imports this module about 2-3 ms).
      const require = createRequire(import.meta.url);
      (require('node:v8') as typeof import('node:v8')).setFlagsFromString('--expose-gc');
      gc = (require('node:vm') as typeof import('node:vm')).runInNewContext('gc') as typeof gc;
    } catch {
      gc = null; // not available: V8 collects on its own, later
    }
  }
  gc?.({ type: 'major' });
}
