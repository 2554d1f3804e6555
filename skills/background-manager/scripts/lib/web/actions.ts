// The page's buttons, each the scripts' own code: a stop from the page is stop_process's stop
// (ops/stop.ts stopOne, with the scripts' defaults), a restart is restart_process's
// restartRecord, a removal remove_process's (ops/remove.ts removeTargets), input send_input's
// (ops/send.ts sendTo).
import type { Context } from '../store/context.ts';
import { SHELL_HINTS } from '../install/hints.ts';
import { resolveProcess } from '../process/resolve.ts';
import { restartedLine, restartRecord } from '../ops/restart.ts';
import { DEFAULT_STOP, stopOne } from '../ops/stop.ts';
import { removeTargets } from '../ops/remove.ts';
import { checkSend, type SendRequest, sendTo, sentText } from '../ops/send.ts';

export type Action = 'stop' | 'restart' | 'remove' | 'send';

/** What the page may send with an action (JSON); checked here, as the scripts check argv. */
export interface ActionBody {
  text?: unknown; // send: text, with a newline unless enter is false or it ends with one
  enter?: unknown;
  data?: unknown; // send: exact bytes, base64 (keystrokes from the terminal view)
}

/** The page's input as a send request: exact bytes (data), else text and Enter unless enter is false. */
function sendOf(body: ActionBody): SendRequest {
  const req: SendRequest =
    typeof body.data === 'string'
      ? { input: () => [Buffer.from(body.data as string, 'base64')], enter: false, keys: [], eof: false }
      : {
          text: typeof body.text === 'string' ? body.text : undefined,
          enter: body.enter !== false,
          keys: [],
          eof: false,
        };
  return checkSend(req, '"text" (or "data", base64)');
}

/** Do `action` to process `ref`; the sentence the script would print. */
export async function runAction(ctx: Context, action: Action, ref: string, body: ActionBody): Promise<string> {
  const rec = resolveProcess(ctx.store.read(), ref, SHELL_HINTS);
  switch (action) {
    case 'stop':
      return (await stopOne(ctx, rec, DEFAULT_STOP)).text;
    case 'restart': {
      // As restart_process without options: SIGKILL after STOP_GRACE_SEC, no wait.
      return restartedLine(rec, await restartRecord(ctx, rec, { hints: SHELL_HINTS }));
    }
    case 'remove': {
      // As remove_process without --force: refused while it runs (or left jobs running).
      const [line] = await removeTargets(
        ctx,
        [rec],
        { exited: false, force: false, hints: SHELL_HINTS },
        () => undefined,
      );
      return line!;
    }
    case 'send':
      return sentText(rec.id, await sendTo(ctx, rec, sendOf(body)), false);
  }
}
