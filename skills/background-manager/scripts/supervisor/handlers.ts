// The control requests a supervisor answers (lib/control/protocol.ts Request), one handler per
// type. Input is refused once the run has ended or a stop is under way: it would go nowhere.
import type { Connection, Reply, Request } from '../lib/control/protocol.ts';
import { stopChild } from './stop.ts';
import type { Supervisor } from './state.ts';

type Handler<T extends Request['type']> = (
  sv: Supervisor,
  req: Extract<Request, { type: T }>,
  conn: Connection,
) => Promise<Reply>;

const NOT_RUNNING: Reply = {
  ok: false,
  code: 'NOT_RUNNING',
  message: 'the process is not running; it takes no input now.',
};

const status: Handler<'status'> = async (sv) => ({ ok: true, pid: sv.child.pid });

// One stop per supervisor: a second request (or the --timeout) gets the first one's result.
const stop: Handler<'stop'> = async (sv, req) => {
  const joined = sv.stop?.reason; // the caller is told it did not make this stop, and who did
  sv.stop ??= { reason: req.reason ?? 'stop', result: stopChild(sv, req.signal, req.timeoutMs, req.reason ?? 'stop') };
  return { ok: true, stop: await sv.stop.result, ...(joined ? { joined } : {}) };
};

const closeInput: Handler<'close-input'> = async (sv) => {
  if (!takesInput(sv)) return NOT_RUNNING;
  sv.child.closeInput();
  sv.out.event('input closed');
  return { ok: true };
};

const sendInput: Handler<'send-input'> = async (sv, req) => {
  if (!takesInput(sv)) return NOT_RUNNING;
  const data = Buffer.from(req.data, 'base64');
  await sv.child.write(data);
  sv.out.push('input', data);
  sv.out.event(`input: ${data.length} byte${data.length === 1 ? '' : 's'}`);
  return { ok: true, bytes: data.length };
};

// A viewer (supervisor/viewers.ts): its connection stays open.
const attach: Handler<'attach'> = (sv, req, conn) => sv.viewers.attach(req, conn, takesInput(sv));

function takesInput(sv: Supervisor): boolean {
  return !sv.ended && !sv.stop && sv.childRunning;
}

const HANDLERS: { [T in Request['type']]: Handler<T> } = {
  status,
  stop,
  'close-input': closeInput,
  'send-input': sendInput,
  attach,
};

/** The supervisor's answer to one authenticated request. */
export async function handleRequest(sv: Supervisor, req: Request, conn: Connection): Promise<Reply> {
  if (!Object.hasOwn(HANDLERS, req.type))
    return { ok: false, code: 'USAGE', message: `unknown request type ${JSON.stringify(req.type)}.` };
  return (HANDLERS[req.type] as Handler<typeof req.type>)(sv, req as never, conn);
}
