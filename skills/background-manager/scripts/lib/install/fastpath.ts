// What the fast path's launcher (install/launcher.ts, bundled into dist/<name>.mjs) shares with
// the code it runs: the two globals it reads or leaves on globalThis, and the key.json
// parameters it may act on before store/ is loaded. A global, not an import: the launcher and
// the script's bundle are separate module graphs, each with its own copy of this module, and
// Symbol.for names the same symbol in both.

/**
 * The password's key derivation that the launcher started before the script was loaded:
 * runMain waits for `ready` (cli/cli.ts), derivePasswordKey uses `key` only for the very same
 * password, salt and iteration count (store/crypto.ts).
 */
export const KEK_PREFETCH = Symbol.for('background-manager.kek-prefetch');
export interface KekPrefetch {
  password: string;
  salt: string; // base64
  iterations: number;
  key?: Buffer; // PBKDF2-HMAC-SHA256, 32 bytes, once `ready` resolved
  ready?: Promise<void>;
}

/** Set by scripts/<name>.ts when it found the bundle current (install/bundle.ts): the launcher need not look again. */
export const BUNDLE_CHECKED = Symbol.for('background-manager.bundle-checked');

/** globalThis, as these globals are typed. */
export const fastPathGlobals = globalThis as typeof globalThis & {
  [KEK_PREFETCH]?: KekPrefetch;
  [BUNDLE_CHECKED]?: boolean;
};

// The iteration counts key.json may hold (store/keys.ts checks them on every read): OWASP's
// floor for PBKDF2-SHA256 is far above the lower bound, and 10 million takes a few seconds
// here. Anything else was not written by us. The launcher starts no derivation outside them (an
// altered count must neither hang nor throw before keys.ts can report it).
export const MIN_ITERATIONS = 100_000;
export const MAX_ITERATIONS = 10_000_000;
