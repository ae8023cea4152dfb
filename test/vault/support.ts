// Test helpers for the vault: a lease over a fresh arena, and digit strings keyed into it.
// Digit strings exist here, in the tests, only to be compared with reference implementations.
import { SecureArena } from '../../src/vault/arena.ts';
import type { ArenaOptions } from '../../src/vault/arena.ts';
import { CellLease } from '../../src/vault/lease.ts';
import { SecretBuilder } from '../../src/vault/secret-builder.ts';
import type { Secret, SecretKind } from '../../src/vault/types.ts';

const shared: SecureArena[] = [];
let generation = 0;

/**
 * A new lease over a wiped arena. Default-geometry arenas are reused (two of them, so two
 * leases can be live at once) instead of allocating locked memory for every property run.
 */
export function freshLease(options: Partial<ArenaOptions> = {}): { arena: SecureArena; lease: CellLease } {
  generation += 1;
  if (Object.keys(options).length > 0) {
    const arena = new SecureArena({ slotSize: 32, slotCount: 8, ...options });
    return { arena, lease: new CellLease(1, generation, arena) };
  }
  if (shared.length < 2) shared.push(new SecureArena({ slotSize: 32, slotCount: 8 }));
  const arena = shared.shift()!;
  shared.push(arena);
  arena.wipe();
  return { arena, lease: new CellLease(1, generation, arena) };
}

/** Keys a string of '0'-'9' / '*' into a builder, the way the DTMF decoder would. */
export function keyIn(lease: CellLease, kind: SecretKind, keys: string): Secret {
  const builder = new SecretBuilder(lease, { kind, maxLength: Math.max(1, keys.length), allowStar: true });
  for (const key of keys) builder.pushKey(key === '*' ? 10 : key.charCodeAt(0) - 0x30);
  return builder.finish();
}

/** Reference Luhn over a digit string, written independently of the vault's. */
export function referenceLuhn(digits: string): boolean {
  if (digits.length < 2 || !/^\d+$/.test(digits)) return false;
  const sum = digits
    .split('')
    .reverse()
    .map(Number)
    .reduce((acc, d, i) => acc + (i % 2 === 1 ? (d * 2 > 9 ? d * 2 - 9 : d * 2) : d), 0);
  return sum % 10 === 0;
}
