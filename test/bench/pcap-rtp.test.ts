import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyResponse, keyResponses, type RtpPacket } from '../../bench/lib/pcap-rtp.ts';

const IVR = 20000;
const CALLER = 30000;
const RESPONSE = new Uint8Array(160).fill(0x2a);
const AUDIO = Buffer.alloc(160, 0x7f);

/** sipp's RFC 2833 capture of one digit: three event packets with the same SSRC and timestamp, the last with E set. */
function press(atMs: number, digit: number): RtpPacket[] {
  return [0, 20, 40].map((offset, index) => ({
    timeMs: atMs + offset,
    srcPort: CALLER,
    dstPort: IVR,
    marker: index === 0,
    payloadType: 101,
    sequence: 0,
    timestamp: 8000 + digit,
    ssrc: 0x1234,
    payload: Buffer.from([digit, index === 2 ? 0x8a : 0x0a, 0, 160]),
  }));
}

function ivrFrame(atMs: number, payload: Uint8Array): RtpPacket {
  return { timeMs: atMs, srcPort: IVR, dstPort: CALLER, marker: false, payloadType: 0, sequence: 0, timestamp: 0, ssrc: 9, payload: Buffer.from(payload) };
}

test('the same digit pressed again (same capture, so same SSRC and timestamp) is a new key with its own response', () => {
  // in capture order, as the analysis reads them
  const packets = [...press(0, 5), ivrFrame(30, RESPONSE), ivrFrame(50, AUDIO), ...press(3000, 5), ivrFrame(3025, RESPONSE)].sort((a, b) => a.timeMs - b.timeMs);
  const result = keyResponse(packets, (port) => port === IVR, 101, RESPONSE, 0);
  assert.equal(result.keys, 2);
  assert.equal(result.answered, 2);
  assert.equal(result.latencyMs.max, 30);
  assert.equal(result.beforeKeyEnd, 2); // both responses started before their key's end packet
  assert.deepEqual(
    keyResponses(packets, (port) => port === IVR, 101, RESPONSE, 0).map((timing) => timing.latencyMs),
    [30, 25],
  );
});

test("one press's repeated event packets count once", () => {
  const result = keyResponse([...press(0, 3), ivrFrame(100, RESPONSE)], (port) => port === IVR, 101, RESPONSE, 0);
  assert.equal(result.keys, 1);
  assert.equal(result.answered, 1);
});
