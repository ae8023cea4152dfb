import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactSipMessage, redactSipMessageText } from '../../src/observe/sip-redact.ts';

const SDP = [
  'v=0',
  'o=- 1 1 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 40000 RTP/SAVP 0 101',
  'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4',
  '',
].join('\r\n');

const INVITE = [
  'INVITE sip:+18005550100@ivr.example.com SIP/2.0',
  'Via: SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bK74bf9',
  'Max-Forwards: 70',
  'From: "Jane Caller" <sip:+15551234567@carrier.example>;tag=9fxced76sl',
  'To: <sip:+18005550100@ivr.example.com>',
  'Call-ID: 3848276298220188511@carrier.example',
  'CSeq: 2 INVITE',
  'P-Asserted-Identity: <tel:+15551234567>',
  'Authorization: Digest username="carrier", realm="ivr", nonce="ea9c8e88df84f1cec4341ae6cbe5a359",',
  ' uri="sip:+18005550100@ivr.example.com", response="dfe56131d1958046689d83306477ecc"',
  'Proxy-Authorization: Digest username="carrier", response="0123abcd"',
  'User-to-User: 56a390f3d2b7310023a2;encoding=hex',
  'Content-Type: application/sdp',
  `Content-Length: ${Buffer.byteLength(SDP)}`,
  '',
  SDP,
].join('\r\n');

const EXPECTED = [
  'INVITE sip:+[digits]@ivr.example.com SIP/2.0',
  'Via: SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bK74bf9',
  'Max-Forwards: 70',
  'From: [redacted];tag=9fxced76sl',
  'To: <sip:+[digits]@ivr.example.com>',
  'Call-ID: [digits]@carrier.example',
  'CSeq: 2 INVITE',
  'P-Asserted-Identity: [redacted]',
  'Authorization: [redacted]',
  'Proxy-Authorization: [redacted]',
  'User-to-User: [redacted]',
  'Content-Type: application/sdp',
  `Content-Length: ${Buffer.byteLength(SDP)}`,
  '',
  `[body redacted: ${Buffer.byteLength(SDP)} bytes]`,
].join('\r\n');

test('a sample INVITE trace loses credentials, identity, User-to-User and its SDP body (with the crypto key)', () => {
  const redacted = redactSipMessageText(INVITE);
  assert.equal(redacted, EXPECTED);
  for (const leak of ['dfe56131', 'ea9c8e88', '0123abcd', '56a390f3', 'WVNfX19z', '5551234567', 'Jane', 'a=crypto', '8005550100', '3848276']) {
    assert.ok(!redacted.includes(leak), leak);
  }
});

test('the byte form gives the same text without decoding the body', () => {
  assert.equal(redactSipMessage(Buffer.from(INVITE)), EXPECTED);
});

test('an INFO carrying DTMF keeps nothing of its body', () => {
  const info = 'INFO sip:ivr SIP/2.0\r\nContent-Type: application/dtmf-relay\r\nContent-Length: 24\r\n\r\nSignal=7\r\nDuration=160\r\n';
  const redacted = redactSipMessage(Buffer.from(info));
  assert.equal(redacted, 'INFO sip:ivr SIP/2.0\r\nContent-Type: application/dtmf-relay\r\nContent-Length: 24\r\n\r\n[body redacted: 24 bytes]');
});

test('a message without a blank line loses every line that is not a header, and crypto keys in any line', () => {
  const malformed = 'INVITE sip:ivr SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nSignal=5\na=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj';
  assert.equal(
    redactSipMessageText(malformed),
    'INVITE sip:ivr SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\n[redacted]\na=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:[redacted]',
  );
});

test('compact header forms and LF line ends are handled; a message without body stays as it was', () => {
  const bye = 'BYE sip:ivr SIP/2.0\nf: <sip:5551234567@x>;tag=a1\nm: <sip:5551234567@10.0.0.1>\ni: abc\nl: 0\n\n';
  assert.equal(redactSipMessageText(bye), 'BYE sip:ivr SIP/2.0\nf: [redacted];tag=a1\nm: [redacted]\ni: abc\nl: 0\n\n');
});

test('a folded continuation of a kept header is kept', () => {
  const folded = 'OPTIONS sip:ivr SIP/2.0\r\nSubject: one\r\n two\r\n\r\n';
  assert.equal(redactSipMessageText(folded), folded);
});

test('runs of 7+ digits anywhere in the head become [digits]; shorter runs stay', () => {
  const text = 'OPTIONS sip:ivr@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1234567-0\r\nCSeq: 123456 OPTIONS\r\nContent-Length: 0\r\n\r\n';
  assert.equal(
    redactSipMessageText(text),
    'OPTIONS sip:ivr@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-[digits]-0\r\nCSeq: 123456 OPTIONS\r\nContent-Length: 0\r\n\r\n',
  );
});
