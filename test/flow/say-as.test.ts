import { test } from 'node:test';
import assert from 'node:assert/strict';
import { charactersClips, currencyClips, dateClips, digitsClips, numberClips, ordinalClips } from '../../src/flow/say-as.ts';

test('numbers in English', () => {
  assert.deepEqual(numberClips(0, 'en-US'), ['num.0']);
  assert.deepEqual(numberClips(100, 'en-US'), ['num.100']);
  assert.deepEqual(numberClips(165, 'en-US'), ['hundreds.1', 'num.65']);
  assert.deepEqual(numberClips(2026, 'en-US'), ['num.2', 'thousand', 'num.26']);
  assert.deepEqual(numberClips(1_000_500, 'en-US'), ['num.1', 'million', 'hundreds.5']);
  assert.throws(() => numberClips(-1, 'en-US'), RangeError);
  assert.throws(() => numberClips(1.5, 'en-US'), RangeError);
});

test('numbers in Spanish: cien, mil without uno, un millón / dos millones', () => {
  assert.deepEqual(numberClips(100, 'es-US'), ['num.100']);
  assert.deepEqual(numberClips(101, 'es-US'), ['hundreds.1', 'num.1']);
  assert.deepEqual(numberClips(1000, 'es-US'), ['thousand']);
  assert.deepEqual(numberClips(2026, 'es-US'), ['num.2', 'thousand', 'num.26']);
  assert.deepEqual(numberClips(1_000_000, 'es-US'), ['num.un', 'million']);
  assert.deepEqual(numberClips(3_000_000, 'es-US'), ['num.3', 'millions']);
});

test('currency: singular and plural, cents joined with and/con', () => {
  assert.deepEqual(currencyClips(6500, 'en-US'), ['num.65', 'currency.dollars']);
  assert.deepEqual(currencyClips(101, 'en-US'), ['num.1', 'currency.dollar', 'currency.and', 'num.1', 'currency.cent']);
  assert.deepEqual(currencyClips(150, 'es-US'), ['num.un', 'currency.dollar', 'currency.and', 'num.50', 'currency.cents']);
  assert.deepEqual(currencyClips(0, 'en-US'), ['num.0', 'currency.dollars']);
  assert.deepEqual(currencyClips(13000, 'en-US'), ['hundreds.1', 'num.30', 'currency.dollars']);
});

test('dates: US English month-ordinal-year, Spanish day de month de year', () => {
  assert.deepEqual(dateClips('2026-10-03', 'en-US'), ['month.10', 'ordinal.3', 'num.20', 'num.26']);
  assert.deepEqual(dateClips('2005-01-31', 'en-US'), ['month.1', 'ordinal.31', 'num.2', 'thousand', 'num.5']);
  assert.deepEqual(dateClips('2026-11-12', 'es-US'), ['num.12', 'word.of', 'month.11', 'word.of', 'num.2', 'thousand', 'num.26']);
  assert.deepEqual(dateClips('2026-11-01', 'es-US').slice(0, 1), ['ordinal.1']);
  assert.throws(() => dateClips('2026-13-01', 'en-US'), RangeError);
  assert.throws(() => dateClips('yesterday', 'en-US'), RangeError);
});

test('ordinals, digits and characters', () => {
  assert.deepEqual(ordinalClips(2, 'en-US'), ['ordinal.2']);
  assert.deepEqual(ordinalClips(12, 'es-US'), ['num.12']);
  assert.deepEqual(digitsClips('40*#'), ['num.4', 'num.0', 'key.star', 'key.pound']);
  assert.throws(() => digitsClips('12a'), RangeError);
  assert.deepEqual(charactersClips('7abc'), ['num.7', 'letter.A', 'letter.B', 'letter.C']);
});
