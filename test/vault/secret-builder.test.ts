import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freshLease } from './support.ts';
import { SecretBuilder } from '../../src/vault/secret-builder.ts';
import { ArenaFullError, BuilderFinishedError, SecretRangeError, SecretWipedError } from '../../src/vault/errors.ts';
import { DTMF_POUND, DTMF_STAR } from '../../src/vault/types.ts';

function slotBytes(arena: { access<T>(fn: (m: Buffer) => T): T }, length: number): Buffer {
  return arena.access((memory) => Buffer.from(memory.subarray(0, length)));
}

test('digits are stored as ASCII in the slot; # ends the entry without being stored', () => {
  const { lease, arena } = freshLease();
  const builder = new SecretBuilder(lease, { kind: 'pin', maxLength: 6 });
  assert.deepEqual([1, 2, 9, 0].map((k) => builder.pushKey(k)), ['stored', 'stored', 'stored', 'stored']);
  assert.equal(builder.pushKey(DTMF_POUND), 'terminator');
  assert.equal(builder.count(), 4);
  assert.deepEqual(slotBytes(arena, 6), Buffer.from([0x31, 0x32, 0x39, 0x30, 0, 0]));
  const secret = builder.finish();
  assert.equal(secret.length(), 4);
  assert.equal(secret.kind, 'pin');
});

test('the key that reaches maxLength answers full; later keys are rejected and not stored', () => {
  const { lease, arena } = freshLease();
  const builder = new SecretBuilder(lease, { kind: 'cvv', maxLength: 3 });
  assert.deepEqual([7, 7, 7, 8].map((k) => builder.pushKey(k)), ['stored', 'stored', 'full', 'rejected']);
  assert.deepEqual(slotBytes(arena, 4), Buffer.from([0x37, 0x37, 0x37, 0]));
});

test('star, A-D, out-of-range and non-integer codes are rejected unless star is allowed', () => {
  const { lease, arena } = freshLease();
  const strict = new SecretBuilder(lease, { kind: 'digits', maxLength: 4 });
  for (const code of [DTMF_STAR, 12, 15, 16, -1, 1.5, Number.NaN]) assert.equal(strict.pushKey(code), 'rejected');
  assert.equal(strict.count(), 0);
  const starred = new SecretBuilder(lease, { kind: 'digits', maxLength: 4, allowStar: true, terminator: null });
  assert.equal(starred.pushKey(DTMF_STAR), 'stored');
  assert.equal(starred.pushKey(DTMF_POUND), 'rejected');
  assert.deepEqual(arena.access((m) => Buffer.from(m.subarray(32, 34))), Buffer.from([0x2a, 0]));
});

test('a configurable terminator replaces #', () => {
  const { lease } = freshLease();
  const builder = new SecretBuilder(lease, { kind: 'digits', maxLength: 4, terminator: DTMF_STAR });
  assert.equal(builder.pushKey(DTMF_STAR), 'terminator');
  assert.equal(builder.pushKey(DTMF_POUND), 'rejected');
});

test('clear zeroes the keyed bytes for a retry', () => {
  const { lease, arena } = freshLease();
  const builder = new SecretBuilder(lease, { kind: 'pan', maxLength: 19 });
  for (const k of [4, 1, 1, 1]) builder.pushKey(k);
  builder.clear();
  assert.equal(builder.count(), 0);
  assert.deepEqual(slotBytes(arena, 19), Buffer.alloc(19));
  builder.pushKey(5);
  assert.equal(builder.finish().length(), 1);
});

test('finish hands over once; the builder then refuses keys', () => {
  const { lease } = freshLease();
  const builder = new SecretBuilder(lease, { kind: 'pin', maxLength: 4 });
  builder.pushKey(1);
  builder.finish();
  assert.throws(() => builder.pushKey(2), BuilderFinishedError);
  assert.throws(() => builder.finish(), BuilderFinishedError);
  assert.throws(() => builder.clear(), BuilderFinishedError);
});

test('a revoked lease makes the builder throw SecretWipedError', () => {
  const { lease } = freshLease();
  const builder = new SecretBuilder(lease, { kind: 'pin', maxLength: 4 });
  lease.revoke();
  assert.throws(() => builder.pushKey(1), SecretWipedError);
  assert.throws(() => builder.finish(), SecretWipedError);
});

test('maxLength must fit a slot, and a cell runs out of slots with a coded error', () => {
  const { lease } = freshLease({ slotSize: 16, slotCount: 2 });
  assert.throws(() => new SecretBuilder(lease, { kind: 'pan', maxLength: 17 }), SecretRangeError);
  assert.throws(() => new SecretBuilder(lease, { kind: 'pan', maxLength: 0 }), SecretRangeError);
  new SecretBuilder(lease, { kind: 'pan', maxLength: 16 });
  new SecretBuilder(lease, { kind: 'pan', maxLength: 16 });
  assert.throws(() => new SecretBuilder(lease, { kind: 'pan', maxLength: 16 }), (e: Error) => e instanceof ArenaFullError && e.message.includes('2'));
});
