import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { freshLease, keyIn, referenceLuhn } from './support.ts';
import { importSecret } from '../../src/vault/secret.ts';
import { SecretWipedError, CrossCellError, SecretKindError, SecretRangeError } from '../../src/vault/errors.ts';
import { CellLease } from '../../src/vault/lease.ts';
import type { CardBrand, SecretKind } from '../../src/vault/types.ts';

const digitString = (min: number, max: number) =>
  fc.array(fc.integer({ min: 0, max: 9 }), { minLength: min, maxLength: max }).map((ds) => ds.join(''));

function referenceBrand(pan: string): CardBrand {
  const n = pan.length;
  const p = (k: number) => Number(pan.slice(0, k));
  if (!/^\d+$/.test(pan) || n < 12) return 'unknown';
  if ((p(2) === 34 || p(2) === 37) && n === 15) return 'amex';
  if (pan.startsWith('4') && [13, 16, 19].includes(n)) return 'visa';
  if (((p(2) >= 51 && p(2) <= 55) || (p(4) >= 2221 && p(4) <= 2720)) && n === 16) return 'mastercard';
  if ((p(4) === 6011 || (p(3) >= 644 && p(3) <= 649) || p(2) === 65) && n >= 16 && n <= 19) return 'discover';
  return 'unknown';
}

test('luhnValid agrees with a reference implementation on random digit strings', () => {
  fc.assert(
    fc.property(digitString(0, 24), (digits) => {
      const { lease } = freshLease();
      assert.equal(keyIn(lease, 'pan', digits).luhnValid(), referenceLuhn(digits));
    }),
    { numRuns: 500 },
  );
});

test('luhnValid accepts the gateway test cards and rejects a changed digit', () => {
  const { lease } = freshLease();
  assert.equal(keyIn(lease, 'pan', '4111111111111111').luhnValid(), true);
  assert.equal(keyIn(lease, 'pan', '4000000000000002').luhnValid(), true);
  assert.equal(keyIn(lease, 'pan', '4111111111111112').luhnValid(), false);
  assert.equal(keyIn(lease, 'pan', '41111111*1111111').luhnValid(), false);
});

test('cardBrand follows the IIN ranges and lengths', () => {
  const cases: Array<[string, CardBrand]> = [
    ['4111111111111111', 'visa'],
    ['4222222222222', 'visa'],
    ['5105105105105100', 'mastercard'],
    ['2221000000000009', 'mastercard'],
    ['2720990000000000', 'mastercard'],
    ['2721000000000000', 'unknown'],
    ['378282246310005', 'amex'],
    ['341111111111111', 'amex'],
    ['3782822463100050', 'unknown'],
    ['6011111111111117', 'discover'],
    ['6445644564456445', 'discover'],
    ['6500000000000002', 'discover'],
    ['6430000000000000', 'unknown'],
    ['1234567890123456', 'unknown'],
  ];
  for (const [pan, brand] of cases) {
    const { lease } = freshLease();
    assert.equal(keyIn(lease, 'pan', pan).cardBrand(), brand, `brand for a ${pan.length}-digit number`);
  }
  const prefix = fc.constantFrom('4', '34', '37', '51', '55', '56', '2221', '2720', '2721', '6011', '644', '649', '65', '3', '');
  fc.assert(
    fc.property(prefix, digitString(0, 19), (head, tail) => {
      const pan = (head + tail).slice(0, 19);
      const { lease } = freshLease();
      assert.equal(keyIn(lease, 'pan', pan).cardBrand(), referenceBrand(pan));
    }),
    { numRuns: 500 },
  );
});

test('expiryValid accepts real months not before now (UTC) and rejects the rest', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }), fc.date({ min: new Date('2000-01-01'), max: new Date('2099-12-31'), noInvalidDate: true }), (mm, yy, now) => {
      const { lease } = freshLease();
      const text = String(mm).padStart(2, '0') + String(yy).padStart(2, '0');
      const expected = mm >= 1 && mm <= 12 && (2000 + yy) * 12 + mm >= now.getUTCFullYear() * 12 + now.getUTCMonth() + 1;
      assert.equal(keyIn(lease, 'expiry', text).expiryValid(now), expected);
    }),
    { numRuns: 500 },
  );
  const { lease } = freshLease();
  const now = new Date(Date.UTC(2026, 10, 28));
  assert.equal(keyIn(lease, 'expiry', '1126').expiryValid(now), true);
  assert.equal(keyIn(lease, 'expiry', '1026').expiryValid(now), false);
  assert.equal(keyIn(lease, 'expiry', '112').expiryValid(now), false);
  assert.throws(() => keyIn(lease, 'pin', '1126').expiryValid(now), SecretKindError);
});

test('length and isAllDigits read the stored keys', () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom('0', '5', '9', '*'), { maxLength: 20 }), (keys) => {
      const { lease } = freshLease();
      const text = keys.join('');
      const secret = keyIn(lease, 'digits', text);
      assert.equal(secret.length(), text.length);
      assert.equal(secret.isAllDigits(), text.length > 0 && !text.includes('*'));
    }),
  );
});

test('equals is true exactly when the stored bytes match', () => {
  fc.assert(
    fc.property(digitString(0, 20), digitString(0, 20), (a, b) => {
      const { lease } = freshLease();
      assert.equal(keyIn(lease, 'pin', a).equals(keyIn(lease, 'pin', b)), a === b);
    }),
  );
  const { lease } = freshLease();
  assert.equal(keyIn(lease, 'pin', '1234').equals(keyIn(lease, 'pin', '1234')), true);
});

test('last4 reads back four digits only for long card and account numbers', () => {
  fc.assert(
    fc.property(digitString(8, 19), fc.constantFrom<SecretKind>('pan', 'account'), (digits, kind) => {
      const { lease } = freshLease();
      assert.equal(keyIn(lease, kind, digits).last4(), digits.slice(-4));
    }),
  );
  const { lease } = freshLease();
  for (const kind of ['pin', 'cvv', 'zip', 'expiry', 'digits'] as const) {
    assert.throws(() => keyIn(lease, kind, '98765432').last4(), (error: Error) => {
      assert.ok(error instanceof SecretKindError);
      assert.ok(!error.message.includes('5432') && !error.message.includes('98765432'));
      return true;
    });
  }
  assert.throws(() => keyIn(lease, 'pan', '9876543').last4(), (error: Error) => error instanceof SecretKindError && !error.message.includes('6543'));
  assert.throws(() => keyIn(lease, 'account', '98765*32').last4(), SecretKindError);
});

test('writeTo copies the ASCII bytes at the offset and refuses a short target', () => {
  fc.assert(
    fc.property(digitString(0, 20), fc.integer({ min: 0, max: 10 }), (digits, offset) => {
      const { lease } = freshLease();
      const target = Buffer.alloc(offset + digits.length + 3, 0xee);
      assert.equal(keyIn(lease, 'pan', digits).writeTo(target, offset), digits.length);
      assert.deepEqual(target, Buffer.concat([Buffer.alloc(offset, 0xee), Buffer.from(digits, 'latin1'), Buffer.alloc(3, 0xee)]));
    }),
  );
  const { lease } = freshLease();
  const secret = keyIn(lease, 'pan', '4111111111111111');
  assert.throws(() => secret.writeTo(new Uint8Array(15), 0), SecretRangeError);
  assert.throws(() => secret.writeTo(new Uint8Array(20), 5), SecretRangeError);
  assert.throws(() => secret.writeTo(new Uint8Array(20), -1), SecretRangeError);
});

test('spell maps each digit through the table; never for card numbers or security codes', () => {
  const clips = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
  fc.assert(
    fc.property(digitString(1, 20), (digits) => {
      const { lease } = freshLease();
      assert.deepEqual(keyIn(lease, 'account', digits).spell(clips), [...digits].map((d) => clips[Number(d)]));
    }),
  );
  const { lease } = freshLease();
  assert.throws(() => keyIn(lease, 'pan', '4111111111111111').spell(clips), SecretKindError);
  assert.throws(() => keyIn(lease, 'cvv', '123').spell(clips), SecretKindError);
  assert.throws(() => keyIn(lease, 'digits', '1*2').spell(clips), SecretKindError);
  assert.throws(() => keyIn(lease, 'digits', '12').spell(clips.slice(0, 9)), RangeError);
});

test('a secret has no string form: every conversion gives [secret]', () => {
  const { lease } = freshLease();
  const secret = keyIn(lease, 'pan', '4111111111111111');
  const short = keyIn(lease, 'pin', '12');
  for (const s of [secret, short]) {
    assert.equal(`${s}`, '[secret]');
    assert.equal(String(s), '[secret]');
    assert.equal('' + s, '[secret]');
    assert.equal(s.toString(), '[secret]');
    assert.equal(JSON.stringify({ s }), '{"s":"[secret]"}');
    assert.equal(inspect(s), '[secret]');
    assert.equal(inspect({ deep: { s } }, { depth: 5 }), '{ deep: { s: [secret] } }');
    assert.ok(!inspect(s, { showHidden: true }).includes('1'));
    assert.equal(new Error(`bad ${s}`).message, 'bad [secret]');
    assert.deepEqual(Object.keys(s), ['kind']);
  }
});

test('every method throws SecretWipedError once the lease is revoked', () => {
  const { lease } = freshLease();
  const secret = keyIn(lease, 'pan', '4111111111111111');
  const other = keyIn(lease, 'pan', '4111111111111111');
  lease.revoke();
  const calls: Array<() => unknown> = [
    () => secret.length(),
    () => secret.isAllDigits(),
    () => secret.equals(other),
    () => secret.luhnValid(),
    () => secret.cardBrand(),
    () => secret.expiryValid(new Date()),
    () => secret.last4(),
    () => secret.writeTo(new Uint8Array(32), 0),
    () => secret.spell([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
  ];
  for (const call of calls) {
    assert.throws(call, (error: Error) => {
      assert.ok(error instanceof SecretWipedError);
      assert.equal((error as SecretWipedError).code, 'TRACELESS_SECRET_WIPED');
      assert.ok(!/\d/.test(error.message));
      return true;
    });
  }
});

test('secrets of different cells never meet: equals across leases throws', () => {
  const a = freshLease();
  const b = freshLease();
  const mine = keyIn(a.lease, 'pin', '1234');
  const theirs = keyIn(b.lease, 'pin', '1234');
  assert.throws(() => mine.equals(theirs), CrossCellError);
  // A later generation of the same cell is a different call too.
  const later = new CellLease(1, 2, a.arena);
  assert.throws(() => mine.equals(keyIn(later, 'pin', '1234')), CrossCellError);
  b.lease.revoke();
  assert.throws(() => mine.equals(theirs), SecretWipedError);
});

test('importSecret copies connector bytes into the arena and zeroes the source', () => {
  const { lease, arena } = freshLease();
  const source = Buffer.alloc(8);
  source.write('12345678', 'latin1');
  const secret = importSecret(lease, 'account', source);
  assert.deepEqual(source, Buffer.alloc(8));
  assert.equal(secret.last4(), '5678');
  const tooLong = Buffer.alloc(arena.slotSize + 1, 0x31);
  assert.throws(() => importSecret(lease, 'account', tooLong), SecretRangeError);
  assert.deepEqual(tooLong, Buffer.alloc(arena.slotSize + 1));
});
