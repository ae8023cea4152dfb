// JSON request bodies that may carry Secrets, assembled straight into one zero-initialised
// lease of locked memory (secure-buffers.ts): plain values go through JSON.stringify, secret
// values are written from the arena with Secret.writeTo between quotes. The caller releases
// the lease (which zeroes it) once the request has ended and nothing will write it again.
import type { Secret } from '../vault/types.ts';
import { type SecureBufferPool, type SecureLease, secureBuffers } from './secure-buffers.ts';

export type JsonBodyValue = string | number | boolean | null | Secret | JsonBodyValue[] | { [key: string]: JsonBodyValue };

/** Raised when a value cannot be carried safely (a secret byte that JSON would need to escape). */
export class JsonBodyError extends Error {
  readonly code = 'TL_JSON_BODY';
  constructor(problem: string) {
    super(problem);
    this.name = 'JsonBodyError';
  }
}

function isSecret(value: JsonBodyValue): value is Secret {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as Secret).writeTo === 'function';
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function measure(value: JsonBodyValue): number {
  if (isSecret(value)) return value.length() + 2;
  if (Array.isArray(value)) return 2 + value.reduce<number>((sum, item, index) => sum + measure(item) + (index > 0 ? 1 : 0), 0);
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value);
    return 2 + entries.reduce((sum, [key, item], index) => sum + Buffer.byteLength(JSON.stringify(key)) + 1 + measure(item) + (index > 0 ? 1 : 0), 0);
  }
  return Buffer.byteLength(JSON.stringify(value));
}

function write(value: JsonBodyValue, out: Buffer, at: number): number {
  if (isSecret(value)) {
    out[at++] = QUOTE;
    const written = value.writeTo(out, at);
    // Secrets are digits and keypad symbols; anything JSON would have to escape is refused
    // (checked byte by byte: no RegExp ever runs over secret bytes).
    for (let index = at; index < at + written; index += 1) {
      const byte = out[index]!;
      if (byte < 0x20 || byte === QUOTE || byte === BACKSLASH || byte > 0x7e) throw new JsonBodyError('secret holds a byte JSON cannot carry unescaped');
    }
    at += written;
    out[at++] = QUOTE;
    return at;
  }
  if (Array.isArray(value)) {
    out[at++] = 0x5b;
    value.forEach((item, index) => {
      if (index > 0) out[at++] = 0x2c;
      at = write(item, out, at);
    });
    out[at++] = 0x5d;
    return at;
  }
  if (typeof value === 'object' && value !== null) {
    out[at++] = 0x7b;
    Object.entries(value).forEach(([key, item], index) => {
      if (index > 0) out[at++] = 0x2c;
      at += out.write(JSON.stringify(key), at, 'utf8');
      out[at++] = 0x3a;
      at = write(item, out, at);
    });
    out[at++] = 0x7d;
    return at;
  }
  return at + out.write(JSON.stringify(value), at, 'utf8');
}

/** True when any value in the tree is a Secret (the body then needs the careful path). */
export function containsSecret(value: JsonBodyValue): boolean {
  if (isSecret(value)) return true;
  if (Array.isArray(value)) return value.some(containsSecret);
  if (typeof value === 'object' && value !== null) return Object.values(value).some(containsSecret);
  return false;
}

function encodeInto(value: JsonBodyValue, acquire: (length: number) => SecureLease): SecureLease {
  const lease = acquire(measure(value));
  try {
    const end = write(value, lease.bytes, 0);
    if (end !== lease.bytes.length) throw new JsonBodyError('body size mismatch');
    return lease;
  } catch (error) {
    lease.release();
    throw error;
  }
}

/** Serialises into a zeroed lease of exactly the right size, in locked memory when the pool has room. */
export function leaseJsonBody(value: JsonBodyValue, pool: SecureBufferPool = secureBuffers()): SecureLease {
  return encodeInto(value, (length) => pool.acquire(length));
}
