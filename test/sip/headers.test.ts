import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  canonicalHeaderName, firstHeader, fromTag, headerValues, parseCSeq, parseNameAddr, parseVia, toTag,
} from '../../src/sip/headers.ts';
import type { SipMessage } from '../../src/sip/message.ts';

function message(headers: Array<[string, string]>): SipMessage {
  return {
    kind: 'request', method: 'INVITE', uri: 'sip:a@b.example',
    headers: headers.map(([name, value]) => ({ name, value })), body: Buffer.alloc(0),
  };
}

test('compact forms and any case map to the canonical long name (§7.3.3)', () => {
  const expected: Array<[string, string]> = [
    ['i', 'Call-ID'], ['m', 'Contact'], ['e', 'Content-Encoding'], ['l', 'Content-Length'],
    ['c', 'Content-Type'], ['f', 'From'], ['t', 'To'], ['v', 'Via'], ['s', 'Subject'], ['k', 'Supported'],
    ['o', 'Event'], ['u', 'Allow-Events'], ['r', 'Refer-To'], ['b', 'Referred-By'], ['x', 'Session-Expires'],
    ['y', 'Identity'], ['CALL-ID', 'Call-ID'], ['cseq', 'CSeq'], ['www-authenticate', 'WWW-Authenticate'],
  ];
  for (const [given, canonical] of expected) assert.equal(canonicalHeaderName(given), canonical, given);
  assert.equal(canonicalHeaderName('X-Unknown-Thing'), 'X-Unknown-Thing');
});

test('headerValues splits list headers at top-level commas only, across repeated fields', () => {
  const msg = message([
    ['Via', 'SIP/2.0/UDP a.example;branch=z9hG4bK1, SIP/2.0/TCP b.example;branch=z9hG4bK2'],
    ['Contact', '"Doe, John" <sip:j@a.example;x=1,2>;q=0.5, <sip:k@b.example>'],
    ['Via', 'SIP/2.0/UDP c.example;branch=z9hG4bK3'],
    ['Date', 'Sat, 13 Nov 2010 23:29:00 GMT'],
    ['WWW-Authenticate', 'Digest realm="a, b", nonce="n", algorithm=SHA-256'],
    ['x-custom', 'a, b'],
    ['Allow', 'INVITE, ,ACK'],
  ]);
  assert.deepEqual(headerValues(msg, 'v'), [
    'SIP/2.0/UDP a.example;branch=z9hG4bK1', 'SIP/2.0/TCP b.example;branch=z9hG4bK2', 'SIP/2.0/UDP c.example;branch=z9hG4bK3',
  ]);
  assert.deepEqual(headerValues(msg, 'contact'), ['"Doe, John" <sip:j@a.example;x=1,2>;q=0.5', '<sip:k@b.example>']);
  assert.deepEqual(headerValues(msg, 'Date'), ['Sat, 13 Nov 2010 23:29:00 GMT']);
  assert.deepEqual(headerValues(msg, 'www-authenticate'), ['Digest realm="a, b", nonce="n", algorithm=SHA-256']);
  assert.deepEqual(headerValues(msg, 'X-Custom'), ['a, b']);
  assert.deepEqual(headerValues(msg, 'Allow'), ['INVITE', 'ACK']);
  assert.deepEqual(headerValues(msg, 'Route'), []);
  assert.equal(firstHeader(msg, 'Via'), 'SIP/2.0/UDP a.example;branch=z9hG4bK1');
  assert.equal(firstHeader(msg, 'date'), 'Sat, 13 Nov 2010 23:29:00 GMT');
  assert.equal(firstHeader(msg, 'Route'), undefined);
});

test('parseVia: transport, sent-by, params, branch, received, rport (§20.42, RFC 3581)', () => {
  const via = parseVia('SIP / 2.0 / udp  [2001:db8::9]:5061 ; Branch = z9hG4bKx ;received=192.0.2.1;rport;ttl=16');
  assert.ok(via);
  assert.equal(via.protocol, 'SIP/2.0');
  assert.equal(via.transport, 'UDP');
  assert.equal(via.host, '[2001:db8::9]');
  assert.equal(via.port, 5061);
  assert.equal(via.branch, 'z9hG4bKx');
  assert.equal(via.received, '192.0.2.1');
  assert.equal(via.rport, true);
  assert.equal(via.params.get('ttl'), '16');
  assert.equal(parseVia('SIP/2.0/TCP h.example;rport=5070')?.rport, 5070);
  assert.equal(parseVia('SIP/2.0/TCP h.example')?.port, undefined);
  for (const bad of ['', 'SIP/2.0/UDP', 'SIP/2.0 h.example', 'SIP/2.0/UDP h.example;;', 'SIP/2.0/UDP h.example;branch',
    'SIP/2.0/UDP h.example:99999', 'SIP/2.0/UDP 2001:db8::1', 'SIP/2.0/UDP h.example;rport=x']) {
    assert.equal(parseVia(bad), undefined, bad);
  }
});

test('parseNameAddr: name-addr vs addr-spec, display names, header params, tag (§20.10, §20.20)', () => {
  const quoted = parseNameAddr('"J Rosenberg \\\\\\"" <sip:jdrosen@example.com>;tag=98asjd8');
  assert.deepEqual(quoted && { ...quoted, params: [...quoted.params] }, {
    displayName: 'J Rosenberg \\"', uri: 'sip:jdrosen@example.com', bracketed: true, params: [['tag', '98asjd8']], tag: '98asjd8',
  });
  const tokens = parseNameAddr('Bob  Smith<sip:bob@example.com;transport=tcp>;q=0.3');
  assert.equal(tokens?.displayName, 'Bob  Smith');
  assert.equal(tokens?.uri, 'sip:bob@example.com;transport=tcp');
  assert.equal(tokens?.params.get('q'), '0.3');
  assert.equal(tokens?.params.has('transport'), false);
  // addr-spec: the parameters after it belong to the header, not the URI (§20.10; RFC 4475 §3.3.12).
  const spec = parseNameAddr('sip:user@example.com;unknownparam;tag=5');
  assert.equal(spec?.uri, 'sip:user@example.com');
  assert.equal(spec?.bracketed, false);
  assert.equal(spec?.params.get('unknownparam'), null);
  assert.equal(spec?.tag, '5');
  assert.equal(parseNameAddr('<http://www.example.com>')?.uri, 'http://www.example.com');
  for (const bad of ['', '"unterminated <sip:a@b.example>', 'A, B <sip:a@b.example>', '< sip:a@b.example >',
    'sip:a@b.example?Route=x', '<sip:a@b.example', '<sip:a@b.example>;', 'not a uri']) {
    assert.equal(parseNameAddr(bad), undefined, bad);
  }
});

test('parseCSeq and tag helpers', () => {
  assert.deepEqual(parseCSeq('0009  INVITE'), { seq: 9, method: 'INVITE' });
  assert.deepEqual(parseCSeq('4294967295 BYE'), { seq: 4294967295, method: 'BYE' });
  for (const bad of ['4294967296 BYE', 'INVITE', '1', '-1 INVITE', '1 INVITE x', '1.5 INVITE']) assert.equal(parseCSeq(bad), undefined, bad);
  const msg = message([['From', '<sip:a@b.example>;tag=abc'], ['To', 'sip:c@d.example']]);
  assert.equal(fromTag(msg), 'abc');
  assert.equal(toTag(msg), undefined);
});
