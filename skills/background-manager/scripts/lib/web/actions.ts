// The page's buttons, each the scripts' own code: a stop from the page is stop_process's stop
// (stopProcess, described by describeStop), a restart is restart_process's restartRecord, a
// removal remove_process's removeTargets, input send_input's sendInput.
import type { Context } from '../store/context.ts';
import { resolveProcess } from '../process/resolve.ts';
import { stopProcess } from '../control/stop.ts';
import { describeStop } from '../commands/stop_process.ts';
import { restartedLine, restartRecord } from '../ops/restart.ts';
import { removeTargets } from '../commands/remove_process.ts';
import { sendInput } from '../commands/send_input.ts';
import { BgError } from '../errors.ts';

// As the scripts' defaults: SIGTERM, then SIGKILL after 5 s.
const STOP_TIMEOUT_SEC = 5;

export type Action = 'stop' | 'restart' | 'remove' | 'send';

/** What the page may send with an action (JSON); checked here, as the scripts check argv. */
export interface ActionBody {
  text?: unknown; // send: text, with a newline unless enter is false
  enter?: unknown;
  data?: unknown; // send: exact bytes, base64 (keystrokes from the terminal view)
}

function inputOf(body: ActionBody): Buffer {
  if (typeof body.data === 'string') return Buffer.from(body.data, 'base64');
  if (typeof body.text !== 'string') throw new BgError('USAGE', 'nothing to send: give "text" (or "data", base64).');
  return Buffer.from(body.text + (body.enter === false ? '' : '\n'), 'utf8');
}

/** Do `action` to process `ref`; the sentence the script would print. */
export async function runAction(ctx: Context, action: Action, ref: string, body: ActionBody): Promise<string> {
  const rec = resolveProcess(ctx.store.read(), ref);
  switch (action) {
    case 'stop': {
      const out = await stopProcess(ctx, rec, 'SIGTERM', STOP_TIMEOUT_SEC * 1000);
      return describeStop(rec, out, 'SIGTERM', STOP_TIMEOUT_SEC);
    }
    case 'restart': {
      // As restart_process without options: SIGKILL after STOP_GRACE_SEC, no wait.
      return restartedLine(rec, await restartRecord(ctx, rec));
    }
    case 'remove': {
      // As remove_process without --force: refused while it runs (or left jobs running).
      const [line] = await removeTargets(ctx, [rec], { exited: false, force: false }, () => undefined);
      return line!;
    }
    case 'send': {
      const bytes = await sendInput(ctx, rec, [inputOf(body)], Buffer.alloc(0), false);
      return `Sent ${bytes} byte${bytes === 1 ? '' : 's'} to process ${rec.id}.`;
    }
  }
}
