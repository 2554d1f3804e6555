// One MCP server's hold on the data dir: unlocked once (one key derivation for the server's
// whole life, where each script call pays one), and an abort signal that ends every wait in
// progress when the client goes away.
import { BgError } from '../errors.ts';
import { openContext, type Context } from '../store/context.ts';

export class Session {
  private ctx: Context | undefined;
  private readonly gone = new AbortController();

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  /** The unlocked data dir (throws the scripts' errors: no or wrong password, damaged data). */
  context(): Context {
    // A data dir with nothing stored yet has no key to unlock: look again next time.
    if (!this.ctx?.unlocked) this.ctx = this.open(false);
    return this.ctx;
  }

  /** The same, made (key.json written) if it does not exist yet: what start_process needs. */
  contextForStart(): Context {
    if (!this.ctx?.unlocked) this.ctx = this.open(true);
    return this.ctx;
  }

  // A missing or wrong password stays so for the server's life (its environment is fixed): said
  // once, then every call answers with it at once instead of deriving a key again (about 0.3 s,
  // blocking the server).
  private passwordError: BgError | undefined;

  private open(create: boolean): Context {
    if (this.passwordError) throw this.passwordError;
    try {
      return openContext({ create }, this.env);
    } catch (err) {
      if (err instanceof BgError && (err.code === 'NO_PASSWORD' || err.code === 'WRONG_PASSWORD')) {
        this.passwordError = new BgError(
          err.code,
          `${err.message} The MCP server reads it once, at its start: restart it.`,
        );
        throw this.passwordError;
      }
      throw err;
    }
  }

  /** Aborted once the client has gone (stdin closed, SIGTERM): waits stop early. */
  get closed(): AbortSignal {
    return this.gone.signal;
  }

  close(): void {
    this.gone.abort();
  }
}
