// The Secret implementation: a handle to one arena slot. Every operation reads the bytes
// one at a time inside the arena; no string, array or number of the whole value is built,
// and no RegExp ever runs over them (RegExp.input would keep the subject).
import sodium from 'sodium-native';
import { inspect } from 'node:util';
import type { CardBrand, Secret, SecretKind } from './types.ts';
import type { CellLease } from './lease.ts';
import { CrossCellError, SecretKindError, SecretRangeError, SecretWipedError } from './errors.ts';

/** The only text a Secret ever turns into. Its length does not follow the value's. */
export const SECRET_TEXT = '[secret]';

const ZERO = 0x30;
const NINE = 0x39;

function isDigit(byte: number): boolean {
  return byte >= ZERO && byte <= NINE;
}

class SecretHandle {
  readonly kind: SecretKind;
  readonly #lease: CellLease;
  readonly #offset: number;
  readonly #length: number;

  constructor(lease: CellLease, kind: SecretKind, offset: number, length: number) {
    this.#lease = lease;
    this.kind = kind;
    this.#offset = offset;
    this.#length = length;
  }

  /** Cell identity, so a cell can refuse another call's secrets. */
  static leaseOf(secret: Secret): CellLease {
    const handle = secret as unknown;
    if (!(handle instanceof SecretHandle)) throw new TypeError('not a vault secret');
    return handle.#lease;
  }

  length(): number {
    return this.#read(() => this.#length);
  }

  isAllDigits(): boolean {
    return this.#read((memory) => this.#allDigits(memory));
  }

  equals(other: Secret): boolean {
    const handle = other as unknown;
    if (!(handle instanceof SecretHandle)) throw new TypeError('not a vault secret');
    return this.#read((memory) => {
      // The other handle's lease is checked too: a wiped or foreign secret never compares.
      if (!handle.#lease.live) throw new SecretWipedError();
      if (handle.#lease !== this.#lease) throw new CrossCellError();
      if (handle.#length !== this.#length) return false;
      if (this.#length === 0) return true;
      const mine = memory.subarray(this.#offset, this.#offset + this.#length);
      const theirs = memory.subarray(handle.#offset, handle.#offset + handle.#length);
      return sodium.sodium_memcmp(mine, theirs);
    });
  }

  luhnValid(): boolean {
    return this.#read((memory) => {
      if (this.#length < 2 || !this.#allDigits(memory)) return false;
      let sum = 0;
      let double = false;
      for (let i = this.#offset + this.#length - 1; i >= this.#offset; i--) {
        let digit = memory[i]! - ZERO;
        if (double) {
          digit *= 2;
          if (digit > 9) digit -= 9;
        }
        sum += digit;
        double = !double;
      }
      return sum % 10 === 0;
    });
  }

  cardBrand(): CardBrand {
    return this.#read((memory) => {
      const length = this.#length;
      if (length < 12 || !this.#allDigits(memory)) return 'unknown';
      const at = (i: number): number => memory[this.#offset + i]! - ZERO;
      // Only the IIN prefix (at most 4 leading digits) is combined into a number.
      const first = at(0);
      const two = first * 10 + at(1);
      const three = two * 10 + at(2);
      const four = three * 10 + at(3);
      if ((two === 34 || two === 37) && length === 15) return 'amex';
      if (first === 4 && (length === 13 || length === 16 || length === 19)) return 'visa';
      if (((two >= 51 && two <= 55) || (four >= 2221 && four <= 2720)) && length === 16) return 'mastercard';
      if ((four === 6011 || (three >= 644 && three <= 649) || two === 65) && length >= 16 && length <= 19) return 'discover';
      return 'unknown';
    });
  }

  expiryValid(now: Date): boolean {
    return this.#read((memory) => {
      if (this.kind !== 'expiry') throw new SecretKindError('expiryValid', 'only an expiry (MMYY) has one');
      if (Number.isNaN(now.getTime())) throw new RangeError('expiryValid needs a valid date');
      if (this.#length !== 4 || !this.#allDigits(memory)) return false;
      const at = (i: number): number => memory[this.#offset + i]! - ZERO;
      const month = at(0) * 10 + at(1);
      const year = 2000 + at(2) * 10 + at(3);
      if (month < 1 || month > 12) return false;
      // A card is good through the last day of its month; compared in UTC.
      const nowYear = now.getUTCFullYear();
      const nowMonth = now.getUTCMonth() + 1;
      return year > nowYear || (year === nowYear && month >= nowMonth);
    });
  }

  last4(): string {
    return this.#read((memory) => {
      if (this.kind !== 'pan' && this.kind !== 'account') {
        throw new SecretKindError('last4', 'only card and account numbers may be read back');
      }
      if (this.#length < 8 || !this.#allDigits(memory)) {
        throw new SecretKindError('last4', 'read-back needs a number of at least 8 digits');
      }
      const end = this.#offset + this.#length;
      // PCI DSS 3.4.1 allows the last four; they are the only digits that become a string.
      return String.fromCharCode(memory[end - 4]!, memory[end - 3]!, memory[end - 2]!, memory[end - 1]!);
    });
  }

  writeTo(target: Uint8Array, offset: number): number {
    return this.#read((memory) => {
      if (!Number.isInteger(offset) || offset < 0 || offset + this.#length > target.length) {
        throw new SecretRangeError('target buffer has no room for the secret at that offset');
      }
      for (let i = 0; i < this.#length; i++) target[offset + i] = memory[this.#offset + i]!;
      return this.#length;
    });
  }

  spell<T>(digitTable: readonly T[]): T[] {
    return this.#read((memory) => {
      if (digitTable.length !== 10) throw new RangeError('spell needs a table of exactly 10 entries');
      // PCI DSS 3.4: a full card number or security code is never read back.
      if (this.kind === 'pan' || this.kind === 'cvv') {
        throw new SecretKindError('spell', 'card numbers and security codes are never read back');
      }
      if (!this.#allDigits(memory)) throw new SecretKindError('spell', 'the secret holds a non-digit key');
      const items: T[] = [];
      for (let i = 0; i < this.#length; i++) items.push(digitTable[memory[this.#offset + i]! - ZERO]!);
      return items;
    });
  }

  toString(): string {
    return SECRET_TEXT;
  }

  toJSON(): string {
    return SECRET_TEXT;
  }

  [Symbol.toPrimitive](): string {
    return SECRET_TEXT;
  }

  [inspect.custom](): string {
    return SECRET_TEXT;
  }

  #allDigits(memory: Buffer): boolean {
    if (this.#length === 0) return false;
    for (let i = this.#offset; i < this.#offset + this.#length; i++) {
      if (!isDigit(memory[i]!)) return false;
    }
    return true;
  }

  #read<T>(fn: (memory: Buffer) => T): T {
    return this.#lease.read(fn);
  }
}

/** Wraps a filled slot as a Secret. Vault-internal: other layers get Secrets from a cell. */
export function secretFromSlot(lease: CellLease, kind: SecretKind, offset: number, length: number): Secret {
  return new SecretHandle(lease, kind, offset, length) as unknown as Secret;
}

/** The lease a Secret was made under; throws TypeError for anything that is not a vault Secret. */
export function leaseOfSecret(secret: Secret): CellLease {
  return SecretHandle.leaseOf(secret);
}

/** Copies connector bytes into a fresh slot and zeroes the source, even when they do not fit. */
export function importSecret(lease: CellLease, kind: SecretKind, source: Uint8Array): Secret {
  try {
    const offset = lease.allocate();
    if (source.length > lease.slotSize) throw new SecretRangeError('secret is longer than an arena slot');
    lease.read((memory) => {
      for (let i = 0; i < source.length; i++) memory[offset + i] = source[i]!;
    });
    return secretFromSlot(lease, kind, offset, source.length);
  } finally {
    sodium.sodium_memzero(source);
  }
}
