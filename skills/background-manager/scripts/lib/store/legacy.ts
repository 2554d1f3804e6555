// Reads the Python skill's files: `openssl enc -aes-256-cbc -pbkdf2` output ("Salted__",
// 8-byte salt, PBKDF2-SHA256 10,000 iterations -> 32-byte key + 16-byte IV, PKCS#7).
// Nothing here ever writes: legacy files are only read, and kept.
import { createDecipheriv, pbkdf2Sync } from 'node:crypto';

export const OPENSSL_MAGIC = Buffer.from('Salted__', 'latin1');
export const OPENSSL_ITERATIONS = 10_000;

export function isOpensslFile(head: Uint8Array): boolean {
  return head.length >= 16 && Buffer.from(head.buffer, head.byteOffset, 8).equals(OPENSSL_MAGIC);
}

export interface LegacyPlain {
  data: Buffer;
  complete: boolean; // false: the stream was cut off; data is its whole-block prefix
}

/**
 * Decrypt an openssl enc stream. Only PKCS#7 padding checks the password (about 1 in 256
 * wrong passwords pass), so callers must validate the content too.
 */
export function decryptOpenssl(file: Uint8Array, password: string): LegacyPlain | undefined {
  if (!isOpensslFile(file)) return undefined;
  const buf = Buffer.from(file.buffer, file.byteOffset, file.length);
  const salt = buf.subarray(8, 16);
  const kiv = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, OPENSSL_ITERATIONS, 48, 'sha256');
  const body = buf.subarray(16);
  const whole = body.length - (body.length % 16);
  const d = createDecipheriv('aes-256-cbc', kiv.subarray(0, 32), kiv.subarray(32, 48));
  d.setAutoPadding(false);
  const plain = Buffer.concat([d.update(body.subarray(0, whole)), d.final()]);
  if (whole === body.length && whole > 0) {
    const pad = plain[plain.length - 1]!;
    if (pad >= 1 && pad <= 16 && plain.subarray(plain.length - pad).every((b) => b === pad)) {
      return { data: plain.subarray(0, plain.length - pad), complete: true };
    }
  }
  return { data: plain, complete: false };
}

export interface LegacyEntry {
  id: string;
  pid: number;
  command: string;
  start_time?: number | string;
  status?: string;
  log_file?: string;
  input_file?: string;
  cwd?: string;
}

// The Python state is a JSON object keyed by ID, or a list; accept both shapes.
export function parseLegacyState(text: string): LegacyEntry[] | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  const list = Array.isArray(doc)
    ? doc
    : doc && typeof doc === 'object'
      ? Object.entries(doc as Record<string, unknown>).map(([k, v]) => ({ id: k, ...(v as object) }))
      : undefined;
  if (!list) return undefined;
  const out: LegacyEntry[] = [];
  for (const e of list as Record<string, unknown>[]) {
    if (!e || typeof e !== 'object' || typeof e.id !== 'string') return undefined;
    out.push({
      id: e.id,
      pid: Number(e.pid) || 0,
      command: Array.isArray(e.command) ? e.command.join(' ') : String(e.command ?? ''),
      start_time: e.start_time as number | string | undefined,
      status: typeof e.status === 'string' ? e.status : undefined,
      log_file: typeof e.log_file === 'string' ? e.log_file : undefined,
      input_file: typeof e.input_file === 'string' ? e.input_file : undefined,
      cwd: typeof e.cwd === 'string' ? e.cwd : undefined,
    });
  }
  return out;
}
