import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildResponse, serializeMessage, SipSerializeError } from '../../src/sip/serializer.ts';
import { parseMessage } from '../../src/sip/parser.ts';
import type { SipRequest } from '../../src/sip/message.ts';
import fc from 'fast-check';
import { canonicalHeaderName } from '../../src/sip/headers.ts';
import { inviteBytes } from './sip-text.ts';

function parsedInvite(): SipRequest {
  const result = parseMessage(inviteBytes());
  assert.ok(result.ok && result.message.kind === 'request');
  if (!result.ok || result.message.kind !== 'request') throw new Error('unreachable');
  return result.message;
}

test('serializes byte for byte: start line, fields in order, Content-Length from the body', () => {
  const bytes = serializeMessage({
    kind: 'request', method: 'BYE', uri: 'sip:alice@192.0.2.10',
    headers: [
      { name: 'Via', value: 'SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1' },
      { name: 'Content-Length', value: '999' },
      { name: 'CSeq', value: '2 BYE' },
    ],
    body: Buffer.from('hi'),
  });
  assert.equal(bytes.toString('latin1'),
    'BYE sip:alice@192.0.2.10 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nContent-Length: 2\r\nCSeq: 2 BYE\r\n\r\nhi');
  const appended = serializeMessage({ kind: 'response', status: 200, reason: 'OK', headers: [{ name: 'CSeq', value: '2 BYE' }], body: Buffer.alloc(0) });
  assert.equal(appended.toString('latin1'), 'SIP/2.0 200 OK\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n');
});

test('a parsed message re-serializes to the same bytes', () => {
  const bytes = inviteBytes();
  assert.deepEqual(serializeMessage(parsedInvite()), bytes);
});

test('refuses CR/LF injection in header values and start lines', () => {
  const invite = parsedInvite();
  assert.throws(() => serializeMessage({ ...invite, headers: [{ name: 'Subject', value: 'x\r\nVia: evil' }] }),
    (error: unknown) => error instanceof SipSerializeError && error.code === 'SIP_UNSAFE_HEADER');
  assert.throws(() => serializeMessage({ ...invite, headers: [{ name: 'Bad Name', value: 'x' }] }),
    (error: unknown) => error instanceof SipSerializeError && error.code === 'SIP_UNSAFE_HEADER');
  assert.throws(() => serializeMessage({ kind: 'response', status: 200, reason: 'OK\r\nX: y', headers: [], body: Buffer.alloc(0) }),
    (error: unknown) => error instanceof SipSerializeError && error.code === 'SIP_UNSAFE_START_LINE');
  assert.throws(() => serializeMessage({ ...invite, uri: 'sip:a@b c' }),
    (error: unknown) => error instanceof SipSerializeError && error.code === 'SIP_UNSAFE_START_LINE');
});

test('buildResponse copies Via (all, in order), From, To, Call-ID, CSeq and adds the To tag (§8.2.6.2)', () => {
  const invite = parsedInvite();
  const withSecondVia: SipRequest = { ...invite, headers: [...invite.headers, { name: 'Via', value: 'SIP/2.0/TCP proxy.example;branch=z9hG4bK2' }] };
  const response = buildResponse(withSecondVia, 180, 'Ringing', [{ name: 'Contact', value: '<sip:ivr@192.0.2.1>' }], 'ivr1');
  assert.equal(serializeMessage(response).toString('latin1'), [
    'SIP/2.0 180 Ringing',
    'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport',
    'To: <sip:+15551234567@ivr.example.com>;tag=ivr1',
    'From: "Alice" <sip:alice@example.com>;tag=1928301774',
    'Call-ID: a84b4c76e66710@pc33.example.com',
    'CSeq: 314159 INVITE',
    'Via: SIP/2.0/TCP proxy.example;branch=z9hG4bK2',
    'Contact: <sip:ivr@192.0.2.1>',
    'Content-Length: 0',
    '', '',
  ].join('\r\n'));
  const trying = buildResponse(invite, 100, 'Trying');
  assert.equal(trying.headers.find((h) => h.name === 'To')?.value, '<sip:+15551234567@ivr.example.com>');
  const tagged: SipRequest = { ...invite, headers: invite.headers.map((h) => (h.name === 'To' ? { name: 'To', value: '<sip:x@y.example>;tag=old' } : h)) };
  assert.equal(buildResponse(tagged, 200, 'OK', [], 'new').headers.find((h) => h.name === 'To')?.value, '<sip:x@y.example>;tag=old');
});

const token = fc.stringMatching(/^[A-Za-z0-9\-.!%*_+`'~]{1,12}$/);
/** Header text as the parser leaves it: no CR/LF, no leading/trailing SP/HTAB (§7.3.1). */
const headerText = fc.string({ unit: fc.constantFrom(...'abcXYZ019 \t;,="<>@:\\/%é大'.split('')), maxLength: 40 })
  .map((text) => text.replace(/^[ \t]+|[ \t]+$/g, ''));

const generatedRequest: fc.Arbitrary<SipRequest> = fc.record({
  method: token,
  user: fc.stringMatching(/^[a-z0-9+]{1,10}$/),
  branch: token,
  seq: fc.integer({ min: 0, max: 0xffffffff }),
  extra: fc.array(fc.tuple(token.filter((name) => !['l', 'content-length', 'via', 'v', 'from', 'f', 'to', 't', 'cseq', 'call-id', 'i',
    'max-forwards', 'contact', 'm', 'route', 'record-route'].includes(name.toLowerCase())), headerText), { maxLength: 6 }),
  body: fc.uint8Array({ maxLength: 300 }),
}).map(({ method, user, branch, seq, extra, body }) => ({
  kind: 'request' as const,
  method,
  uri: `sip:${user}@ivr.example.com`,
  headers: [
    { name: 'Via', value: `SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK${branch}` },
    { name: 'From', value: `<sip:${user}@example.com>;tag=${branch}` },
    { name: 'To', value: `<sip:${user}@ivr.example.com>` },
    { name: 'Call-ID', value: `${branch}@example.com` },
    { name: 'CSeq', value: `${seq} ${method}` },
    ...extra.map(([name, value]) => ({ name: canonicalHeaderName(name), value })),
    { name: 'Content-Length', value: String(body.length) },
  ],
  body: Buffer.from(body),
}));

test('round trip: serialize → parse gives the same message, and serializing again gives the same bytes', () => {
  fc.assert(fc.property(generatedRequest, (message) => {
    const bytes = serializeMessage(message);
    const parsed = parseMessage(bytes);
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.error.code);
    assert.deepEqual(parsed.message, message);
    assert.deepEqual(serializeMessage(parsed.message), bytes);
  }), { numRuns: 1000 });
});
