import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMessage } from '../../src/sip/parser.ts';
import type { SipParseError } from '../../src/sip/parse-error.ts';
import { DEFAULT_SIP_LIMITS } from '../../src/sip/limits.ts';
import { INVITE_LINES, SDP_BODY, inviteBytes, sipBytes } from './sip-text.ts';

function failure(bytes: Buffer): SipParseError {
  const result = parseMessage(bytes);
  assert.equal(result.ok, false, 'expected a parse error');
  if (result.ok) throw new Error('unreachable');
  return result.error;
}

const withContentLength = (lines: readonly string[], body = ''): Buffer =>
  sipBytes([...lines, `Content-Length: ${Buffer.byteLength(body)}`], body);

test('parses a typical INVITE: start line, canonical header names in order, body as a copy', () => {
  const bytes = inviteBytes();
  const result = parseMessage(bytes);
  assert.ok(result.ok);
  const message = result.message;
  assert.equal(message.kind, 'request');
  if (message.kind !== 'request') return;
  assert.equal(message.method, 'INVITE');
  assert.equal(message.uri, 'sip:+15551234567@ivr.example.com');
  assert.deepEqual(message.headers.map((h) => h.name), [
    'Via', 'Max-Forwards', 'To', 'From', 'Call-ID', 'CSeq', 'Contact', 'Content-Type', 'Content-Length',
  ]);
  assert.equal(message.headers[4]?.value, 'a84b4c76e66710@pc33.example.com');
  assert.equal(message.body.toString('latin1'), SDP_BODY);
  // The body is its own memory: changing the input does not change it.
  bytes.fill(0x41, bytes.length - 5);
  assert.equal(message.body.toString('latin1'), SDP_BODY);
  assert.notEqual(message.body.buffer, bytes.buffer);
});

test('parses a response, including an empty reason phrase (RFC 4475 §3.1.1.13)', () => {
  const lines = ['SIP/2.0 180 Ringing', ...INVITE_LINES.slice(1, 7)];
  const result = parseMessage(withContentLength(lines));
  assert.ok(result.ok && result.message.kind === 'response');
  if (!result.ok || result.message.kind !== 'response') return;
  assert.equal(result.message.status, 180);
  assert.equal(result.message.reason, 'Ringing');
  const empty = parseMessage(withContentLength(['SIP/2.0 100 ', ...INVITE_LINES.slice(1, 7)]));
  assert.ok(empty.ok && empty.message.kind === 'response' && empty.message.reason === '');
});

test('unfolds continuation lines into one SP and maps compact names (§7.3.1, §7.3.3)', () => {
  const lines = [
    'OPTIONS sip:ivr.example.com SIP/2.0',
    'v: SIP/2.0/TCP host.example.com',
    '  ;branch=z9hG4bKabc',
    't: <sip:ivr.example.com>',
    'f: <sip:a@example.com>;tag=1',
    'i: call-1',
    'CSeq: 1',
    '\tOPTIONS',
    'X-Custom: first',
    ' second',
  ];
  const result = parseMessage(withContentLength(lines));
  assert.ok(result.ok);
  if (!result.ok) return;
  assert.deepEqual(result.message.headers.slice(0, 6), [
    { name: 'Via', value: 'SIP/2.0/TCP host.example.com ;branch=z9hG4bKabc' },
    { name: 'To', value: '<sip:ivr.example.com>' },
    { name: 'From', value: '<sip:a@example.com>;tag=1' },
    { name: 'Call-ID', value: 'call-1' },
    { name: 'CSeq', value: '1 OPTIONS' },
    { name: 'X-Custom', value: 'first second' },
  ]);
});

test('datagram framing: no Content-Length takes the rest; extra octets are cut; too few is a 400 (§18.3)', () => {
  const lines = INVITE_LINES;
  const rest = parseMessage(sipBytes(lines, 'abc'));
  assert.ok(rest.ok && rest.message.body.toString() === 'abc');
  const cut = parseMessage(sipBytes([...lines, 'Content-Length: 2'], 'abcdef'));
  assert.ok(cut.ok && cut.message.body.toString() === 'ab');
  const short = failure(sipBytes([...lines, 'Content-Length: 7'], 'abc'));
  assert.equal(short.code, 'BAD_CONTENT_LENGTH');
  assert.equal(short.canRespond, true);
  assert.equal(short.status, 400);
});

test('stream framing: Content-Length is mandatory (§18.3), the body is exactly Content-Length', () => {
  const missing = parseMessage(sipBytes(INVITE_LINES, ''), undefined, 'stream');
  assert.ok(!missing.ok && missing.error.code === 'BAD_CONTENT_LENGTH' && missing.error.canRespond);
  const framed = parseMessage(inviteBytes(), undefined, 'stream');
  assert.ok(framed.ok && framed.message.body.toString() === SDP_BODY);
});

test('leading CRLFs are ignored (§7.5)', () => {
  const result = parseMessage(Buffer.concat([Buffer.from('\r\n\r\n'), inviteBytes()]));
  assert.ok(result.ok && result.message.kind === 'request' && result.message.method === 'INVITE');
});

test('limits: more than 256 header fields, more than 32 Via values, more than 64 KiB', () => {
  const many = Array.from({ length: DEFAULT_SIP_LIMITS.maxHeaderFields }, (_, i) => `X-H${i}: v`);
  const tooMany = failure(withContentLength([...INVITE_LINES, ...many]));
  assert.equal(tooMany.code, 'TOO_MANY_HEADERS');
  assert.equal(tooMany.canRespond, true);
  // The partial request keeps the fields read before the limit, so the 400 can copy Via etc.
  assert.equal(tooMany.partial?.headers.length, DEFAULT_SIP_LIMITS.maxHeaderFields);
  assert.equal(tooMany.partial?.headers[0]?.name, 'Via');

  const vias = Array.from({ length: 32 }, (_, i) => `Via: SIP/2.0/UDP h${i}.example.com;branch=z9hG4bK${i}`);
  assert.ok(parseMessage(withContentLength([INVITE_LINES[0]!, ...vias, ...INVITE_LINES.slice(2)])).ok);
  const viaList = failure(withContentLength([INVITE_LINES[0]!, ...vias, 'Via: SIP/2.0/UDP a, SIP/2.0/UDP b', ...INVITE_LINES.slice(2)]));
  assert.equal(viaList.code, 'TOO_MANY_VIA');
  assert.equal(viaList.canRespond, true);

  const huge = failure(inviteBytes([], 'x'.repeat(DEFAULT_SIP_LIMITS.maxMessageBytes)));
  assert.equal(huge.code, 'MESSAGE_TOO_LARGE');
  assert.equal(huge.canRespond, false);
});

test('each coded error with its respond/drop outcome', () => {
  const cases: Array<[string, Buffer, string, boolean, number?]> = [
    ['empty', Buffer.alloc(0), 'EMPTY', false],
    ['only CRLF', Buffer.from('\r\n\r\n'), 'EMPTY', false],
    ['no empty line', Buffer.from('INVITE sip:a@b SIP/2.0\r\nVia: x\r\n'), 'INCOMPLETE_HEADERS', false],
    ['bare LF in header', withContentLength([...INVITE_LINES, 'X-A: a\nb']), 'BAD_LINE_ENDING', true, 400],
    ['header without colon', withContentLength([...INVITE_LINES, 'NoColon']), 'BAD_HEADER', true, 400],
    ['bad header name', withContentLength([...INVITE_LINES, 'Bad Name: x']), 'BAD_HEADER', true, 400],
    ['request line with two SPs', withContentLength(['INVITE  sip:a@b.example SIP/2.0', ...INVITE_LINES.slice(1)]), 'BAD_START_LINE', true, 400],
    ['SIP/3.0 request', withContentLength(['INVITE sip:a@b.example SIP/3.0', ...INVITE_LINES.slice(1)]), 'BAD_VERSION', true, 505],
    ['<> Request-URI', withContentLength(['INVITE <sip:a@b.example> SIP/2.0', ...INVITE_LINES.slice(1)]), 'BAD_REQUEST_URI', true, 400],
    ['status 700', withContentLength(['SIP/2.0 700 No', ...INVITE_LINES.slice(1, 7)]), 'BAD_STATUS_CODE', false],
    ['status 2000', withContentLength(['SIP/2.0 2000 No', ...INVITE_LINES.slice(1, 7)]), 'BAD_STATUS_CODE', false],
    ['SIP/3.0 response', withContentLength(['SIP/3.0 200 OK', ...INVITE_LINES.slice(1, 7)]), 'BAD_VERSION', false],
    ['empty Via element', withContentLength([...INVITE_LINES, 'Via: SIP/2.0/UDP h,']), 'BAD_VIA', true, 400],
    ['missing Call-ID', withContentLength(INVITE_LINES.filter((l) => !l.startsWith('Call-ID'))), 'MISSING_HEADER', true, 400],
    ['missing Via', withContentLength(INVITE_LINES.filter((l) => !l.startsWith('Via'))), 'MISSING_HEADER', false],
    ['two To', withContentLength([...INVITE_LINES, 'To: <sip:x@y.example>']), 'DUPLICATE_HEADER', true, 400],
    ['two Content-Length', sipBytes([...INVITE_LINES, 'Content-Length: 0', 'l: 0']), 'BAD_CONTENT_LENGTH', true, 400],
    ['negative Content-Length', sipBytes([...INVITE_LINES, 'Content-Length: -1']), 'BAD_CONTENT_LENGTH', true, 400],
    ['CSeq overflow', withContentLength([...INVITE_LINES.filter((l) => !l.startsWith('CSeq')), 'CSeq: 4294967296 INVITE']), 'BAD_CSEQ', true, 400],
    ['CSeq method mismatch', withContentLength([...INVITE_LINES.filter((l) => !l.startsWith('CSeq')), 'CSeq: 1 BYE']), 'MISMATCHED_CSEQ', true, 400],
    ['Max-Forwards 256', withContentLength([...INVITE_LINES.filter((l) => !l.startsWith('Max')), 'Max-Forwards: 256']), 'BAD_MAX_FORWARDS', true, 400],
    ['Call-ID with space', withContentLength([...INVITE_LINES.filter((l) => !l.startsWith('Call-ID')), 'Call-ID: a b']), 'BAD_CALL_ID', true, 400],
    ['unquoted comma display name', withContentLength([...INVITE_LINES.filter((l) => !l.startsWith('From')), 'From: A, B <sip:a@b.example>;tag=1']), 'BAD_ADDRESS', true, 400],
  ];
  for (const [label, bytes, code, canRespond, status] of cases) {
    const error = failure(bytes);
    assert.equal(error.code, code, label);
    assert.equal(error.canRespond, canRespond, label);
    assert.equal(error.status, status, label);
    assert.equal(error.partial !== undefined, canRespond, label);
    assert.ok(/^[\x20-\x7e]+$/.test(error.reason), `${label}: reason is printable ASCII`);
  }
});

test('the partial request carries the method, URI and headers for the 400', () => {
  const error = failure(withContentLength([...INVITE_LINES.filter((l) => !l.startsWith('CSeq')), 'CSeq: 1 BYE']));
  assert.equal(error.partial?.method, 'INVITE');
  assert.equal(error.partial?.uri, 'sip:+15551234567@ivr.example.com');
  assert.equal(error.partial?.body.length, 0);
  assert.equal(error.reason, 'CSeq Method Does Not Match Request');
});

test('invalid UTF-8 in a header is kept octet for octet (latin1), never replaced', () => {
  const bytes = Buffer.concat([
    Buffer.from(`${INVITE_LINES.join('\r\n')}\r\nX-Raw: `),
    Buffer.from([0xff, 0xfe]),
    Buffer.from('\r\nContent-Length: 0\r\n\r\n'),
  ]);
  const result = parseMessage(bytes);
  assert.ok(result.ok);
  if (!result.ok) return;
  assert.equal(result.message.headers.find((h) => h.name === 'X-Raw')?.value, '\u00ff\u00fe');
});

test('a bare CR or LF in the start line is refused, and the partial method falls back to CSeq', () => {
  const lfInReason = failure(withContentLength(['SIP/2.0 200 O\rK', ...INVITE_LINES.slice(1, 7)]));
  assert.equal(lfInReason.code, 'BAD_LINE_ENDING');
  assert.equal(lfInReason.canRespond, false);
  const crInUri = failure(withContentLength(['INVITE sip:a@b.example\r SIP/2.0', ...INVITE_LINES.slice(1)]));
  assert.equal(crInUri.code, 'BAD_LINE_ENDING');
  assert.equal(crInUri.partial?.method, 'INVITE');
  assert.equal(crInUri.partial?.uri, '');
  const garbled = failure(withContentLength(['I\nNVITE sip:a@b.example SIP/2.0', ...INVITE_LINES.slice(1)]));
  assert.equal(garbled.partial?.method, 'INVITE'); // from CSeq: 314159 INVITE
  const ack = failure(withContentLength(['ACK <sip:a@b.example> SIP/2.0', ...INVITE_LINES.slice(1).filter((l) => !l.startsWith('CSeq')), 'CSeq: 1 ACK']));
  assert.equal(ack.partial?.method, 'ACK'); // the caller must not answer it (§17.2.1)
});
