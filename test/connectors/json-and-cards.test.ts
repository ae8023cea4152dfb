// The byte-level pieces the card path relies on: secret-carrying JSON bodies, the test
// gateway's JSON reader and its card checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsonBodyError, containsSecret, leaseJsonBody, type JsonBodyValue } from '../../src/connectors/json-body.ts';
import { SecureBufferPool } from '../../src/connectors/secure-buffers.ts';
import { JsonBytesError, parseJsonBytes } from '../../apps/parking/json-bytes.ts';
import { brandOf, expiryValid, luhnValid } from '../../apps/parking/card-bytes.ts';
import { STATE_CODES, keypadForm } from '../../apps/parking/states.ts';
import { testSecret } from './cells.ts';

/** The body's bytes, copied out of a lease that is then released (test code may hold a copy). */
function encodeJsonBody(value: JsonBodyValue): Buffer {
  const lease = leaseJsonBody(value);
  const copy = Buffer.from(lease.bytes);
  lease.release();
  return copy;
}

test('a body with secrets is byte-identical to JSON.stringify of the same values', () => {
  const body = encodeJsonBody({ amount_cents: 6500, currency: 'USD', card: { number: testSecret('pan', '4111111111111111'), expiry: testSecret('expiry', '1228') }, tags: ['a', 1, true, null] });
  assert.equal(
    body.toString('utf8'),
    JSON.stringify({ amount_cents: 6500, currency: 'USD', card: { number: '4111111111111111', expiry: '1228' }, tags: ['a', 1, true, null] }),
  );
  assert.equal(containsSecret({ a: [1, { b: testSecret('cvv', '123') }] }), true);
  assert.equal(containsSecret({ a: [1, { b: '123' }] }), false);
});

test('a secret byte that JSON would need to escape is refused', () => {
  assert.throws(() => encodeJsonBody({ x: testSecret('digits', '12"3') }), JsonBodyError);
  assert.throws(() => encodeJsonBody({ x: testSecret('digits', '12\\3') }), JsonBodyError);
});

test('a leased body is the same bytes in a pool slab, zeroed and returned on release', () => {
  const pool = new SecureBufferPool([{ size: 256, maxSlabs: 1 }]);
  const value = { amount_cents: 6500, card: { number: testSecret('pan', '4111111111111111') } };
  const lease = leaseJsonBody(value, pool);
  assert.equal(lease.secure, true);
  assert.deepEqual(lease.bytes, encodeJsonBody(value));
  assert.equal(pool.stats().inUse, 1);
  const view = lease.bytes;
  lease.release();
  assert.ok(view.every((byte) => byte === 0));
  assert.deepEqual(pool.stats(), { slabs: 1, inUse: 0, fallbacks: 0, locked: pool.stats().locked });
});

test('a refused body gives its lease back zeroed', () => {
  const pool = new SecureBufferPool([{ size: 256, maxSlabs: 1 }]);
  assert.throws(() => leaseJsonBody({ ok: testSecret('digits', '4111'), x: testSecret('digits', '12"3') }, pool), JsonBodyError);
  assert.equal(pool.stats().inUse, 0);
  const next = pool.acquire(256);
  assert.ok(next.bytes.every((byte) => byte === 0));
  next.release();
});

test('the gateway JSON reader returns string values as views into the body', () => {
  const body = Buffer.from('{ "amount_cents": 6500, "card": {"number":"4111111111111111", "ok": true, "n": null}, "l": [1, -2.5e1] }');
  const document = parseJsonBytes(body) as Record<string, unknown>;
  assert.equal(document.amount_cents, 6500);
  assert.deepEqual(document.l, [1, -25]);
  const card = document.card as Record<string, unknown>;
  const number = card.number as Uint8Array;
  assert.equal(number.buffer, body.buffer, 'a view, not a copy');
  assert.equal(Buffer.from(number).toString(), '4111111111111111');
  assert.equal(card.ok, true);
  body.fill(0);
  assert.ok(number.every((byte) => byte === 0), 'zeroing the body wipes the value');
});

test('the gateway JSON reader refuses malformed and escaped input', () => {
  for (const text of ['{', '{"a":1,}', '{"a":"\\u0034"}', '{"a":1} x', '[1 2]', '{"a":tru}', '"\u0001"', '[[[[[[[[[[1]]]]]]]]]]']) {
    assert.throws(() => parseJsonBytes(Buffer.from(text)), JsonBytesError, text);
  }
});

test('Luhn, brand and expiry on bytes', () => {
  const bytes = (text: string): Buffer => Buffer.from(text);
  assert.equal(luhnValid(bytes('4111111111111111')), true);
  assert.equal(luhnValid(bytes('4111111111111112')), false);
  assert.equal(luhnValid(bytes('41111111111x1111')), false);
  assert.equal(brandOf(bytes('4111111111111111')), 'visa');
  assert.equal(brandOf(bytes('5555555555554444')), 'mastercard');
  assert.equal(brandOf(bytes('2223003122003222')), 'mastercard');
  assert.equal(brandOf(bytes('378282246310005')), 'amex');
  assert.equal(brandOf(bytes('6011111111111117')), 'discover');
  assert.equal(brandOf(bytes('9111111111111110')), 'unknown');
  const now = new Date('2026-11-28T00:00:00Z');
  assert.equal(expiryValid(bytes('1126'), now), true);
  assert.equal(expiryValid(bytes('1026'), now), false);
  assert.equal(expiryValid(bytes('0127'), now), true);
  assert.equal(expiryValid(bytes('1327'), now), false);
  assert.equal(expiryValid(bytes('0027'), now), false);
});

test('state codes and keypad form are the documented contract', () => {
  assert.equal(STATE_CODES.length, 51);
  assert.deepEqual(STATE_CODES[0], { code: 1, abbr: 'CA', name: 'California' });
  assert.deepEqual(STATE_CODES[1], { code: 2, abbr: 'TX', name: 'Texas' });
  assert.equal(new Set(STATE_CODES.map((state) => state.abbr)).size, 51);
  assert.equal(keypadForm('7ABC123'), '7222123');
  assert.equal(keypadForm('4xyz789'), '4999789');
});
