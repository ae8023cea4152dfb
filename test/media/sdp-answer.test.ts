import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'sdp-transform';
import { answerOffer, wipeNegotiated, type AnswerOptions, type SdpErrorCode } from '../../src/media/sdp-answer.ts';

const options: AnswerOptions = {
  localAddress: '127.0.0.1',
  localPort: 20000,
  signallingSecure: false,
  sessionId: 42,
  sessionVersion: 1,
};

function sdp(...lines: string[]): string {
  return `${lines.join('\r\n')}\r\n`;
}

const head = ['v=0', 'o=caller 1 1 IN IP4 192.0.2.10', 's=-', 'c=IN IP4 192.0.2.10', 't=0 0'];
const KEY = 'WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz'; // RFC 4568 §9.1 example key (30 bytes)

function ok(offer: string, extra: Partial<AnswerOptions> = {}) {
  const result = answerOffer(offer, { ...options, ...extra });
  assert.ok(result.ok, `expected an answer, got ${JSON.stringify(!result.ok && result.error)}`);
  return result;
}

function rejects(offer: string, code: SdpErrorCode, status: 400 | 488, extra: Partial<AnswerOptions> = {}) {
  assert.deepEqual(answerOffer(offer, { ...options, ...extra }), { ok: false, error: { code, status } });
}

test('PCMA + PCMU + telephone-event at PT 101: answers PCMU only, keeps the DTMF PT, ptime 20', () => {
  const result = ok(sdp(...head, 'm=audio 30000 RTP/AVP 8 0 101', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16'));
  assert.deepEqual(result.negotiated, {
    codec: 'PCMU',
    pt: 0,
    dtmfPt: 101,
    remoteAddress: '192.0.2.10',
    remotePort: 30000,
    remoteRtcpPort: 30001,
    rtcpMux: false,
    direction: 'sendrecv',
  });
  const answer = parse(result.answerSdp);
  const media = answer.media[0]!;
  assert.equal(media.port, 20000);
  assert.equal(media.protocol, 'RTP/AVP');
  assert.equal(String(media.payloads), '0 101');
  assert.equal(media.ptime, 20);
  assert.equal(media.direction, 'sendrecv');
  assert.deepEqual(answer.connection, { version: 4, ip: '127.0.0.1' });
  assert.equal(answer.origin.sessionVersion, 1);
  assert.ok(result.answerSdp.includes('a=rtpmap:101 telephone-event/8000\r\n'));
});

test('PCMA only and sipp-style telephone-event at PT 96', () => {
  const result = ok(sdp(...head, 'm=audio 30000 RTP/AVP 8 96', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:96 telephone-event/8000'));
  assert.equal(result.negotiated.codec, 'PCMA');
  assert.equal(result.negotiated.pt, 8);
  assert.equal(result.negotiated.dtmfPt, 96);
});

test('PCMU at a dynamic PT keeps the offerer PT', () => {
  const result = ok(sdp(...head, 'm=audio 30000 RTP/AVP 110', 'a=rtpmap:110 PCMU/8000'));
  assert.equal(result.negotiated.pt, 110);
  assert.ok(result.answerSdp.includes('a=rtpmap:110 PCMU/8000'));
});

test('re-offer keeps the current codec when still offered', () => {
  const first = ok(sdp(...head, 'm=audio 30000 RTP/AVP 8', 'a=rtpmap:8 PCMA/8000'));
  const again = ok(sdp(...head, 'm=audio 30000 RTP/AVP 0 8'), { previous: first.negotiated, sessionVersion: 2 });
  assert.equal(again.negotiated.codec, 'PCMA');
  assert.equal(parse(again.answerSdp).origin.sessionVersion, 2);
});

test('hold directions in re-offers are answered per RFC 3264 §6.1', () => {
  const cases: Array<[string, string]> = [
    ['sendonly', 'recvonly'],
    ['recvonly', 'sendonly'],
    ['inactive', 'inactive'],
    ['sendrecv', 'sendrecv'],
  ];
  for (const [offered, answered] of cases) {
    const result = ok(sdp(...head, 'm=audio 30000 RTP/AVP 0', `a=${offered}`));
    assert.equal(result.negotiated.direction, answered, offered);
    assert.equal(parse(result.answerSdp).media[0]!.direction, answered);
  }
  const sessionLevel = ok(sdp(...head, 'a=sendonly', 'm=audio 30000 RTP/AVP 0'));
  assert.equal(sessionLevel.negotiated.direction, 'recvonly');
  const oldHold = ok(sdp('v=0', 'o=c 1 2 IN IP4 0.0.0.0', 's=-', 'c=IN IP4 0.0.0.0', 't=0 0', 'm=audio 30000 RTP/AVP 0'));
  assert.equal(oldHold.negotiated.direction, 'recvonly');
});

test('non-audio m-lines are rejected with port 0 and the audio one is answered', () => {
  const result = ok(sdp(...head, 'm=video 40000 RTP/AVP 31', 'm=audio 30000 RTP/AVP 0', 'm=audio 30002 RTP/AVP 0'));
  const media = parse(result.answerSdp).media;
  assert.equal(media.length, 3);
  assert.deepEqual([media[0]!.type, media[0]!.port, String(media[0]!.payloads)], ['video', 0, '31']);
  assert.equal(media[1]!.port, 20000);
  assert.equal(media[2]!.port, 0);
});

test('rtcp-mux is echoed and RTCP goes to the RTP port; a=rtcp is honoured otherwise', () => {
  const mux = ok(sdp(...head, 'm=audio 30000 RTP/AVP 0', 'a=rtcp-mux'));
  assert.equal(mux.negotiated.rtcpMux, true);
  assert.equal(mux.negotiated.remoteRtcpPort, 30000);
  assert.ok(mux.answerSdp.includes('a=rtcp-mux'));
  const explicit = ok(sdp(...head, 'm=audio 30000 RTP/AVP 0', 'a=rtcp:31000'));
  assert.equal(explicit.negotiated.remoteRtcpPort, 31000);
});

test('IPv6 connection addresses are accepted', () => {
  const result = ok(sdp('v=0', 'o=c 1 1 IN IP6 ::1', 's=-', 'c=IN IP6 ::1', 't=0 0', 'm=audio 30000 RTP/AVP 0'));
  assert.equal(result.negotiated.remoteAddress, '::1');
});

test('RTP/SAVP with a=crypto: SRTP answer with the same tag and suite and our own fresh key', () => {
  const offer = sdp(
    ...head,
    'm=audio 30000 RTP/SAVP 0 101',
    'a=rtpmap:101 telephone-event/8000',
    'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj|2^20|1:32',
    `a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:${KEY}|2^20`,
  );
  const result = ok(offer, { signallingSecure: true });
  const srtp = result.negotiated.srtp!;
  assert.equal(srtp.suite, 'AES_CM_128_HMAC_SHA1_32'); // tag 1 has an MKI, which we do not do
  assert.deepEqual(srtp.remoteKey, Buffer.from(KEY, 'base64'));
  assert.equal(srtp.localKey.length, 30);
  assert.notDeepEqual(srtp.localKey, srtp.remoteKey);
  const crypto = parse(result.answerSdp).media[0]!.crypto!;
  assert.equal(crypto.length, 1);
  assert.equal(crypto[0]!.id, 2);
  assert.equal(crypto[0]!.suite, 'AES_CM_128_HMAC_SHA1_32');
  assert.equal(crypto[0]!.config, `inline:${srtp.localKey.toString('base64')}`);
  assert.equal(parse(result.answerSdp).media[0]!.protocol, 'RTP/SAVP');

  const second = ok(offer, { signallingSecure: true });
  assert.notDeepEqual(second.negotiated.srtp!.localKey, srtp.localKey, 'a fresh key per answer');
  const rekeyless = ok(offer, { signallingSecure: true, previous: result.negotiated });
  assert.deepEqual(rekeyless.negotiated.srtp!.localKey, srtp.localKey, 'hold/unhold keeps our key');

  wipeNegotiated(result.negotiated);
  assert.ok(srtp.localKey.every((b) => b === 0) && srtp.remoteKey.every((b) => b === 0));
});

test('SRTP policy: plain RTP over TLS is refused unless configured optional', () => {
  const plain = sdp(...head, 'm=audio 30000 RTP/AVP 0');
  rejects(plain, 'sdp-srtp-required', 488, { signallingSecure: true });
  rejects(plain, 'sdp-srtp-required', 488, { srtpPolicy: 'required' });
  ok(plain, { signallingSecure: true, srtpPolicy: 'optional' });
  ok(plain, { signallingSecure: false });
});

const hostile: Array<[string, string, SdpErrorCode, 400 | 488]> = [
  ['oversize SDP', sdp(...head, 'm=audio 30000 RTP/AVP 0', ...new Array(400).fill('a=x-filler:0123456789')), 'sdp-too-large', 400],
  ['not SDP', 'hello\r\n', 'sdp-malformed', 400],
  ['NUL byte', sdp(...head, 'm=audio 30000 RTP/AVP 0\u0000'), 'sdp-malformed', 400],
  ['line without type=', sdp(...head, 'garbage', 'm=audio 30000 RTP/AVP 0'), 'sdp-malformed', 400],
  ['unparseable m= line', sdp(...head, 'm=audio 30000/2 RTP/AVP 0'), 'sdp-malformed', 400],
  ['17 m-lines', sdp(...head, ...new Array(17).fill('m=audio 30000 RTP/AVP 0')), 'sdp-too-many-media', 400],
  ['m= with no c= anywhere', sdp('v=0', 'o=c 1 1 IN IP4 192.0.2.10', 's=-', 't=0 0', 'm=audio 30000 RTP/AVP 0'), 'sdp-no-connection', 400],
  ['c= only after the first m=', sdp('v=0', 'o=c 1 1 IN IP4 192.0.2.10', 's=-', 't=0 0', 'm=audio 30000 RTP/AVP 0', 'm=audio 30002 RTP/AVP 0', 'c=IN IP4 192.0.2.10'), 'sdp-no-connection', 400],
  ['hostname in c=', sdp('v=0', 'o=c 1 1 IN IP4 x', 's=-', 'c=IN IP4 evil.example', 't=0 0', 'm=audio 30000 RTP/AVP 0'), 'sdp-bad-address', 400],
  ['multicast c=', sdp('v=0', 'o=c 1 1 IN IP4 x', 's=-', 'c=IN IP4 224.2.1.1/127', 't=0 0', 'm=audio 30000 RTP/AVP 0'), 'sdp-bad-address', 400],
  ['IPv6 address labelled IP4', sdp('v=0', 'o=c 1 1 IN IP4 x', 's=-', 'c=IN IP4 ::1', 't=0 0', 'm=audio 30000 RTP/AVP 0'), 'sdp-bad-address', 400],
  ['port out of range', sdp(...head, 'm=audio 70000 RTP/AVP 0'), 'sdp-bad-port', 400],
  ['duplicate PT in m=', sdp(...head, 'm=audio 30000 RTP/AVP 0 0'), 'sdp-duplicate-payload-type', 400],
  ['duplicate rtpmap', sdp(...head, 'm=audio 30000 RTP/AVP 0 96', 'a=rtpmap:96 telephone-event/8000', 'a=rtpmap:96 PCMA/8000'), 'sdp-duplicate-payload-type', 400],
  ['PT above 127', sdp(...head, 'm=audio 30000 RTP/AVP 0 300'), 'sdp-malformed', 400],
  ['ptime 0', sdp(...head, 'm=audio 30000 RTP/AVP 0', 'a=ptime:0'), 'sdp-bad-ptime', 400],
  ['ptime 100000', sdp(...head, 'm=audio 30000 RTP/AVP 0', 'a=ptime:100000'), 'sdp-bad-ptime', 400],
  ['ptime not a number', sdp(...head, 'm=audio 30000 RTP/AVP 0', 'a=ptime:abc'), 'sdp-bad-ptime', 400],
  ['no common codec', sdp(...head, 'm=audio 30000 RTP/AVP 9 18', 'a=rtpmap:9 G722/8000'), 'sdp-no-common-codec', 488],
  ['PCMU at 16 kHz is not G.711', sdp(...head, 'm=audio 30000 RTP/AVP 97', 'a=rtpmap:97 PCMU/16000'), 'sdp-no-common-codec', 488],
  ['video only', sdp(...head, 'm=video 30000 RTP/AVP 31'), 'sdp-no-audio', 488],
  ['DTLS-SRTP profile only', sdp(...head, 'm=audio 30000 UDP/TLS/RTP/SAVPF 0'), 'sdp-unsupported-transport', 488],
  ['SAVP with an unknown suite', sdp(...head, 'm=audio 30000 RTP/SAVP 0', `a=crypto:1 F8_128_HMAC_SHA1_80 inline:${KEY}`), 'sdp-no-usable-crypto', 488],
  ['SAVP with a short key', sdp(...head, 'm=audio 30000 RTP/SAVP 0', 'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:QUJD'), 'sdp-no-usable-crypto', 488],
  ['SAVP with a non-base64 key', sdp(...head, 'm=audio 30000 RTP/SAVP 0', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${'*'.repeat(40)}`), 'sdp-no-usable-crypto', 488],
  ['SAVP with session parameters', sdp(...head, 'm=audio 30000 RTP/SAVP 0', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY} UNENCRYPTED_SRTP`), 'sdp-no-usable-crypto', 488],
  ['SAVP without a=crypto', sdp(...head, 'm=audio 30000 RTP/SAVP 0'), 'sdp-no-usable-crypto', 488],
];

for (const [name, offer, code, status] of hostile) {
  test(`hostile: ${name} → ${status} ${code}`, () => rejects(offer, code, status));
}

test('errors never carry SDP content (keys stay out of messages)', () => {
  const result = answerOffer(sdp(...head, 'm=audio 30000 RTP/SAVP 9', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`), options);
  assert.equal(result.ok, false);
  assert.ok(!JSON.stringify(result).includes(KEY.slice(0, 10)));
});

test('bytes input is accepted like a string', () => {
  const result = answerOffer(Buffer.from(sdp(...head, 'm=audio 30000 RTP/AVP 0')), options);
  assert.equal(result.ok, true);
});

test('fuzz: mutated offers and random text always give an answer or a coded error, never a throw', async () => {
  const fc = await import('fast-check');
  const base = sdp(...head, 'm=audio 30000 RTP/SAVP 0 8 101', 'a=rtpmap:101 telephone-event/8000', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`, 'a=ptime:20', 'a=sendrecv');
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(base.length), fc.string({ maxLength: 8 })), { maxLength: 6 }), (edits) => {
      let text = base;
      for (const [at, insert] of edits) text = text.slice(0, at) + insert + text.slice(at + insert.length);
      const result = answerOffer(text, options);
      if (!result.ok) assert.ok(result.error.status === 400 || result.error.status === 488);
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (text) => {
      const result = answerOffer(`v=0\r\n${text}`, options);
      assert.equal(typeof result.ok, 'boolean');
    }),
    { numRuns: 1000 },
  );
});

test('regression (found by the fuzz test): an rtpmap whose codec name looks like a number', () => {
  const result = ok(sdp(...head, 'm=audio 30000 RTP/AVP 0 101', 'a=rtpmap:101 0 lephone-event/8000'));
  assert.equal(result.negotiated.codec, 'PCMU');
  assert.equal(result.negotiated.dtmfPt, undefined);
  rejects(sdp(...head, 'm=audio 30000 RTP/SAVP 0', 'a=crypto:1 AES_CM_128_HMAC_SHA1_80 12345'), 'sdp-no-usable-crypto', 488);
});
