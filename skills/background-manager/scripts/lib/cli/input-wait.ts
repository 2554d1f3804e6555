// The scripts' --wait-input (start_process, send_input): what the program printed since, then
// the line saying it waits for input (stdout, exit 0), or why not (stderr; 5 ended first, 1
// timeout or cannot tell). The wait and its rules are ops/wait-input.ts.
import type { Cursor } from '../log/format/logset.ts';
import { formatLine } from '../log/read/lines.ts';
import { inputWaitReport, leftOutText, waitingText } from '../ops/wait-input.ts';
import type { Context } from '../store/context.ts';

export async function printInputWait(
  ctx: Context,
  id: string,
  opts: { timeoutSec: number; from?: Cursor; after?: number },
  script: string,
): Promise<number> {
  const r = await inputWaitReport(ctx, id, opts);
  const shown = { raw: false, json: false, timestamps: false, labelStreams: false, redact: r.redact };
  if (r.leftOut) process.stdout.write(`${leftOutText(r.leftOut)}\n`);
  for (const l of r.lines) process.stdout.write(formatLine(l, shown));
  if (r.outcome.state === 'waiting') process.stdout.write(`${waitingText(id, r.outcome.prompt)}\n`);
  else process.stderr.write(`${script}: error: ${r.message}\n`);
  return r.exitCode;
}
