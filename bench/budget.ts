// The bench's `budget` group (bench/run.ts rowBudget): a log of server output as agents meet
// it, for get_logs --budget: requests with IDs and times, health checks, a warning now and
// then, and one stack trace in the middle, in batches of about FLUSH_BYTES.
import { FLUSH_BYTES } from '../skills/background-manager/scripts/lib/log/write/logsink.ts';

/** The batch that holds the stack trace (the middle of a 1 GiB log of these batches). */
export const TRACE_BATCH = 2048;
export const TRACE = 'TypeError: Cannot read properties of undefined (reading "total")';

/** Batch `n`: about FLUSH_BYTES of lines; batch TRACE_BATCH carries a stack trace. */
export function serverBatch(n: number): Buffer {
  const lines: string[] = [];
  let size = 0;
  const second = new Date(Date.UTC(2026, 11, 1) + n * 1000).toISOString().slice(0, 19);
  for (let i = 0; size < FLUSH_BYTES - 200; i++) {
    const k = n * 4096 + i;
    const stamp = `${second}.${String(i % 1000).padStart(3, '0')}Z`;
    const line =
      i % 5 === 0
        ? `${stamp} GET /health 200`
        : i % 997 === 0
          ? `${stamp} WARN slow query on orders (${k % 5000} ms)`
          : `${stamp} GET /api/items/${k % 100_003} 200 in ${k % 40}ms req=${((k * 2654435761) >>> 0).toString(16).padStart(8, '0')}`;
    lines.push(line);
    size += line.length + 1;
    if (n === TRACE_BATCH && i === 100)
      for (const t of [
        TRACE,
        '    at price (/srv/app/orders.js:42:17)',
        '    at handle (/srv/app/routes.js:7:5)',
        '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
      ]) {
        lines.push(t);
        size += t.length + 1;
      }
  }
  return Buffer.from(`${lines.join('\n')}\n`, 'latin1');
}
