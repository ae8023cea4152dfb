// The leak tests are only as strong as their search: these pin down what it finds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findCanaries, tokens } from './leak-scan.ts';

const time = '"time":"2026-11-28T19:40:01.483Z"';
const found = (lines: string[], canaries: string[]): string[] => findCanaries(lines, canaries).map((f) => `${f.canary} ${f.where}`);

test('a short canary is found as a number, a string, a token inside a string and a key', () => {
  assert.deepEqual(found([`{${time},"latencyMs":12345}`], ['12345']), ['0 line 0 $.latencyMs']);
  assert.deepEqual(found([`{${time},"step":"12345"}`], ['12345']), ['0 line 0 $.step']);
  assert.deepEqual(found([`{${time},"detail":"zip=12345;ok"}`], ['12345']), ['0 line 0 $.detail']);
  assert.deepEqual(found([`{${time},"x":{"12345":true}}`], ['12345']), ['0 line 0 $.x key "12345"']);
  assert.deepEqual(found([`{${time},"a":[1,{"b":"cvv 123"}]}`], ['123']), ['0 line 0 $.a[1].b']);
});

test('a JSON escape does not hide a canary, long or short', () => {
  assert.deepEqual(found([String.raw`{"msg":"card 41111111\u00311111111"}`], ['4111111111111111']), ['0 line 0 $.msg']);
  assert.deepEqual(found([String.raw`{"msg":"pin 86\u00342"}`], ['8642']), ['0 line 0 $.msg']);
});

test('a long canary is found anywhere, in raw text and inside digits', () => {
  assert.deepEqual(found(['banner 4111111111111111 end'], ['4111111111111111']), ['0 line 0 (raw)', '0 line 0 $']);
  assert.deepEqual(found([`{${time},"tag":"ab9123456789"}`], ['12345678']), ['0 line 0 (raw)', '0 line 0 $.tag']);
});

test('times, fractions and hex tags do not count as short canaries', () => {
  const line = `{${time},"durationMs":8123.483,"bytes":517,"message":"Call-ID: 19f592a59d7ac5c6@127.0.0.1"}`;
  assert.deepEqual(found([line], ['483', '8123', '592', '0134']), []);
  assert.deepEqual(tokens('a=1;b:23 [x4]'), ['a', '1', 'b', '23', 'x4']);
});

test('a numeric process id is the kernel\'s, not a keyed value: only a number under a pid key is passed over', () => {
  assert.deepEqual(found([`{"event":"demo.ready","gateway":{"pid":17118}}`], ['17118']), []);
  assert.deepEqual(found([`{"event":"demo.ready","gateway":{"pid":"17118"}}`], ['17118']), ['0 line 0 $.gateway.pid']);
  assert.deepEqual(found([`{"event":"demo.ready","gateway":{"port":17118}}`], ['17118']), ['0 line 0 $.gateway.port']);
});
