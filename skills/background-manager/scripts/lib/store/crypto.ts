// The primitives every stored byte goes through: PBKDF2 for the password, HKDF to split the
// data key, and AES-256-CBC + HMAC-SHA256 encrypt-then-MAC with a random IV per message.
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  pbkdf2Sync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { fastPathGlobals, KEK_PREFETCH } from '../install/fastpath.ts';

export const KEY_BYTES = 32;
export const IV_BYTES = 16;
export const MAC_BYTES = 32;
export const BLOCK = 16;

export interface SubKeys {
  enc: Buffer; // AES-256-CBC key
  mac: Buffer; // HMAC-SHA256 key
  control: Buffer; // HMAC key for the supervisor's control socket handshake
}

// The unit tier's low KDF cost (tests/unit/harness.ts). It is set only by calling
// useTestKdfCost() from code running in this process: no environment variable, file or
// argument reaches it, so an installed tool always derives with key.json's count, and that
// count is still checked against its bounds (keys.ts) on every read. A key.json written
// under it still records the real count: no real install can open it, nor it a real one.
let testIterations: number | undefined;

/** Tests only: every password derivation in this process runs `iterations` (undefined: as asked). */
export function useTestKdfCost(iterations: number | undefined): void {
  testIterations = iterations;
}

export function derivePasswordKey(password: string, salt: Buffer, iterations: number): Buffer {
  // A derivation the fast path's launcher started early (install/fastpath.ts): only for the same inputs.
  const pre = fastPathGlobals[KEK_PREFETCH];
  if (
    testIterations === undefined &&
    pre?.key?.length === KEY_BYTES &&
    pre.password === password &&
    pre.iterations === iterations &&
    Buffer.from(pre.salt, 'base64').equals(salt)
  ) {
    return Buffer.from(pre.key);
  }
  return pbkdf2Sync(Buffer.from(password, 'utf8'), salt, testIterations ?? iterations, KEY_BYTES, 'sha256');
}

// HKDF-SHA256 with an empty salt; `info` names the purpose so keys never repeat across uses.
export function hkdf(key: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), Buffer.from(info, 'utf8'), KEY_BYTES));
}

export function subKeys(dataKey: Buffer): SubKeys {
  return {
    enc: hkdf(dataKey, 'background-manager v1 encryption'),
    mac: hkdf(dataKey, 'background-manager v1 authentication'),
    control: hkdf(dataKey, 'background-manager v1 control channel'),
  };
}

export function hmac(key: Buffer, ...parts: Uint8Array[]): Buffer {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return h.digest();
}

export function macEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function paddedLength(n: number): number {
  return (Math.floor(n / BLOCK) + 1) * BLOCK;
}

export function encryptCbc(key: Buffer, iv: Buffer, plaintext: Uint8Array): Buffer {
  const c = createCipheriv('aes-256-cbc', key, iv);
  return Buffer.concat([c.update(plaintext), c.final()]);
}

// Only called after the MAC has been checked, so a padding error here means a bug or a
// MAC collision, never an oracle an attacker can query.
export function decryptCbc(key: Buffer, iv: Buffer, ciphertext: Uint8Array): Buffer {
  const d = createDecipheriv('aes-256-cbc', key, iv);
  // Unpadded here and the padding taken off below: one buffer per record, not three (update,
  // final, their join), which a long read of 1 MiB records would leave for the GC to find.
  d.setAutoPadding(false);
  const plain = d.update(ciphertext);
  d.final();
  const pad = plain.length ? plain[plain.length - 1]! : 0;
  if (pad < 1 || pad > BLOCK || pad > plain.length) throw new Error('bad decrypt');
  for (let i = plain.length - pad; i < plain.length; i++) if (plain[i] !== pad) throw new Error('bad decrypt');
  return plain.subarray(0, plain.length - pad);
}

export function randomIv(): Buffer {
  return randomBytes(IV_BYTES);
}

/**
 * A sealed blob: IV (16) | ciphertext | HMAC-SHA256(mac key, aad | IV | ciphertext) (32).
 * `aad` binds the blob to where it belongs (a file type, a file ID, a record header).
 */
export function seal(keys: SubKeys, aad: Uint8Array, plaintext: Uint8Array): Buffer {
  return Buffer.concat(sealParts(keys, aad, plaintext));
}

/**
 * seal() as its pieces, in order: IV, ciphertext (two pieces), HMAC. For callers that put the
 * blob into a larger buffer: one copy of the ciphertext instead of three (log ingest).
 */
export function sealParts(keys: SubKeys, aad: Uint8Array, plaintext: Uint8Array): Buffer[] {
  const iv = randomIv();
  const c = createCipheriv('aes-256-cbc', keys.enc, iv);
  const ct = c.update(plaintext);
  const last = c.final();
  return [iv, ct, last, hmac(keys.mac, aad, iv, ct, last)];
}

// Returns the plaintext, or undefined when the MAC does not match (nothing is decrypted then).
export function open(keys: SubKeys, aad: Uint8Array, blob: Uint8Array): Buffer | undefined {
  if (blob.length < IV_BYTES + BLOCK + MAC_BYTES || (blob.length - IV_BYTES - MAC_BYTES) % BLOCK !== 0) {
    return undefined;
  }
  const buf = Buffer.from(blob.buffer, blob.byteOffset, blob.length);
  const iv = buf.subarray(0, IV_BYTES);
  const ct = buf.subarray(IV_BYTES, buf.length - MAC_BYTES);
  const mac = buf.subarray(buf.length - MAC_BYTES);
  if (!macEqual(mac, hmac(keys.mac, aad, iv, ct))) return undefined;
  return decryptCbc(keys.enc, iv, ct);
}
