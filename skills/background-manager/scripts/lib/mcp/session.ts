// One MCP server's hold on the data dir: unlocked once (one key derivation for the server's
// whole life, where each script call pays one), and an abort signal that ends every wait in
// progress when the client goes away.
import { openContext, type Context } from '../store/context.ts';

export class Session {
  private ctx: Context | undefined;
  private readonly gone = new AbortController();

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  /** The unlocked data dir (throws the scripts' errors: no or wrong password, damaged data). */
  context(): Context {
    // A data dir with nothing stored yet has no key to unlock: look again next time.
    if (!this.ctx?.unlocked) this.ctx = openContext({ create: false }, this.env);
    return this.ctx;
  }

  /** The same, made (key.json written) if it does not exist yet: what start_process needs. */
  contextForStart(): Context {
    if (!this.ctx?.unlocked) this.ctx = openContext({ create: true }, this.env);
    return this.ctx;
  }

  /** Aborted once the client has gone (stdin closed, SIGTERM): waits stop early. */
  get closed(): AbortSignal {
    return this.gone.signal;
  }

  close(): void {
    this.gone.abort();
  }
}
