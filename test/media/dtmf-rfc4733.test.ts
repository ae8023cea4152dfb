import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { Rfc4733Decoder, type Rfc4733Outcome } from '../../src/media/dtmf-rfc4733.ts';
import { DtmfSender, writeTelephoneEvent } from '../../src/media/dtmf-sender.ts';
import { interopSkip, interopSkipUnlessRoot } from '../support/interop.ts';
import { extractAll, type PcapPacket } from '../fixtures/dtmf/extract-sipp-pcaps.ts';

const SIPP_PCAPS = JSON.parse(readFileSync(new URL('../fixtures/dtmf/sipp-pcaps.json', import.meta.url), 'utf8')) as Record<string, PcapPacket[]>;
const SSRC = 0x11223344;

/** A payload from its hex fixture, e.g. "05 8a 03 20" = key 5, end, volume 10, duration 800. */
const hex = (text: string) => Buffer.from(text.replaceAll(' ', ''), 'hex');

function harness() {
  let clock = 0;
  const keys: number[] = [];
  const decoder = new Rfc4733Decoder((code) => keys.push(code), { now: () => clock });
  return {
    keys,
    decoder,
    advance(ms: number) {
      clock += ms;
    },
    send(payload: string | Uint8Array, timestamp: number, ssrc = SSRC): Rfc4733Outcome {
      clock += 20;
      return decoder.packet(typeof payload === 'string' ? hex(payload) : payload, timestamp, ssrc);
    },
  };
}

test('one press: first packet reports, updates and the three end packets are absorbed', () => {
  const h = harness();
  const outcomes = [
    h.send('05 0a 00 a0', 8000), // §2.5.1.2: start, duration 160
    h.send('05 0a 01 40', 8000),
    h.send('05 0a 01 e0', 8000),
    h.send('05 8a 02 80', 8000), // E bit, duration 640
    h.send('05 8a 02 80', 8000), // §2.5.1.4 retransmissions
    h.send('05 8a 02 80', 8000),
  ];
  assert.deepEqual(outcomes, ['key', 'update', 'update', 'update', 'duplicate', 'duplicate']);
  assert.deepEqual(h.keys, [5]);
});

test('only end packets (start lost) still report the key once', () => {
  const h = harness();
  assert.deepEqual([h.send('0b 8a 03 20', 100), h.send('0b 8a 03 20', 100), h.send('0b 8a 03 20', 100)], ['key', 'duplicate', 'duplicate']);
  assert.deepEqual(h.keys, [11]);
});

test('the same key pressed twice has two timestamps and counts twice', () => {
  const h = harness();
  for (const ts of [1000, 3000]) {
    h.send('01 0a 00 a0', ts);
    h.send('01 8a 03 20', ts);
    h.send('01 8a 03 20', ts);
  }
  assert.deepEqual(h.keys, [1, 1]);
});

test('late packets of an earlier event are absorbed even when timestamps are not monotonic', () => {
  const h = harness();
  h.send('02 0a 00 a0', 50_000);
  h.send('03 0a 00 a0', 40_000); // a new press with a smaller timestamp (sipp replays fixed captures)
  assert.equal(h.send('02 8a 03 20', 50_000), 'update'); // late end of the first press
  assert.equal(h.send('03 8a 03 20', 40_000), 'update');
  assert.deepEqual(h.keys, [2, 3]);
});

test('timestamp wrap: events either side of 2^32 are distinct; a long event continues across it', () => {
  const h = harness();
  h.send('04 8a 03 20', 0xffffff00);
  h.send('06 8a 03 20', 0x00000100);
  assert.deepEqual(h.keys, [4, 6]);
  // §2.5.1.3 segment: duration reaches 0xffff, the next segment starts at ts + 0xffff (mod 2^32).
  const start = 0xffff8000;
  h.send('07 0a 00 a0', start);
  h.send('07 0a ff ff', start);
  const next = (start + 0xffff) >>> 0;
  assert.ok(next < start, 'the continuation wraps');
  assert.equal(h.send('07 0a 00 a0', next), 'update');
  assert.equal(h.send('07 8a 01 40', next), 'update');
  assert.equal(h.send('07 8a 01 40', next), 'duplicate');
  assert.deepEqual(h.keys, [4, 6, 7]);
});

test('long press: duration updates over many seconds and segments count as one key', () => {
  const h = harness();
  let ts = 1_000_000;
  h.send('08 0a 00 a0', ts);
  for (let segment = 0; segment < 3; segment++) {
    for (let duration = 320; duration < 0xffff; duration += 4000) assert.equal(h.send(hex(`080a${duration.toString(16).padStart(4, '0')}`), ts), 'update');
    h.send('08 0a ff ff', ts);
    ts = (ts + 0xffff) >>> 0;
    assert.equal(h.send('08 0a 00 a0', ts), 'update');
  }
  h.send('08 8a 0f a0', ts);
  assert.deepEqual(h.keys, [8]);
  // Not a continuation: same key at prev + duration while the previous (unfinished) event was short —
  // its end packets were lost and this is the next press.
  assert.equal(h.send('08 0a 03 20', 2_000_000), 'key');
  assert.equal(h.send('08 0a 00 a0', 2_000_000 + 800), 'key');
  assert.deepEqual(h.keys, [8, 8, 8]);
});

test('malformed, truncated and non-key payloads give no key', () => {
  const h = harness();
  assert.equal(h.send('', 1), 'malformed');
  assert.equal(h.send('05 0a 00', 1), 'malformed'); // truncated
  assert.equal(h.send('05 0a 00 a0 00', 1), 'malformed'); // not a multiple of 4
  assert.equal(h.send('05 0a 00 a0'.repeat(9), 1), 'malformed'); // more events than any sender packs
  assert.equal(h.send('05 0a 00 a0 06 8a 00 a0', 1), 'malformed'); // §2.5.1.5: only the last may be unfinished
  assert.equal(h.send('10 0a 00 a0', 1), 'ignored'); // event 16 (flash) is not a key
  assert.equal(h.send('ff 8a 00 a0', 1), 'ignored');
  assert.deepEqual(h.keys, []);
  assert.equal(h.send('05 0a 00 a0', 9), 'key');
  assert.equal(h.send('06 0a 01 40', 9), 'malformed'); // a different event cannot share the start time
  assert.deepEqual(h.keys, [5]);
});

test('several events packed in one packet (§2.5.1.5, §2.5.2.4)', () => {
  const h = harness();
  // Event 1 ended (duration 800) then event 2 starting at ts + 800.
  assert.equal(h.send('01 8a 03 20 02 0a 01 90', 16000), 'key');
  assert.deepEqual(h.keys, [1, 2]);
  assert.equal(h.send('02 8a 03 20', 16800), 'update');
  assert.deepEqual(h.keys, [1, 2]);
});

test('a new SSRC starts a new stream; silence of over a second forgets an event (replayed capture)', () => {
  const h = harness();
  h.send('09 8a 03 20', 5000);
  assert.equal(h.send('09 8a 03 20', 5000, SSRC + 1), 'key'); // play_dtmf: fresh SSRC, fresh events
  h.advance(900);
  assert.equal(h.send('09 8a 03 20', 5000, SSRC + 1), 'duplicate'); // a late retransmission
  h.advance(1100);
  assert.equal(h.send('09 0a 00 00', 5000, SSRC + 1), 'key'); // the same capture played again
  assert.deepEqual(h.keys, [9, 9, 9]);
});

test('scrub keeps timing but forgets codes: later packets of the event still match', () => {
  const h = harness();
  h.send('0b 0a 00 a0', 7000);
  h.decoder.scrub();
  assert.equal(h.send('0b 8a 03 20', 7000), 'update');
  assert.deepEqual(h.keys, [11]);
});

const PCAP_KEYS: Record<string, number> = {
  ...Object.fromEntries(Array.from({ length: 10 }, (_, d) => [`dtmf_2833_${d}.pcap`, d])),
  'dtmf_2833_star.pcap': 10,
  'dtmf_2833_pound.pcap': 11,
};

function playCapture(decoder: Rfc4733Decoder, packets: PcapPacket[], clock: { now: number }) {
  const start = clock.now;
  const outcomes: Rfc4733Outcome[] = [];
  for (const packet of packets) {
    clock.now = start + packet.time * 1000;
    outcomes.push(decoder.packet(hex(packet.payload), packet.timestamp, packet.ssrc));
  }
  return outcomes;
}

test('sipp bundled captures: every key once, in any order, the same capture twice counts twice', () => {
  // Quirks in these captures: PT 101, first packet duration 0, duration +320 per 20 ms packet,
  // three end packets 0.1 ms apart with one shared sequence number, one SSRC for every file.
  assert.equal(Object.keys(SIPP_PCAPS).length, 12);
  const clock = { now: 0 };
  const keys: number[] = [];
  const decoder = new Rfc4733Decoder((code) => keys.push(code), { now: () => clock.now });
  const order = ['1', '2', '0', '5', 'star', '9', 'pound', '3', '4', '6', '7', '8', '8'].map((k) => `dtmf_2833_${k}.pcap`);
  for (const name of order) {
    const packets = SIPP_PCAPS[name]!;
    assert.equal(packets.filter((p) => (parseInt(p.payload.slice(2, 4), 16) & 0x80) !== 0).length, 3, `${name}: three end packets`);
    const outcomes = playCapture(decoder, packets, clock);
    assert.deepEqual(outcomes, ['key', 'update', 'update', 'update', 'update', 'update', 'update', 'update', 'duplicate', 'duplicate'], name);
    clock.now += 2000;
  }
  assert.deepEqual(keys, order.map((name) => PCAP_KEYS[name]));
});

test('fixtures match the captures installed with sipp', { skip: interopSkip('tshark', 'sipp') }, () => {
  assert.deepEqual(extractAll(), SIPP_PCAPS);
});

/**
 * The packets sipp 3.6's `<exec play_dtmf="digits,len"/>` sends (src/prepare_pcap.c, prepare_dtmf):
 * 20 filler packets of PT 97 first, then per digit PT 96 with a new SSRC, duration 0,20,…(len−20) ms
 * (×8 in timestamp units), marker on the first, the RTP timestamp advancing 2·len per digit (in ms, not
 * samples), and three end packets 1 ms apart. Filler packets never reach the decoder (the RTP layer
 * filters by the negotiated payload type), so they are counted here but not passed on.
 */
function playDtmfPackets(digits: number[], toneMs: number) {
  const packets: Array<{ payloadType: number; payload: Uint8Array; timestamp: number; at: number }> = [];
  for (let i = 0; i < 20; i++) packets.push({ payloadType: 97, payload: new Uint8Array(4), timestamp: 24000 + i * 20, at: i * 20 });
  const base = 24000 + 400;
  digits.forEach((digit, n) => {
    const eventTimestamp = base + n * toneMs * 2;
    const sentAt = 400 + (n + 1) * toneMs * 2;
    for (let ms = 0; ms < toneMs; ms += 20) {
      const payload = new Uint8Array(4);
      writeTelephoneEvent(payload, 0, digit, false, 10, ms * 8);
      packets.push({ payloadType: 96, payload, timestamp: eventTimestamp, at: sentAt + ms });
    }
    for (let i = 0; i < 3; i++) {
      const payload = new Uint8Array(4);
      writeTelephoneEvent(payload, 0, digit, true, 10, toneMs * 8);
      packets.push({ payloadType: 96, payload, timestamp: eventTimestamp, at: sentAt + toneMs + i + 1 });
    }
  });
  return packets;
}

test('sipp play_dtmf sequence: PT 96 on a new SSRC, filler first, end packets 1 ms apart', () => {
  let now = 0;
  const keys: number[] = [];
  const decoder = new Rfc4733Decoder((code) => keys.push(code), { now: () => now });
  decoder.packet(hex('05 8a 03 20'), 123, 0xaaaa); // the call's earlier stream and SSRC
  keys.length = 0;
  const typed = [1, 2, 2, 3, 11];
  for (const packet of playDtmfPackets(typed, 200)) {
    now = 10_000 + packet.at;
    if (packet.payloadType !== 96) continue;
    decoder.packet(packet.payload, packet.timestamp, 0xbbbb);
  }
  assert.deepEqual(keys, typed);
});

test('DtmfSender: RFC 4733 bytes for one key, marker first, E bit thrice, then idle', () => {
  const sender = new DtmfSender();
  sender.start(5, { durationMs: 100, volume: 10 });
  const sent: string[] = [];
  for (let packet = sender.nextPacket(); packet; packet = sender.nextPacket()) {
    sent.push(`${packet.marker ? 'M ' : ''}${Buffer.from(packet.payload).toString('hex')}`);
  }
  assert.deepEqual(sent, ['M 050a00a0', '050a0140', '050a01e0', '050a0280', '058a0320', '058a0320', '058a0320']);
  assert.equal(sender.busy, false);
  sender.start(11, { durationMs: 40 });
  assert.throws(() => sender.start(1), /already/);
  assert.throws(() => new DtmfSender().start(16), RangeError);
  assert.throws(() => new DtmfSender().start(1, { durationMs: 10 }), RangeError);
  const bytes = new Uint8Array(6);
  writeTelephoneEvent(bytes, 2, 15, true, 63, 0xffff);
  assert.equal(Buffer.from(bytes).toString('hex'), '00000fbfffff');
  assert.throws(() => writeTelephoneEvent(bytes, 0, 1, false, 64, 0), RangeError);
  assert.throws(() => writeTelephoneEvent(bytes, 0, 1, false, 0, 0x10000), RangeError);
});

test('DtmfSender output decodes to exactly the keys sent', () => {
  const sender = new DtmfSender();
  const h = harness();
  let timestamp = 160_000;
  for (const key of [1, 0, 11, 0]) {
    sender.start(key, { durationMs: 120 });
    for (let packet = sender.nextPacket(); packet; packet = sender.nextPacket()) h.send(packet.payload, timestamp);
    timestamp += 2000;
  }
  assert.deepEqual(h.keys, [1, 0, 11, 0]);
});

const SENT_BY_PLAY_DTMF = [1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 10, 11, 12, 13, 14, 15]; // "1234567890*#ABCD"

function runSipp(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('sipp', [...args, '-nostdin', '-timeout', '15s', '-timeout_error'], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => resolve(code ?? -1));
  });
}

test(
  'real sipp play_dtmf over loopback: every event that arrives is one key, in order',
  { skip: interopSkipUnlessRoot('sipp sends play_dtmf through a raw socket, which needs root', 'sipp') },
  async (t) => {
    const media = createSocket('udp4');
    await new Promise<void>((resolve) => media.bind(0, '127.0.0.1', resolve));
    const packets: Buffer[] = [];
    media.on('message', (packet) => packets.push(packet));
    const sipPort = 20000 + Math.floor(Math.random() * 20000);
    const fixtures = new URL('../fixtures/dtmf/', import.meta.url).pathname;
    try {
      const uas = runSipp(['-sf', `${fixtures}sipp-answer-to-port.xml`, '-i', '127.0.0.1', '-p', String(sipPort), '-m', '1', '-key', 'mport', String(media.address().port)]);
      const uac = runSipp(['-sf', `${fixtures}sipp-play-dtmf.xml`, '-i', '127.0.0.1', '-p', String(sipPort + 1), '-mi', '127.0.0.1', '-mp', String(sipPort + 2), '-m', '1', `127.0.0.1:${sipPort}`]);
      assert.deepEqual(await Promise.all([uac, uas]), [0, 0]);
    } finally {
      media.close();
    }
    // Independent reading of what arrived: the events, one per distinct RTP timestamp, in order.
    const events = packets.filter((p) => (p[1]! & 0x7f) === 96 && p.length === 16);
    const arrived: number[] = [];
    const seen = new Set<number>();
    for (const packet of events) {
      const timestamp = packet.readUInt32BE(4);
      if (!seen.has(timestamp)) arrived.push(packet[12]!);
      seen.add(timestamp);
    }
    // sipp sometimes loses the first events of an action (its sender starts late); what arrives is
    // always the tail of the sequence. Require most of it.
    assert.ok(arrived.length >= 8, `only ${arrived.length} events arrived`);
    assert.deepEqual(arrived, SENT_BY_PLAY_DTMF.slice(SENT_BY_PLAY_DTMF.length - arrived.length));

    let now = 0;
    const keys: number[] = [];
    const decoder = new Rfc4733Decoder((code) => keys.push(code), { now: () => now });
    for (const packet of events) {
      now += 20;
      decoder.packet(packet.subarray(12), packet.readUInt32BE(4), packet.readUInt32BE(8));
    }
    assert.deepEqual(keys, arrived);
    const reservedBitSet = events.filter((p) => (p[13]! & 0x40) !== 0).length;
    t.diagnostic(`sipp play_dtmf: ${events.length} packets, keys ${keys.length}/16, ${reservedBitSet} with the R bit set`);
  },
);
