import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createCallerMasker, isMaskedCaller } from '../../src/observe/caller-mask.ts';

test('last4 mode keeps only the last four digits of a full number', () => {
  const masker = createCallerMasker({ mode: 'last4' });
  assert.equal(masker.mask('+1 (555) 123-4567'), '*4567');
  assert.equal(masker.mask('sip:+15551234567@carrier.example'), '*4567');
});

test('last4 mode hides short numbers (extensions) and non-numeric callers entirely', () => {
  const masker = createCallerMasker({ mode: 'last4' });
  assert.equal(masker.mask('4567123'), '*');
  assert.equal(masker.mask('anonymous'), '*');
});

function fixedKeys(): { newKey: () => Buffer; issued: Buffer[] } {
  const issued: Buffer[] = [];
  return {
    issued,
    newKey: () => {
      const key = Buffer.alloc(32, issued.length + 1);
      issued.push(key);
      return key;
    },
  };
}

/** Expected hash computed independently: HMAC-SHA256 of the digits, first 8 bytes, nibbles as a–p. */
function expectedHash(keyByte: number, digits: string): string {
  const mac = createHmac('sha256', Buffer.alloc(32, keyByte)).update(digits).digest();
  return `h:${[...mac.subarray(0, 8)].map((b) => String.fromCharCode(97 + (b >> 4), 97 + (b & 15))).join('')}`;
}

test('hash mode is HMAC-SHA256 of the digits under the day key, written without digits', () => {
  const keys = fixedKeys();
  const masker = createCallerMasker({ mode: 'hash', newKey: keys.newKey, now: () => new Date('2026-11-28T10:00:00Z') });
  const masked = masker.mask('+1 555 123 4567');
  assert.equal(masked, expectedHash(1, '15551234567'));
  assert.doesNotMatch(masked, /\d/);
  assert.ok(isMaskedCaller(masked));
});

test('hash mode correlates one caller within a day and tells callers apart', () => {
  const keys = fixedKeys();
  const masker = createCallerMasker({ mode: 'hash', newKey: keys.newKey, now: () => new Date('2026-11-28T10:00:00Z') });
  assert.equal(masker.mask('15551234567'), masker.mask('sip:+15551234567@elsewhere'));
  assert.notEqual(masker.mask('15551234567'), masker.mask('15551234568'));
  assert.equal(keys.issued.length, 1);
});

test('the key rotates when the UTC date changes, and the old key is zeroed', () => {
  const keys = fixedKeys();
  let now = new Date('2026-11-28T23:59:59Z');
  const masker = createCallerMasker({ mode: 'hash', newKey: keys.newKey, now: () => now });
  const before = masker.mask('15551234567');
  now = new Date('2026-11-29T00:00:01Z');
  const after = masker.mask('15551234567');
  assert.notEqual(before, after);
  assert.equal(after, expectedHash(2, '15551234567'));
  assert.equal(keys.issued.length, 2);
  assert.ok(keys.issued[0]!.every((byte) => byte === 0));
});

test('by default the key is random: two maskers never agree', () => {
  const a = createCallerMasker({ mode: 'hash' });
  const b = createCallerMasker({ mode: 'hash' });
  assert.notEqual(a.mask('15551234567'), b.mask('15551234567'));
});

test('isMaskedCaller accepts only the masked forms', () => {
  for (const ok of ['*', '*4567', 'h:abcdefghijklmnop']) assert.ok(isMaskedCaller(ok), ok);
  for (const bad of ['+15551234567', '4567', '*45678', 'h:abcdefghijklmnoq', 'h:abc', '*45a7']) assert.ok(!isMaskedCaller(bad), bad);
});
