import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildResponse, serializeMessage, SipSerializeError } from '../../src/sip/serializer.ts';
import { parseMessage } from '../../src/sip/parser.ts';
import type { SipRequest } from '../../src/sip/message.ts';
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
