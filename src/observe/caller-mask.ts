// The caller's number is never logged in full. Either its last four digits, or a keyed
// hash that lets an operator correlate one caller's calls within a day and no longer:
// the key lives only in this process's memory and is replaced when the UTC date changes,
// so yesterday's hashes cannot be recomputed by anyone, including us.
import { createHmac, randomFillSync } from 'node:crypto';

/** A caller number in a form that may be logged; only this module makes one. */
export type MaskedCaller = string & { readonly __masked: 'caller' };

export type CallerMaskMode = 'last4' | 'hash';

export interface CallerMaskerOptions {
  mode: CallerMaskMode;
  /** Clock, injectable for tests; the key rotates when its UTC date changes. */
  now?: () => Date;
  /** Key source, injectable for tests. Default: 32 random bytes. */
  newKey?: () => Buffer;
}

export interface CallerMasker {
  /** Masks the user part (or any text) of a caller identity; only its digits are considered. */
  mask(caller: string): MaskedCaller;
}

/** Fewer digits than this and even the last four say too much (an internal extension). */
const MIN_DIGITS_FOR_LAST4 = 8;
/** HMAC output bytes kept: 64 bits is plenty to tell a day's callers apart. */
const HASH_BYTES = 8;
const HIDDEN = '*' as MaskedCaller;

function randomKey(): Buffer {
  // Buffer.alloc, not randomBytes: small randomBytes results can come from the shared
  // 8 KiB allocation pool, which outlives our zeroing of the key.
  const key = Buffer.alloc(32);
  randomFillSync(key);
  return key;
}

function digitsOf(text: string): string {
  let digits = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) digits += text[i];
  }
  return digits;
}

/**
 * Encodes bytes as letters 'a'–'p' (one per nibble): no digits, so the log masker's
 * long-digit-run rule can never fire on a caller hash.
 */
function lettersOf(bytes: Buffer): string {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(0x61 + (byte >> 4), 0x61 + (byte & 0x0f));
  return text;
}

/** True for the strings createCallerMasker produces: '*', '*' + 4 digits, or 'h:' + 16 letters a–p. */
export function isMaskedCaller(value: string): value is MaskedCaller {
  if (value === '*') return true;
  if (value.length === 5 && value[0] === '*') {
    for (let i = 1; i < 5; i++) {
      const c = value.charCodeAt(i);
      if (c < 0x30 || c > 0x39) return false;
    }
    return true;
  }
  if (value.length === 2 + HASH_BYTES * 2 && value.startsWith('h:')) {
    for (let i = 2; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c < 0x61 || c > 0x70) return false;
    }
    return true;
  }
  return false;
}

export function createCallerMasker(options: CallerMaskerOptions): CallerMasker {
  const now = options.now ?? (() => new Date());
  const newKey = options.newKey ?? randomKey;

  if (options.mode === 'last4') {
    return {
      mask(caller) {
        const digits = digitsOf(caller);
        if (digits.length < MIN_DIGITS_FOR_LAST4) return HIDDEN;
        return `*${digits.slice(-4)}` as MaskedCaller;
      },
    };
  }

  const utcDay = (): string => now().toISOString().slice(0, 10);
  let keyDay = utcDay();
  let key = newKey();

  return {
    mask(caller) {
      const digits = digitsOf(caller);
      if (digits.length === 0) return HIDDEN;
      const today = utcDay();
      if (today !== keyDay) {
        key.fill(0);
        key = newKey();
        keyDay = today;
      }
      const mac = createHmac('sha256', key).update(digits).digest();
      return `h:${lettersOf(mac.subarray(0, HASH_BYTES))}` as MaskedCaller;
    },
  };
}
