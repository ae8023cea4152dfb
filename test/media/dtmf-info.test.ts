import { test } from 'node:test';
import assert from 'node:assert/strict';
import { infoDtmfFormat, parseInfoDtmf, MAX_INFO_BODY } from '../../src/media/dtmf-info.ts';

const body = (text: string) => Buffer.from(text, 'latin1');

test('content types: the three DTMF formats, case and parameters ignored', () => {
  assert.equal(infoDtmfFormat('application/dtmf-relay'), 'dtmf-relay');
  assert.equal(infoDtmfFormat(' Application/DTMF-Relay ; charset=utf-8'), 'dtmf-relay');
  assert.equal(infoDtmfFormat('application/dtmf'), 'dtmf');
  assert.equal(infoDtmfFormat('audio/telephone-event'), 'telephone-event');
  assert.equal(infoDtmfFormat('application/media_control+xml'), null);
  assert.equal(infoDtmfFormat('application/dtmf-relayx'), null);
  assert.equal(infoDtmfFormat(''), null);
});

test('application/dtmf-relay bodies', () => {
  const cases: Array<[string, number | 'malformed']> = [
    ['Signal=5\r\nDuration=160\r\n', 5],
    ['Signal=5\r\nDuration=160', 5],
    ['signal = 0\nduration=100\n', 0],
    ['Duration=250\r\nSignal= *\r\n', 10],
    ['Signal=#\r\n', 11],
    ['Signal=d\r\n', 15],
    ['Signal=A\r\n', 12],
    ['Signal=10\r\n', 10], // event-code form
    ['Signal=15\r\n', 15],
    ['  Signal=9  \r\n', 9],
    ['Signal=16\r\n', 'malformed'],
    ['Signal=E\r\n', 'malformed'],
    ['Signal=\r\n', 'malformed'],
    ['Signal 5\r\n', 'malformed'],
    ['Signal=5 6\r\n', 'malformed'],
    ['Signal=55\r\n', 'malformed'],
    ['Signal=5\r\nSignal=6\r\n', 'malformed'],
    ['Duration=160\r\n', 'malformed'],
    ['Signalling=5\r\n', 'malformed'],
    ['\r\n', 'malformed'],
    ['', 'malformed'],
  ];
  for (const [text, expected] of cases) assert.equal(parseInfoDtmf('dtmf-relay', body(text)), expected, JSON.stringify(text));
});

test('application/dtmf bodies', () => {
  const cases: Array<[string, number | 'malformed']> = [
    ['5', 5],
    ['5\r\n', 5],
    [' # ', 11],
    ['*', 10],
    ['b', 13],
    ['11', 11],
    ['56', 'malformed'],
    ['5 6', 'malformed'],
    ['x', 'malformed'],
    ['', 'malformed'],
    ['\r\n', 'malformed'],
  ];
  for (const [text, expected] of cases) assert.equal(parseInfoDtmf('dtmf', body(text)), expected, JSON.stringify(text));
});

test('audio/telephone-event bodies carry one RFC 4733 block', () => {
  assert.equal(parseInfoDtmf('telephone-event', Buffer.from('078a0320', 'hex')), 7);
  assert.equal(parseInfoDtmf('telephone-event', Buffer.from('108a0320', 'hex')), 'malformed');
  assert.equal(parseInfoDtmf('telephone-event', Buffer.from('078a03', 'hex')), 'malformed');
});

test('oversized bodies are refused before reading', () => {
  const big = Buffer.alloc(MAX_INFO_BODY + 1, 0x20);
  big.write('Signal=5', 0, 'latin1');
  assert.equal(parseInfoDtmf('dtmf-relay', big), 'malformed');
});

test('parsing never makes a string of the body nor runs a RegExp over it', () => {
  const traps: Array<[object, string]> = [
    [String, 'fromCharCode'],
    [String, 'fromCodePoint'],
    [Buffer.prototype, 'toString'],
    [Buffer.prototype, 'latin1Slice'],
    [Buffer.prototype, 'utf8Slice'],
    [Buffer.prototype, 'asciiSlice'],
    [TextDecoder.prototype, 'decode'],
    [RegExp.prototype, 'exec'],
    [RegExp.prototype, Symbol.match as unknown as string],
  ];
  const saved = traps.map(([owner, name]) => (owner as Record<string, unknown>)[name]);
  const relay = body('Signal=7\r\nDuration=160\r\n');
  const bare = body('7');
  try {
    for (const [owner, name] of traps) {
      (owner as Record<string, unknown>)[name] = () => {
        throw new Error(`body turned into a string via ${String(name)}`);
      };
    }
    assert.throws(() => relay.toString('latin1'), /string via/); // the traps are live
    assert.equal(parseInfoDtmf('dtmf-relay', relay), 7);
    assert.equal(parseInfoDtmf('dtmf', bare), 7);
  } finally {
    traps.forEach(([owner, name], i) => {
      (owner as Record<string, unknown>)[name] = saved[i];
    });
  }
});
