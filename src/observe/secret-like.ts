// Recognises the vault's Secret without importing the vault (both are layer 1): by its
// string form, which is always '[secret]' (src/vault/secret.ts: toJSON and toString), or
// by the shared registry symbol Symbol.for('traceless.secret'). Anything recognised is
// written as '[secret]', whatever field it sits in.

/**
 * Opt-in marker (a property whose value is true) for holders of secret bytes that have no
 * '[secret]' string form. The vault's Secret does not set it: its string form is enough.
 */
export const SECRET_MARKER: unique symbol = Symbol.for('traceless.secret') as never;

export const SECRET_TEXT = '[secret]';
/** Raw bytes are never logged: they may be a wire buffer that held a secret. */
export const BYTES_TEXT = '[bytes]';
const DEPTH_TEXT = '[depth]';
/** Diagnostic objects nested deeper than this are cut off rather than walked. */
const MAX_DEPTH = 5;

export function isSecretLike(value: unknown): boolean {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false;
  // Never ask bytes for a string form: Buffer#toJSON copies every byte into a JS array,
  // and those bytes may be a wire buffer that carried a secret.
  if (isBytes(value)) return false;
  const record = value as Record<PropertyKey, unknown>;
  try {
    if (record[SECRET_MARKER] === true) return true;
    if (typeof record.toJSON === 'function' && record.toJSON() === SECRET_TEXT) return true;
    const { toString } = record;
    return typeof toString === 'function' && toString !== Object.prototype.toString && toString.call(value) === SECRET_TEXT;
  } catch {
    // A value whose string form throws is treated as the worst case.
    return true;
  }
}

export function isBytes(value: object): boolean {
  return ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof SharedArrayBuffer;
}

/**
 * A copy of a diagnostic value safe to serialise: Secret-like values become '[secret]',
 * byte buffers '[bytes]', objects with toJSON are replaced by its result, Errors are
 * kept for pino's error serializer, and nesting is bounded.
 */
export function scrubForLog(value: unknown, depth = 0): unknown {
  if (typeof value !== 'object' || value === null) return typeof value === 'function' ? undefined : value;
  if (isBytes(value)) return BYTES_TEXT;
  if (isSecretLike(value)) return SECRET_TEXT;
  if (value instanceof Error) return value;
  if (depth >= MAX_DEPTH) return DEPTH_TEXT;
  const withJson = value as { toJSON?: unknown };
  if (typeof withJson.toJSON === 'function') return scrubForLog((withJson.toJSON as () => unknown)(), depth + 1);
  if (Array.isArray(value)) return value.map((item) => scrubForLog(item, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) copy[key] = scrubForLog((value as Record<string, unknown>)[key], depth + 1);
  return copy;
}
