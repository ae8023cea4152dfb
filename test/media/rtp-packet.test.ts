import { test } from 'node:test';
import assert from 'node:assert/strict';
import { looksLikeRtcp, parseRtp, serializeRtp, writeRtpHeader } from '../../src/media/rtp-packet.ts';
import { hexFixture } from './hex-fixture.ts';

function parsed(name: string) {
  const bytes = hexFixture(name);
  const result = parseRtp(bytes);
  assert.ok(result.ok, `${name} should parse`);
  return { bytes, packet: result.packet };
}

test('PCMU packet with marker: fields and byte-exact round trip', () => {
  const { bytes, packet } = parsed('pcmu-marker.hex');
  assert.equal(packet.marker, true);
  assert.equal(packet.payloadType, 0);
  assert.equal(packet.sequenceNumber, 0x1234);
  assert.equal(packet.timestamp, 0xa0b0);
  assert.equal(packet.ssrc, 0xdeadbeef);
  assert.deepEqual(packet.csrcs, []);
  assert.equal(packet.extension, null);
  assert.equal(packet.paddingLength, 0);
  assert.deepEqual([...packet.payload], new Array(8).fill(0xff));
  assert.deepEqual(serializeRtp(packet), bytes);
});

test('CSRCs, extension and padding: fields and byte-exact round trip', () => {
  const { bytes, packet } = parsed('full-header.hex');
  assert.equal(packet.marker, false);
  assert.equal(packet.payloadType, 8);
  assert.equal(packet.sequenceNumber, 0xffff);
  assert.equal(packet.timestamp, 0xffffffff);
  assert.equal(packet.ssrc, 0x01020304);
  assert.deepEqual(packet.csrcs, [0x11111111, 0x22222222]);
  assert.equal(packet.extension?.profile, 0xbede);
  assert.deepEqual([...packet.extension!.data], [0x10, 0xaa, 0, 0]);
  assert.deepEqual([...packet.payload], [0xd5, 0xd5, 0xd5, 0xd5]);
  assert.equal(packet.paddingLength, 3);
  assert.deepEqual(serializeRtp(packet), bytes);
});

test('payload is a zero-copy view into the received bytes', () => {
  const { bytes, packet } = parsed('telephone-event.hex');
  assert.equal(packet.payload.buffer, bytes.buffer);
  bytes[12] = 9;
  assert.equal(packet.payload[0], 9);
});

test('telephone-event packet as sipp sends it (PT 96, marker)', () => {
  const { bytes, packet } = parsed('telephone-event.hex');
  assert.equal(packet.payloadType, 96);
  assert.equal(packet.marker, true);
  assert.equal(packet.ssrc, 0x12345678);
  assert.deepEqual([...packet.payload], [0x01, 0x0a, 0x00, 0xa0]);
  assert.deepEqual(serializeRtp(packet), bytes);
});

const malformed: Array<[string, string]> = [
  ['truncated-header.hex', 'too-short'],
  ['bad-version.hex', 'bad-version'],
  ['csrc-truncated.hex', 'csrc-truncated'],
  ['extension-header-truncated.hex', 'extension-truncated'],
  ['extension-body-truncated.hex', 'extension-truncated'],
  ['padding-zero.hex', 'bad-padding'],
  ['padding-overrun.hex', 'bad-padding'],
];

for (const [name, error] of malformed) {
  test(`malformed ${name} → ${error}`, () => {
    assert.deepEqual(parseRtp(hexFixture(name)), { ok: false, error });
  });
}

test('every truncation of a valid packet is rejected or parses inside the bytes, never throws', () => {
  const bytes = hexFixture('full-header.hex');
  for (let length = 0; length < bytes.length; length++) {
    const result = parseRtp(bytes.subarray(0, length));
    if (result.ok) {
      const { payload } = result.packet;
      assert.ok(payload.byteOffset + payload.length <= bytes.byteOffset + length);
    }
  }
});

test('writeRtpHeader writes the send-path header bytes', () => {
  const target = new Uint8Array(12);
  writeRtpHeader(target, { marker: true, payloadType: 8, sequenceNumber: 0xabcd, timestamp: 0x01020304, ssrc: 0xcafebabe });
  assert.deepEqual([...target], [0x80, 0x88, 0xab, 0xcd, 1, 2, 3, 4, 0xca, 0xfe, 0xba, 0xbe]);
});

test('rtcp-mux demultiplexing by the second octet (RFC 5761 §4)', () => {
  assert.equal(looksLikeRtcp(Uint8Array.from([0x80, 200, 0, 6, 0, 0, 0, 1])), true);
  assert.equal(looksLikeRtcp(Uint8Array.from([0x81, 201, 0, 1, 0, 0, 0, 1])), true);
  assert.equal(looksLikeRtcp(hexFixture('pcmu-marker.hex')), false);
  assert.equal(looksLikeRtcp(hexFixture('telephone-event.hex')), false);
});
