// Test-only stand-in for the vault's cell and Secret until src/vault lands: keeps bytes in
// a Buffer.alloc'ed store, implements just what the connectors call (writeTo, length,
// last4), and records zeroing of imported sources so tests can assert on it.
import type { CardBrand, Secret, SecretKind } from '../../src/vault/types.ts';
import type { SecretImporter } from '../../src/connectors/types.ts';

class DoubleSecret {
  constructor(
    readonly kind: SecretKind,
    readonly bytes: Buffer,
  ) {}
  length(): number {
    return this.bytes.length;
  }
  isAllDigits(): boolean {
    return this.bytes.every((b) => b >= 0x30 && b <= 0x39);
  }
  equals(other: Secret): boolean {
    return other instanceof DoubleSecret && other.bytes.equals(this.bytes);
  }
  luhnValid(): boolean {
    throw new Error('not used by connector tests');
  }
  cardBrand(): CardBrand {
    throw new Error('not used by connector tests');
  }
  expiryValid(): boolean {
    throw new Error('not used by connector tests');
  }
  last4(): string {
    return this.bytes.subarray(-4).toString('latin1');
  }
  writeTo(target: Uint8Array, offset: number): number {
    target.set(this.bytes, offset);
    return this.bytes.length;
  }
  spell<T>(table: readonly T[]): T[] {
    return [...this.bytes].map((b) => table[b - 0x30]!);
  }
  toString(): string {
    return '[secret]';
  }
}

/** Builds a Secret from ASCII text (test inputs only). */
export function testSecret(kind: SecretKind, text: string): Secret {
  return new DoubleSecret(kind, Buffer.from(text, 'latin1')) as unknown as Secret;
}

/** Test helper: the bytes behind a Secret, to compare with an expected value. */
export function revealForTest(secret: unknown): string {
  if (!(secret instanceof DoubleSecret)) throw new Error('not a test secret');
  return secret.bytes.toString('latin1');
}

export class TestCell implements SecretImporter {
  readonly imported: Secret[] = [];
  /** Every source buffer handed to importSecret, to check the connector let go of nothing. */
  readonly sources: Uint8Array[] = [];
  importSecret(kind: SecretKind, src: Uint8Array): Secret {
    const copy = Buffer.alloc(src.length);
    copy.set(src);
    const secret = new DoubleSecret(kind, copy);
    src.fill(0);
    this.sources.push(src);
    this.imported.push(secret as unknown as Secret);
    return secret as unknown as Secret;
  }
}
