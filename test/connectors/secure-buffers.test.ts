import { test } from 'node:test';
import assert from 'node:assert/strict';
import sodium from 'sodium-native';
import { SecureBufferPool } from '../../src/connectors/secure-buffers.ts';

/** Whether this process may mlock at all (root, or a memlock limit with room). */
function mlockWorks(): boolean {
  const probe = sodium.sodium_malloc(16);
  try {
    sodium.sodium_mlock(probe);
    return true;
  } catch {
    return false;
  } finally {
    sodium.sodium_free(probe);
  }
}

test('a lease has exactly the requested length and starts zeroed (sodium_malloc fills with 0xdb)', () => {
  const pool = new SecureBufferPool([{ size: 64, maxSlabs: 2 }]);
  for (const length of [0, 1, 17, 64]) {
    const lease = pool.acquire(length);
    assert.equal(lease.bytes.length, length);
    assert.ok(lease.bytes.every((byte) => byte === 0));
    assert.equal(lease.secure, true);
    lease.release();
  }
});

test('acquire/release cycles reuse slabs: no growth after warm-up across 10,000 cycles', () => {
  const pool = new SecureBufferPool([{ size: 512, maxSlabs: 8 }, { size: 4096, maxSlabs: 8 }]);
  const lengths = [3, 200, 512, 513, 4000];
  const warm = lengths.map((length) => pool.acquire(length));
  for (const lease of warm) lease.release();
  const afterWarmUp = pool.stats();
  for (let cycle = 0; cycle < 10_000; cycle += 1) {
    const a = pool.acquire(lengths[cycle % lengths.length]!);
    const b = pool.acquire(lengths[(cycle + 2) % lengths.length]!);
    a.bytes.fill(0x41);
    b.release();
    a.release();
  }
  assert.deepEqual(pool.stats(), afterWarmUp);
  assert.equal(afterWarmUp.inUse, 0);
  assert.equal(afterWarmUp.fallbacks, 0);
  assert.equal(afterWarmUp.slabs, 5); // three small and two large leases were held at once
});

test('release zeroes the whole slab, not only the leased length', () => {
  const pool = new SecureBufferPool([{ size: 256, maxSlabs: 1 }]);
  const whole = pool.acquire(256);
  whole.bytes.fill(0x37);
  whole.release();
  const short = pool.acquire(10);
  short.bytes.fill(0x38);
  short.release();
  const again = pool.acquire(256);
  // One slab: every lease was the same memory.
  assert.equal(again.bytes.buffer, whole.bytes.buffer);
  assert.equal(again.bytes.byteOffset, whole.bytes.byteOffset);
  assert.ok(again.bytes.every((byte) => byte === 0));
  again.release();
});

test('a second release is a no-op: it neither zeroes the next holder nor returns the slab twice', () => {
  const pool = new SecureBufferPool([{ size: 32, maxSlabs: 2 }]);
  const first = pool.acquire(32);
  first.release();
  const next = pool.acquire(32);
  assert.equal(next.bytes.buffer, first.bytes.buffer);
  next.bytes.fill(0x55);
  first.release();
  assert.ok(next.bytes.every((byte) => byte === 0x55));
  assert.equal(pool.stats().inUse, 1);
  // Were the slab listed twice, these two leases would share it.
  const other = pool.acquire(32);
  assert.notEqual(other.bytes.buffer, next.bytes.buffer);
  next.release();
  other.release();
  assert.deepEqual(pool.stats(), { slabs: 2, inUse: 0, fallbacks: 0, locked: pool.stats().locked });
});

test('lease bytes lie in a guarded sodium allocation and the pool reports them locked', () => {
  const pool = new SecureBufferPool([{ size: 128, maxSlabs: 1 }]);
  const lease = pool.acquire(20);
  // sodium_mprotect_* finds the guarded allocation behind the view from its header; on any other
  // memory (a Buffer.alloc fallback) it crashes the process, so this file would fail.
  sodium.sodium_mprotect_readonly(lease.bytes);
  sodium.sodium_mprotect_readwrite(lease.bytes);
  lease.bytes[0] = 1;
  lease.release();
  assert.equal(pool.stats().locked, mlockWorks());
});

test('past the cap or the largest class, acquire falls back to fixed memory and counts it', () => {
  const pool = new SecureBufferPool([{ size: 64, maxSlabs: 1 }]);
  const held = pool.acquire(64);
  const overCap = pool.acquire(10);
  const tooLarge = pool.acquire(65);
  assert.equal(held.secure, true);
  assert.equal(overCap.secure, false);
  assert.equal(tooLarge.secure, false);
  assert.equal(overCap.bytes.length, 10);
  assert.equal(tooLarge.bytes.length, 65);
  assert.notEqual(overCap.bytes.buffer, held.bytes.buffer);
  assert.deepEqual(pool.stats(), { slabs: 1, inUse: 1, fallbacks: 2, locked: pool.stats().locked });
  tooLarge.bytes.fill(0x39);
  tooLarge.release();
  tooLarge.release();
  assert.ok(tooLarge.bytes.every((byte) => byte === 0));
  overCap.release();
  held.release();
  assert.equal(pool.stats().inUse, 0);
});

test('a pool without classes serves every lease from the fallback', () => {
  const pool = new SecureBufferPool([]);
  const lease = pool.acquire(8);
  assert.equal(lease.secure, false);
  assert.equal(pool.stats().fallbacks, 1);
  assert.equal(pool.stats().locked, false);
});

test('lengths and classes are validated', () => {
  const pool = new SecureBufferPool([{ size: 64, maxSlabs: 1 }]);
  assert.throws(() => pool.acquire(-1), RangeError);
  assert.throws(() => pool.acquire(1.5), RangeError);
  assert.throws(() => new SecureBufferPool([{ size: 0, maxSlabs: 1 }]), RangeError);
  assert.throws(() => new SecureBufferPool([{ size: 64, maxSlabs: -1 }]), RangeError);
});
