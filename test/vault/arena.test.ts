import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SecureArena } from '../../src/vault/arena.ts';

function fill(arena: SecureArena, byte: number): void {
  arena.access((memory) => memory.fill(byte));
}

test('wipe zeroes every byte, verifies by read-back and frees the slots', () => {
  const arena = new SecureArena({ slotSize: 24, slotCount: 4 });
  assert.equal(arena.allocate(), 0);
  assert.equal(arena.allocate(), 24);
  fill(arena, 0x39);
  const result = arena.wipe();
  assert.deepEqual(result, { bytes: 96, verified: true });
  assert.equal(arena.access((memory) => memory.every((b) => b === 0)), true);
  assert.equal(arena.slotsUsed, 0);
  assert.equal(arena.allocate(), 0);
});

test('the bump allocator hands out each fixed slot once, then null', () => {
  const arena = new SecureArena({ slotSize: 8, slotCount: 3 });
  assert.deepEqual([arena.allocate(), arena.allocate(), arena.allocate(), arena.allocate()], [0, 8, 16, null]);
});

test('a byte that is not zero after memzero makes the wipe unverified', () => {
  let corrupt = true;
  const arena = new SecureArena({
    slotSize: 16,
    slotCount: 2,
    testHooks: { afterZero: (memory) => { if (corrupt) memory[17] = 0x35; } },
  });
  fill(arena, 0x31);
  assert.equal(arena.wipe().verified, false);
  corrupt = false;
  assert.equal(arena.wipe().verified, true);
});

test('with protectIdle the arena is usable inside access(), including nested access', () => {
  const arena = new SecureArena({ slotSize: 16, slotCount: 2, protectIdle: true });
  const seen = arena.access((outer) => {
    outer[0] = 7;
    return arena.access((inner) => inner[0]);
  });
  assert.equal(seen, 7);
  assert.equal(arena.access((memory) => memory[0]), 7);
  assert.equal(arena.wipe().verified, true);
});

test('invalid geometry is refused', () => {
  assert.throws(() => new SecureArena({ slotSize: 0, slotCount: 1 }), RangeError);
  assert.throws(() => new SecureArena({ slotSize: 8, slotCount: 1.5 }), RangeError);
});
