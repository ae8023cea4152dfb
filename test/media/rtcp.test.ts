import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ntpMiddle, ntpTimestamp, parseRtcpCompound, writeReport } from '../../src/media/rtcp.ts';
import { hex } from './hex-fixture.ts';

const cname = Buffer.from('tl-0a0b0c0d', 'latin1');

test('sender report with one block and CNAME: exact bytes', () => {
  const target = Buffer.alloc(128);
  const length = writeReport(
    target,
    0x0a0b0c0d,
    { wallClockMs: 1_700_000_000_500, rtpTimestamp: 0x11223344, packetCount: 50, octetCount: 8000 },
    { ssrc: 0xcafebabe, fractionLost: 25, cumulativeLost: 3, extendedHighestSeq: 0x00011234, jitter: 17, lastSr: 0x12345678, delaySinceLastSr: 0x00010000 },
    cname,
  );
  const [seconds, fraction] = ntpTimestamp(1_700_000_000_500);
  assert.equal(seconds, 1_700_000_000 + 2_208_988_800);
  assert.equal(fraction, 0x80000000);
  const expected = hex(`
    81c8000c 0a0b0c0d ${seconds.toString(16)} 80000000 11223344 00000032 00001f40
    cafebabe 19000003 00011234 00000011 12345678 00010000
    81ca0005 0a0b0c0d 010b${cname.toString('hex')} 000000`);
  assert.deepEqual(target.subarray(0, length), expected);
  assert.equal(length % 4, 0);
});

test('receiver report without blocks, and the parser reads the SR it gets', () => {
  const target = Buffer.alloc(64);
  const rr = target.subarray(0, writeReport(target, 7, null, null, cname));
  assert.deepEqual(rr.subarray(0, 8), hex('80c90001 00000007'));
  assert.deepEqual(parseRtcpCompound(rr), { ok: true, summary: { senderSsrc: 7, lastSr: null } });

  const srBuffer = Buffer.alloc(128);
  const sr = srBuffer.subarray(0, writeReport(srBuffer, 9, { wallClockMs: 1_000_000, rtpTimestamp: 0, packetCount: 0, octetCount: 0 }, null, cname));
  const [seconds, fraction] = ntpTimestamp(1_000_000);
  assert.deepEqual(parseRtcpCompound(sr), { ok: true, summary: { senderSsrc: 9, lastSr: ntpMiddle(seconds, fraction) } });
});

test('validity check (RFC 3550 A.2, any RTCP type first) rejects what it should', () => {
  assert.deepEqual(parseRtcpCompound(hex('80c9')), { ok: false, error: 'too-short' });
  assert.deepEqual(parseRtcpCompound(hex('40c90001 00000007')), { ok: false, error: 'bad-version' });
  assert.deepEqual(parseRtcpCompound(hex('80c70001 00000007')), { ok: false, error: 'bad-first-type' });
  assert.equal(parseRtcpCompound(hex('80cc0002 00000007 50494e47')).ok, true, "libre's lone APP keep-alive");
  assert.deepEqual(parseRtcpCompound(hex('80c90005 00000007')), { ok: false, error: 'bad-length' });
  assert.deepEqual(parseRtcpCompound(hex('a0c90001 00000007')), { ok: false, error: 'padding-not-last' });
  assert.deepEqual(parseRtcpCompound(hex('80c90001 00000007 81ca')), { ok: false, error: 'bad-length' });
});
