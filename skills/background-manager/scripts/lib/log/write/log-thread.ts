// The log thread: a worker the supervisor starts under a burst of output (see logsink.ts). Once
// it has the log, it appends each batch in order, answers sync and close, and hands back the
// state (drops, losses) when it closes; the supervisor then ends it. Bundled on its own (dist/log-thread.mjs): the
// supervisor's bundle loads node-pty, which a worker thread must not.
import { parentPort } from 'node:worker_threads';
import { COLLECT_EVERY_ON_THREAD, LogAppender, type FromThread, type ToThread } from './logsink.ts';

const port = parentPort!;
const send = (m: FromThread) => port.postMessage(m);
let appender: LogAppender | undefined;

port.on('message', (m: ToThread) => {
  if (m.type === 'open') {
    try {
      // Buffers arrive as plain Uint8Arrays: the keys must be Buffers again.
      const k = m.state.keys;
      appender = new LogAppender(
        { ...m.state, keys: { enc: Buffer.from(k.enc), mac: Buffer.from(k.mac), control: Buffer.from(k.control) } },
        COLLECT_EVERY_ON_THREAD,
      );
    } catch (err) {
      send({ type: 'failed', message: `cannot open the log: ${(err as Error).message}` });
    }
  } else if (m.type === 'write') {
    if (!appender) return; // failed to open: said so already (its buffers are lost with it)
    const droppedNow = appender.write(m.segs);
    const buffers = m.segs.map((s) => s.data.buffer as ArrayBuffer); // back to the pool
    port.postMessage(
      {
        type: 'written',
        bytes: m.bytes,
        dropped: droppedNow ? appender.dropped : undefined,
        buffers,
      } satisfies FromThread,
      buffers,
    );
  } else if (m.type === 'sync') {
    appender?.sync();
    send({ type: 'synced', nextSeq: appender?.nextSeq });
  } else {
    send({ type: 'closed', state: appender?.close() });
  }
});
send({ type: 'ready' });
