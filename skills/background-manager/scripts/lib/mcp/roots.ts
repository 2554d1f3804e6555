// Where a start without cwd runs: the client's first root (roots/list, a file:// URI: the
// folder the user opened), when the client offers roots; else the server's own folder.
//
// Asked or kept: a client that promises notifications/roots/list_changed (capability
// roots.listChanged) is asked once, and again only after it says its roots changed (the
// notification clears the answer kept). A client that offers roots without that promise is
// asked on each start that needs a folder: nothing would tell the server that its answer went
// stale. A root is asked for only by a start without an absolute cwd; each ask is one round
// trip to the client (well under a millisecond over stdio, beside a start's 100 ms or more).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { RootsListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { BgError } from '../errors.ts';
import { oneLine } from '../util/format.ts';

/** How long a client may take to list its roots before the start is refused. */
const ROOTS_TIMEOUT_MS = 10_000;
/** How long a client may take to list its roots for provenance and `here`: then the server's folder. */
const ROOTS_QUICK_MS = 2_000;

export class ClientRoots {
  /** The first root's folder (undefined: the client listed none), while the client has not said they changed. */
  private kept: Promise<string | undefined> | undefined;

  constructor(private readonly server: Server) {
    server.setNotificationHandler(RootsListChangedNotificationSchema, () => {
      this.kept = undefined;
    });
  }

  /**
   * The folder a start runs in: `cwd` if absolute; else the client's first root, or the
   * server's own folder, with a relative `cwd` taken from there.
   */
  async folderFor(cwd: string | undefined, signal: AbortSignal): Promise<string> {
    if (cwd !== undefined && path.isAbsolute(cwd)) return cwd;
    const base = (await this.firstRoot(signal)) ?? process.cwd();
    return cwd === undefined ? base : path.resolve(base, cwd);
  }

  /**
   * Where a start comes from (recorded with its git checkout): the client's first root, else
   * the server's own folder; also when the client fails to list its roots (never an error).
   */
  async callerFolder(signal: AbortSignal): Promise<string> {
    return realFolder((await this.firstRoot(signal, ROOTS_QUICK_MS).catch(() => undefined)) ?? process.cwd());
  }

  /** The folders list_processes `here` means: every root of the client's, else the server's own folder. */
  async hereFolders(signal: AbortSignal): Promise<string[]> {
    if (!this.server.getClientCapabilities()?.roots) return [process.cwd()];
    try {
      const { roots } = await this.server.listRoots(undefined, { signal, timeout: ROOTS_QUICK_MS });
      const folders = roots.flatMap((r) => (r.uri.startsWith('file:') ? [fileURLToPath(r.uri)] : []));
      return folders.length ? folders.map(realFolder) : [process.cwd()];
    } catch {
      return [process.cwd()];
    }
  }

  private firstRoot(signal: AbortSignal, timeout = ROOTS_TIMEOUT_MS): Promise<string | undefined> {
    const roots = this.server.getClientCapabilities()?.roots;
    if (!roots) return Promise.resolve(undefined);
    if (!roots.listChanged) return this.ask(signal, timeout);
    // One ask serves every call until the roots change (so no one call's cancel ends it); a
    // failed one is not kept.
    const asking = (this.kept ??= this.ask(undefined, timeout));
    asking.catch(() => {
      if (this.kept === asking) this.kept = undefined;
    });
    return asking;
  }

  private async ask(signal?: AbortSignal, timeout = ROOTS_TIMEOUT_MS): Promise<string | undefined> {
    let uri: string | undefined;
    try {
      uri = (await this.server.listRoots(undefined, { signal, timeout })).roots[0]?.uri;
      return uri === undefined ? undefined : fileURLToPath(uri);
    } catch (err) {
      const what =
        uri === undefined ? 'did not list its roots' : `gave a root that is not a local folder (${oneLine(uri)})`;
      throw new BgError(
        'CANNOT_START',
        `no working folder: the client ${what} (${oneLine((err as Error).message)}). Pass cwd, an absolute folder.`,
        { cause: err },
      );
    }
  }
}

/** A root with its symlinks resolved, as a shell's folder is (process.cwd()), so the two compare; as given if it cannot be. */
function realFolder(folder: string): string {
  try {
    return fs.realpathSync(folder);
  } catch {
    return folder;
  }
}
