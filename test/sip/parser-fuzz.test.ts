// Property tests over the SIP message layer with fast-check: whatever arrives, the parser and
// the stream framer return (never throw), stay within their limits, and what they accept
// serializes and re-parses to the same message. Speed is measured in bench/, not here; here
// the source is checked to hold no RegExp that could backtrack over message text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseMessage } from '../../src/sip/parser.ts';
import { serializeMessage } from '../../src/sip/serializer.ts';
import { StreamFramer } from '../../src/sip/stream-framer.ts';
import { DEFAULT_SIP_LIMITS } from '../../src/sip/limits.ts';
import type { SipMessage } from '../../src/sip/message.ts';
import { inviteBytes } from './sip-text.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/sip-torture');
const seeds: Buffer[] = [
  inviteBytes(),
  ...readdirSync(FIXTURES).filter((file) => file.endsWith('.sip')).sort().map((file) => readFileSync(join(FIXTURES, file))),
];

const withoutContentLength = (m: SipMessage): SipMessage => ({ ...m, headers: m.headers.filter((h) => h.name !== 'Content-Length') });

/** The invariants every parse must hold, for any input. */
function checkParse(bytes: Buffer): void {
  const result = parseMessage(bytes);
  if (!result.ok) {
    assert.notEqual(result.error.code, 'INTERNAL', 'the parser threw internally');
    assert.ok(/^[\x20-\x7e]+$/.test(result.error.reason));
    if (result.error.canRespond) {
      assert.ok(result.error.partial);
      assert.ok(result.error.partial.headers.length <= DEFAULT_SIP_LIMITS.maxHeaderFields);
      assert.equal(result.error.partial.body.length, 0);
    } else {
      assert.equal(result.error.partial, undefined);
    }
    return;
  }
  const message = result.message;
  assert.ok(message.headers.length <= DEFAULT_SIP_LIMITS.maxHeaderFields);
  assert.ok(message.body.length <= bytes.length);
  // Round trip: what the parser accepts, the serializer writes, and it parses back the same.
  const again = parseMessage(serializeMessage(message));
  assert.ok(again.ok, again.ok ? '' : `re-parse failed: ${again.error.code}`);
  assert.deepEqual(withoutContentLength(again.message), withoutContentLength(message));
}

type Mutation = (input: Buffer) => Buffer;

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  // flip bytes
  fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }).map((flips) => (input: Buffer) => {
    const copy = Buffer.from(input);
    for (const [at, value] of flips) if (copy.length > 0) copy[at % copy.length] = value;
    return copy;
  }),
  // truncate
  fc.nat().map((at) => (input: Buffer) => input.subarray(0, at % (input.length + 1))),
  // duplicate a header line (possibly many times)
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 300 })).map(([which, times]) => (input: Buffer) => {
    const text = input.toString('latin1');
    const end = text.indexOf('\r\n\r\n');
    const lines = text.slice(0, end < 0 ? text.length : end).split('\r\n');
    if (lines.length < 2) return input;
    const line = lines[1 + (which % (lines.length - 1))]!;
    lines.splice(1, 0, ...Array.from({ length: times }, () => line));
    return Buffer.from(lines.join('\r\n') + text.slice(end < 0 ? text.length : end), 'latin1');
  }),
  // insert a huge header made of one repeated piece (quotes, escapes, commas, brackets...)
  fc.tuple(fc.constantFrom('a', ',', '"', '\\', '<', '>', ';', ' ', '\t', '%', '[', ':', '=', '"\\', ';a=', ', <'),
    fc.integer({ min: 1, max: 70_000 }), fc.constantFrom('Via', 'To', 'From', 'Contact', 'CSeq', 'Call-ID', 'Route', 'X-Big', 'Content-Length'))
    .map(([piece, length, name]) => (input: Buffer) => {
      const text = input.toString('latin1');
      const firstEnd = text.indexOf('\r\n');
      if (firstEnd < 0) return input;
      const value = piece.repeat(Math.ceil(length / piece.length)).slice(0, length);
      return Buffer.from(`${text.slice(0, firstEnd)}\r\n${name}: ${value}${text.slice(firstEnd)}`, 'latin1');
    }),
  // splice random bytes in
  fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 64 })).map(([at, bytes]) => (input: Buffer) => {
    const cut = at % (input.length + 1);
    return Buffer.concat([input.subarray(0, cut), Buffer.from(bytes), input.subarray(cut)]);
  }),
);

test('random bytes never throw and never hit the internal-error path', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => checkParse(Buffer.from(bytes))), { numRuns: 2000 });
  // Random bytes that at least look like SIP lines.
  const sipish = fc.array(fc.constantFrom('INVITE ', 'SIP/2.0', ' ', '\r\n', ':', 'Via', 'v', 'To', 'From', 'CSeq', 'Call-ID', 'l',
    'Content-Length', '0', '1', '99999999999', '"', '\\', '<', '>', ';', ',', 'sip:', '@', '[', ']', '::1', 'tag=', 'branch=z9hG4bK', '\t', '%'),
  { maxLength: 200 }).map((parts) => Buffer.from(parts.join(''), 'latin1'));
  fc.assert(fc.property(sipish, (bytes) => checkParse(bytes)), { numRuns: 3000 });
});

test('mutated valid messages: flips, truncation, duplicated and huge headers, spliced bytes', () => {
  fc.assert(fc.property(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 3 }), (seed, mutations) => {
    checkParse(mutations.reduce((bytes, mutate) => mutate(bytes), seed));
  }), { numRuns: 3000 });
});

test('every unmutated seed holds the invariants too', () => {
  for (const seed of seeds) checkParse(seed);
});

/** Valid messages a stream can carry (each with a true Content-Length), and keep-alives between them. */
const framable = seeds.filter((seed) => {
  const result = new StreamFramer().push(seed);
  return result.error === undefined && result.messages.length === 1 && result.messages[0]!.equals(seed);
});

test('stream framer: any chunking of a valid stream yields the same messages and pings', () => {
  assert.ok(framable.length > 40);
  const stream = fc.array(fc.tuple(fc.constantFrom(...framable), fc.constantFrom('', '\r\n\r\n', '\r\n', '\r\n\r\n\r\n\r\n')), { minLength: 1, maxLength: 6 });
  fc.assert(fc.property(stream, fc.array(fc.nat(), { maxLength: 40 }), (parts, cuts) => {
    const whole = Buffer.concat(parts.flatMap(([message, keepAlive]) => [message, Buffer.from(keepAlive)]));
    const expectedPings = parts.reduce((sum, [, keepAlive]) => sum + Math.floor(keepAlive.length / 4), 0);
    const points = [...new Set(cuts.map((cut) => cut % (whole.length + 1)))].sort((a, b) => a - b);
    const framer = new StreamFramer();
    const messages: Buffer[] = [];
    let pings = 0;
    let from = 0;
    for (const point of [...points, whole.length]) {
      const out = framer.push(whole.subarray(from, point));
      assert.equal(out.error, undefined);
      messages.push(...out.messages);
      pings += out.pings;
      from = point;
    }
    assert.deepEqual(messages, parts.map(([message]) => message));
    // A trailing lone CRLF is a pong and never a ping; CRLF pairs across a message boundary are not merged.
    assert.equal(pings, expectedPings);
  }), { numRuns: 500 });
});

test('stream framer: random and mutated streams never throw and never buffer past the limit', () => {
  const limit = 4096;
  const chunks = fc.array(fc.oneof(
    fc.uint8Array({ maxLength: 3000 }).map((bytes) => Buffer.from(bytes)),
    fc.tuple(fc.constantFrom(...framable), mutation).map(([seed, mutate]) => mutate(seed)),
  ), { maxLength: 10 });
  fc.assert(fc.property(chunks, (list) => {
    const framer = new StreamFramer({ maxMessageBytes: limit });
    let total = 0;
    let produced = 0;
    for (const chunk of list) {
      total += chunk.length;
      const out = framer.push(chunk);
      for (const message of out.messages) {
        assert.ok(message.length <= limit);
        produced += message.length;
        checkParse(message);
      }
      assert.ok(framer.bufferedBytes <= limit);
      if (out.error !== undefined) assert.equal(framer.bufferedBytes, 0);
    }
    assert.ok(produced <= total);
  }), { numRuns: 500 });
});

test('the message layer runs no RegExp over message text (no backtracking, nothing left in RegExp.input)', () => {
  const dir = join(import.meta.dirname, '../../src/sip');
  const files = ['parser.ts', 'syntax.ts', 'uri.ts', 'via.ts', 'name-addr.ts', 'headers.ts', 'header-names.ts',
    'stream-framer.ts', 'serializer.ts', 'response-builder.ts', 'limits.ts', 'parse-error.ts'];
  for (const file of files) {
    const source = readFileSync(join(dir, file), 'utf8');
    for (const use of ['new RegExp', 'RegExp(', '.test(', '.exec(', '.match(', '.matchAll(', '.search(', '.replace(/', '.replaceAll(/', '.split(/']) {
      assert.ok(!source.includes(use), `${file} uses ${use}`);
    }
  }
});
