// Card checks the test gateway runs directly on request bytes (ASCII digits), never on
// strings: digit check, Luhn, brand from the IIN prefix and length, MMYY expiry.

export type Brand = 'visa' | 'mastercard' | 'amex' | 'discover' | 'unknown';

const ZERO = 0x30;

export function allDigits(bytes: Uint8Array): boolean {
  if (bytes.length === 0) return false;
  for (const byte of bytes) if (byte < ZERO || byte > ZERO + 9) return false;
  return true;
}

/** ISO/IEC 7812-1 Annex B (Luhn): double every second digit from the right. */
export function luhnValid(bytes: Uint8Array): boolean {
  if (!allDigits(bytes)) return false;
  let sum = 0;
  for (let index = 0; index < bytes.length; index += 1) {
    let digit = bytes[bytes.length - 1 - index]! - ZERO;
    if (index % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

/** The number formed by the first `count` digits. */
function prefix(bytes: Uint8Array, count: number): number {
  let value = 0;
  for (let index = 0; index < count && index < bytes.length; index += 1) value = value * 10 + (bytes[index]! - ZERO);
  return value;
}

export function brandOf(bytes: Uint8Array): Brand {
  if (!allDigits(bytes)) return 'unknown';
  const length = bytes.length;
  const p1 = prefix(bytes, 1);
  const p2 = prefix(bytes, 2);
  const p4 = prefix(bytes, 4);
  const p6 = prefix(bytes, 6);
  if (p1 === 4 && (length === 13 || length === 16 || length === 19)) return 'visa';
  if (((p2 >= 51 && p2 <= 55) || (p6 >= 222100 && p6 <= 272099)) && length === 16) return 'mastercard';
  if ((p2 === 34 || p2 === 37) && length === 15) return 'amex';
  if ((p4 === 6011 || p2 === 65 || (p6 >= 644000 && p6 <= 649999)) && (length === 16 || length === 19)) return 'discover';
  return 'unknown';
}

/** MMYY: a real month, and the card is valid through the end of that month. */
export function expiryValid(bytes: Uint8Array, now: Date): boolean {
  if (bytes.length !== 4 || !allDigits(bytes)) return false;
  const month = prefix(bytes, 2);
  const year = 2000 + (bytes[2]! - ZERO) * 10 + (bytes[3]! - ZERO);
  if (month < 1 || month > 12) return false;
  const thisYear = now.getUTCFullYear();
  const thisMonth = now.getUTCMonth() + 1;
  return year > thisYear || (year === thisYear && month >= thisMonth);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let index = 0; index < a.length; index += 1) difference |= a[index]! ^ b[index]!;
  return difference === 0;
}
