import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { MaskRule } from '../../src/observe/masker.ts';
import { createLogMasker, LOG_MASK } from '../../src/observe/masker.ts';

/** Appends the Luhn check digit (computed independently of the masker) to a digit string. */
function withCheckDigit(body: string): string {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return body + String((10 - (sum % 10)) % 10);
}

/** The same number with its last digit changed, so Luhn fails. */
function breakCheckDigit(pan: string): string {
  const last = Number(pan[pan.length - 1]);
  return pan.slice(0, -1) + String((last + 1) % 10);
}

test('Luhn-valid runs of 13 to 19 digits are masked, written whole or in groups', () => {
  const masker = createLogMasker();
  const cases = [
    '4222222222222', // 13-digit Visa test number
    '378282246310005', // 15-digit Amex test number
    '4111111111111111',
    '4111 1111 1111 1111',
    '4111-1111-1111-1111',
    '3782 822463 10005',
    withCheckDigit('601100099013942'), // 16
    withCheckDigit('622126000000000000'), // 19
  ];
  for (const pan of cases) {
    assert.equal(masker.mask(`{"msg":"card ${pan} here"}`), `{"msg":"card ${LOG_MASK} here"}`, pan);
  }
  assert.deepEqual(masker.hits(), { luhn: cases.length, longRun: 0 });
});

test('a card number followed by an expiry group is still found by its whole-group window', () => {
  const masker = createLogMasker();
  assert.equal(masker.mask('"4111 1111 1111 1111 0328"'), `"${LOG_MASK}"`);
  assert.deepEqual(masker.hits(), { luhn: 1, longRun: 0 });
});

test('a Luhn-invalid 16-digit run is still masked, by the long-run rule', () => {
  const masker = createLogMasker();
  const bad = breakCheckDigit('4111111111111111');
  assert.equal(masker.mask(`"x":"${bad}"`), `"x":"${LOG_MASK}"`);
  assert.deepEqual(masker.hits(), { luhn: 0, longRun: 1 });
});

test('long runs are masked from the configured length, shorter numbers are untouched', () => {
  const masker = createLogMasker();
  const untouched = [
    '{"durationMs":95000,"setupMs":3.25,"bytes":4096,"status":503}',
    '{"time":"2026-11-28T19:17:39.123Z","date":"2026-11-28"}',
    '{"address":"127.0.0.1:5060","version":"0.1.0","last4":"*4567"}',
    '{"msg":"123456 is six digits"}',
  ];
  for (const line of untouched) assert.equal(masker.mask(line), line);
  assert.equal(masker.mask('"pin 1234567"'), `"pin ${LOG_MASK}"`);
  assert.deepEqual(masker.hits(), { luhn: 0, longRun: 1 });

  const stricter = createLogMasker({ minLongRun: 5 });
  assert.equal(stricter.mask('"citation 12345"'), `"citation ${LOG_MASK}"`);
  assert.equal(stricter.mask('"code 1234"'), '"code 1234"');
});

test('a masked bare number becomes a quoted mask so the line stays valid JSON', () => {
  const masker = createLogMasker();
  const masked = masker.mask('{"account":12345678,"ratio":0.123456789,"n":-98765432,"ok":1}');
  assert.deepEqual(JSON.parse(masked), { account: LOG_MASK, ratio: LOG_MASK, n: LOG_MASK, ok: 1 });
  assert.equal(masker.hits().longRun, 3);
});

test('escaped quotes do not end a string', () => {
  const masker = createLogMasker();
  const line = JSON.stringify({ msg: 'said "12345678" twice \\ 1234567' });
  assert.deepEqual(JSON.parse(masker.mask(line)), { msg: `said "${LOG_MASK}" twice \\ ${LOG_MASK}` });
});

test('the service’s own published numbers are allowed, other long numbers are not', () => {
  const masker = createLogMasker({ allowedNumbers: ['+1 800 555 0100'] });
  assert.equal(masker.mask('"dialled":"+18005550100"'), '"dialled":"+18005550100"');
  assert.equal(masker.mask('"dialled":"+18005550199"'), `"dialled":"+${LOG_MASK}"`);
  assert.deepEqual(masker.hits(), { luhn: 0, longRun: 1 });
});

test('each hit is counted and reported to onHit with its rule', () => {
  const seen: MaskRule[] = [];
  const masker = createLogMasker({ onHit: (rule) => seen.push(rule) });
  masker.mask('"a 4111111111111111 b 12345678 c 5500-0000-0000-0004"');
  assert.deepEqual(seen, ['luhn', 'long-run', 'luhn']);
  assert.deepEqual(masker.hits(), { luhn: 2, longRun: 1 });
});

test('a line without digits to mask is returned as the same string', () => {
  const masker = createLogMasker();
  const line = '{"level":"info","event":"flow.step","step":"main-menu"}';
  assert.equal(masker.mask(line), line);
});

const logish = fc.string({
  unit: fc.constantFrom('0', '1', '4', '5', '9', ' ', '-', '"', '\\', '.', 'e', 'a', ':', ','),
  maxLength: 200,
});

test('property: no output keeps a digit run of the long-run length', () => {
  const masker = createLogMasker();
  fc.assert(
    fc.property(logish, (line) => {
      assert.doesNotMatch(masker.mask(line), /\d{7}/);
    }),
    { numRuns: 2000 },
  );
});

test('property: masking is a fixpoint (a second pass finds nothing)', () => {
  fc.assert(
    fc.property(logish, (line) => {
      const first = createLogMasker().mask(line);
      const again = createLogMasker();
      assert.equal(again.mask(first), first);
      assert.deepEqual(again.hits(), { luhn: 0, longRun: 0 });
    }),
    { numRuns: 2000 },
  );
});

test('property: a Luhn-valid card number embedded anywhere in text is never printed', () => {
  const masker = createLogMasker();
  const pans = fc
    .tuple(fc.integer({ min: 12, max: 18 }), fc.stringMatching(/^[1-9]\d{17}$/))
    .map(([length, digits]) => withCheckDigit(digits.slice(0, length)));
  fc.assert(
    fc.property(fc.string({ maxLength: 20 }), pans, fc.constantFrom('', ' ', '-'), fc.string({ maxLength: 20 }), (before, pan, sep, after) => {
      const written = sep === '' ? pan : (pan.match(/.{1,4}/g) ?? []).join(sep);
      const line = JSON.stringify({ msg: `${before} ${written} ${after}` });
      assert.ok(!masker.mask(line).replace(/[ -]/g, '').includes(pan));
    }),
    { numRuns: 1000 },
  );
});
