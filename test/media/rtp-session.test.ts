import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { parseRtp, serializeRtp, type RtpPacket } from '../../src/media/rtp-packet.ts';
import { RtpSession, type RemoteMedia } from '../../src/media/rtp-session.ts';
import { SrtpContext } from '../../src/media/srtp.ts';
import { parseRtcpCompound, RTCP_SR } from '../../src/media/rtcp.ts';
import { seededRandom } from './fake-time.ts';
import { boundPorts, collect, CountingSource, fakeClock, freshPool, peerSocket, RecordingInput, sendFrom } from './session-harness.ts';

function remoteAt(port: number, extra: Partial<RemoteMedia> = {}): RemoteMedia {
  return { address: '127.0.0.1', port, rtcpPort: port + 1, rtcpMux: false, codec: 'PCMU', pt: 0, dtmfPt: 101, ...extra };
}

function rtp(fields: Partial<RtpPacket> & { ssrc: number }, payload = new Uint8Array(160).fill(0x7f)): Uint8Array {
  return serializeRtp({ marker: false, payloadType: 0, sequenceNumber: 1, timestamp: 0, csrcs: [], extension: null, paddingLength: 0, payload, ...fields });
}

function mustParse(bytes: Uint8Array): RtpPacket {
  const result = parseRtp(bytes);
  assert.ok(result.ok);
  return result.packet;
}

/** A socket factory whose RTP socket records what would be sent instead of sending it. */
function capturing(): { factory: (type: 'udp4' | 'udp6') => Socket; sent: Buffer[] } {
  const sent: Buffer[] = [];
  let count = 0;
  const factory = (type: 'udp4' | 'udp6') => {
    const socket = createSocket(type);
    if (count++ % 2 === 0) {
      socket.send = ((buffer: Buffer, offset?: unknown, length?: unknown) => {
        const bytes = typeof offset === 'number' && typeof length === 'number' ? buffer.subarray(offset, offset + length) : buffer;
        sent.push(Buffer.from(bytes));
      }) as unknown as Socket['send'];
    }
    return socket;
  };
  return { factory, sent };
}

test('pacing invariant: 10,000 jittered ticks → one packet per 20 ms per call, continuous seq/ts, marker once', async () => {
  const { time, clock } = fakeClock();
  const calls = await Promise.all(
    [0, 1].map(async () => {
      const capture = capturing();
      const ports = await boundPorts(freshPool(), capture.factory);
      const source = new CountingSource();
      const session = new RtpSession({ ports, clock, source, input: new RecordingInput(), remote: remoteAt(9), direction: 'sendrecv', inactivityMs: 0 });
      await session.settled();
      await session.settled();
      return { session, sent: capture.sent, source };
    }),
  );
  const start = time.now();
  const random = seededRandom(11);
  while (calls[0]!.sent.length < 10_000) {
    const deadline = time.nextDeadline()!;
    time.fireNextAt(deadline + (random() < 0.05 ? 30 + random() * 25 : random() * 12));
  }
  // exactly one packet per whole 20 ms elapsed since the clock's origin (its first slot is 1)
  const elapsedSlots = Math.floor((time.now() - start) / 20);
  assert.equal(clock.stats.slotsSkipped, 0);
  for (const { session, sent, source } of calls) {
    assert.equal(sent.length, elapsedSlots);
    assert.equal(session.stats.packetsSent, elapsedSlots);
    const packets = sent.map(mustParse);
    for (let i = 1; i < packets.length; i++) {
      assert.equal(packets[i]!.sequenceNumber, (packets[i - 1]!.sequenceNumber + 1) & 0xffff, `seq at ${i}`);
      assert.equal(packets[i]!.timestamp, (packets[i - 1]!.timestamp + 160) >>> 0, `ts at ${i}`);
      assert.equal(packets[i]!.marker, false);
      assert.equal(packets[i]!.ssrc, session.localSsrc);
    }
    assert.equal(packets[0]!.marker, true);
    // every frame the source produced went out, in order, prompt and silence alike
    assert.equal(source.pulled, elapsedSlots);
    assert.deepEqual([...packets[4]!.payload.subarray(0, 4)], [0xff, 0xff, 0xff, 0xff]);
    assert.deepEqual([...packets[5]!.payload.subarray(0, 2)], [0, 6]);
    session.close();
  }
  clock.close();
});

test('sends real UDP to the negotiated address and port, symmetric from the bound RTP port', async () => {
  const { time, clock } = fakeClock();
  const peer = await peerSocket();
  const ports = await boundPorts();
  const session = new RtpSession({ ports, clock, source: new CountingSource(), input: new RecordingInput(), remote: remoteAt(peer.port), direction: 'sendrecv' });
  await session.settled();
  const received = collect(peer, 5);
  const sources: number[] = [];
  peer.on('message', (_m, rinfo) => sources.push(rinfo.port));
  time.advance(100);
  const packets = (await received).map(mustParse);
  assert.equal(packets.length, 5);
  assert.ok(sources.every((port) => port === session.localPort));
  session.close();
  peer.close();
  clock.close();
});

test('a packet that arrives before the call\'s first clock tick does not count as old activity', async (t) => {
  const { time, clock } = fakeClock();
  t.after(() => clock.close());
  // The shared clock has been running for a while (other calls): its slots are far past zero.
  clock.add({ tick: () => undefined });
  time.advance(60_000);
  const peer = await peerSocket();
  t.after(() => peer.close());
  const input = new RecordingInput();
  const session = new RtpSession({ ports: await boundPorts(), clock, source: new CountingSource(), input, remote: remoteAt(peer.port), direction: 'sendrecv', inactivityMs: 2000 });
  await session.settled();
  t.after(() => session.close());
  const events: number[] = [];
  session.on('inactive', ({ silentMs }) => events.push(silentMs));
  await sendFrom(peer, rtp({ ssrc: 0x1111 }), session.localPort);
  await input.waitFor(1);
  time.advance(40);
  assert.deepEqual(events, [], 'the early packet must not make the call look silent since slot 0');
  time.advance(2000);
  assert.deepEqual(events, [2000]);
});

test('latching: other source port and other SSRC dropped; sipp-style DTMF from one new SSRC accepted, a third refused', async () => {
  const { time, clock } = fakeClock();
  const peer = await peerSocket();
  const intruder = await peerSocket();
  const input = new RecordingInput();
  const session = new RtpSession({ ports: await boundPorts(), clock, source: new CountingSource(), input, remote: remoteAt(peer.port), direction: 'sendrecv' });
  await session.settled();
  time.advance(20);
  const to = session.localPort;

  await sendFrom(intruder, rtp({ ssrc: 0x1111, payloadType: 101 }, Uint8Array.from([5, 0x0a, 0, 160])), to); // spoofed port: never a key
  await sendFrom(peer, rtp({ ssrc: 0x1111 }), to); // latches audio SSRC
  await sendFrom(peer, rtp({ ssrc: 0x2222, sequenceNumber: 2 }), to); // other SSRC audio: dropped
  await sendFrom(peer, rtp({ ssrc: 0x1111, payloadType: 18 }), to); // not negotiated
  await sendFrom(peer, rtp({ ssrc: 0x3333, payloadType: 101, marker: true }, Uint8Array.from([1, 0x0a, 0, 160])), to); // event SSRC
  await sendFrom(peer, rtp({ ssrc: 0x4444, payloadType: 101 }, Uint8Array.from([9, 0x0a, 0, 160])), to); // third SSRC
  await sendFrom(peer, rtp({ ssrc: 0x1111, payloadType: 101, timestamp: 800 }, Uint8Array.from([2, 0x8a, 1, 64])), to); // event on audio SSRC
  await input.waitFor(3);

  assert.equal(input.audioFrames.length, 1);
  assert.deepEqual(input.events.map((event) => [event.payload[0], event.ssrc]), [[1, 0x3333], [2, 0x1111]]);
  assert.equal(input.events[1]!.timestamp, 800);
  const { dropped, packetsReceived, telephoneEventsReceived } = session.stats;
  // The socket is connected to the peer: the kernel drops the other port's packet before it reaches
  // us, so the JavaScript check (and its counter) never sees it.
  assert.equal(dropped.address, 0);
  assert.equal(dropped.ssrc, 2);
  assert.equal(dropped['payload-type'], 1);
  assert.equal(packetsReceived, 3);
  assert.equal(telephoneEventsReceived, 2);
  session.close();
  peer.close();
  intruder.close();
  clock.close();
});

test('sipp-style DTMF with a fresh SSRC per key: the extra event SSRC moves on once the last one is quiet', async (t) => {
  const { time, clock } = fakeClock();
  t.after(() => clock.close());
  const peer = await peerSocket();
  t.after(() => peer.close());
  const input = new RecordingInput();
  const session = new RtpSession({ ports: await boundPorts(), clock, source: new CountingSource(), input, remote: remoteAt(peer.port), direction: 'sendrecv' });
  await session.settled();
  t.after(() => session.close());
  time.advance(20);
  const to = session.localPort;
  await sendFrom(peer, rtp({ ssrc: 0x1111 }), to); // audio latches
  await sendFrom(peer, rtp({ ssrc: 0xa001, payloadType: 101, marker: true }, Uint8Array.from([1, 0x8a, 0, 160])), to);
  await sendFrom(peer, rtp({ ssrc: 0xa002, payloadType: 101, marker: true }, Uint8Array.from([2, 0x8a, 0, 160])), to); // while 0xa001 is fresh
  await sendFrom(peer, rtp({ ssrc: 0x1111, sequenceNumber: 2 }), to); // same socket, so it lands after 0xa002
  await input.waitFor(3);
  time.advance(100); // the pause between two keys
  await sendFrom(peer, rtp({ ssrc: 0xa003, payloadType: 101, marker: true }, Uint8Array.from([3, 0x8a, 0, 160])), to);
  await input.waitFor(4);
  assert.deepEqual(input.events.map((event) => [event.payload[0], event.ssrc]), [[1, 0xa001], [3, 0xa003]]);
  assert.equal(session.stats.dropped.ssrc, 1);
});

test("dtmfSsrc 'strict': telephone-event from a new SSRC is dropped", async () => {
  const { time, clock } = fakeClock();
  const peer = await peerSocket();
  const input = new RecordingInput();
  const session = new RtpSession({ ports: await boundPorts(), clock, source: new CountingSource(), input, remote: remoteAt(peer.port), direction: 'sendrecv', dtmfSsrc: 'strict' });
  await session.settled();
  time.advance(20);
  await sendFrom(peer, rtp({ ssrc: 7 }), session.localPort);
  await sendFrom(peer, rtp({ ssrc: 8, payloadType: 101 }, Uint8Array.from([1, 10, 0, 160])), session.localPort);
  await sendFrom(peer, rtp({ ssrc: 7, payloadType: 101 }, Uint8Array.from([3, 10, 0, 160])), session.localPort);
  await input.waitFor(2);
  assert.deepEqual(input.events.map((event) => event.payload[0]), [3]);
  assert.equal(session.stats.dropped.ssrc, 1);
  session.close();
  peer.close();
  clock.close();
});

test('a new audio SSRC replaces a latched one only after it has been silent for the relatch time', async () => {
  const { time, clock } = fakeClock();
  const peer = await peerSocket();
  const input = new RecordingInput();
  const session = new RtpSession({ ports: await boundPorts(), clock, source: new CountingSource(), input, remote: remoteAt(peer.port), direction: 'sendrecv', ssrcRelatchMs: 1000 });
  await session.settled();
  time.advance(20);
  await sendFrom(peer, rtp({ ssrc: 1 }), session.localPort);
  await input.waitFor(1);
  time.advance(500);
  await sendFrom(peer, rtp({ ssrc: 2 }), session.localPort); // too soon: dropped
  await sendFrom(peer, rtp({ ssrc: 1, sequenceNumber: 2 }), session.localPort); // sentinel: the drop was processed
  await input.waitFor(2);
  time.advance(1100);
  await sendFrom(peer, rtp({ ssrc: 2, sequenceNumber: 5 }), session.localPort); // 1.1 s silent: relatched
  await input.waitFor(3);
  assert.equal(session.stats.dropped.ssrc, 1);
  assert.equal(session.stats.ssrcRelatches, 1);
  session.close();
  peer.close();
  clock.close();
});

test("latch 'same-ip': learns the peer's port from its first packet and answers there", async () => {
  const { time, clock } = fakeClock();
  const natted = await peerSocket();
  const other = await peerSocket();
  const input = new RecordingInput();
  const session = new RtpSession({ ports: await boundPorts(), clock, source: new CountingSource(), input, remote: remoteAt(9), direction: 'sendrecv', latch: 'same-ip' });
  await session.settled();
  await sendFrom(natted, rtp({ ssrc: 1 }, new Uint8Array(160).fill(1)), session.localPort);
  await input.waitFor(1);
  await session.settled(); // the latch connected the socket to the learned port
  await sendFrom(other, rtp({ ssrc: 1, sequenceNumber: 2 }, new Uint8Array(160).fill(2)), session.localPort); // same IP, other port: refused now
  await sendFrom(natted, rtp({ ssrc: 1, sequenceNumber: 3 }, new Uint8Array(160).fill(3)), session.localPort); // sentinel
  await input.waitFor(2);
  const back = collect(natted, 2);
  time.advance(40);
  assert.equal((await back).length, 2);
  assert.deepEqual(input.audioFrames.map((frame) => frame[0]), [1, 3]);
  assert.equal(session.stats.dropped.address, 0, 'filtered by the kernel on the connected socket, before JavaScript');
  session.close();
  natted.close();
  other.close();
  clock.close();
});

test('strict latching connects both sockets to the SDP address:ports; a re-INVITE reconnects them to the new peer', async (t) => {
  const { time, clock } = fakeClock();
  t.after(() => clock.close());
  const first = await peerSocket();
  const second = await peerSocket();
  t.after(() => (first.close(), second.close()));
  const ports = await boundPorts();
  const input = new RecordingInput();
  const session = new RtpSession({ ports, clock, source: new CountingSource(), input, remote: remoteAt(first.port, { rtcpPort: second.port }), direction: 'sendrecv' });
  t.after(() => session.close());
  await session.settled();
  assert.deepEqual(ports.rtp.remoteAddress(), { address: '127.0.0.1', family: 'IPv4', port: first.port });
  assert.deepEqual(ports.rtcp.remoteAddress(), { address: '127.0.0.1', family: 'IPv4', port: second.port });

  session.updateRemote(remoteAt(second.port, { rtcpMux: true }));
  await session.settled();
  assert.deepEqual(ports.rtp.remoteAddress(), { address: '127.0.0.1', family: 'IPv4', port: second.port });
  assert.throws(() => ports.rtcp.remoteAddress(), { code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED' }, 'rtcp-mux: the RTCP socket sends nothing');
  // The old peer's packets no longer reach us; the new peer's do, and ours go to it.
  await sendFrom(first, rtp({ ssrc: 1 }, new Uint8Array(160).fill(1)), session.localPort);
  await sendFrom(second, rtp({ ssrc: 2 }, new Uint8Array(160).fill(2)), session.localPort);
  await input.waitFor(1);
  const got = collect(second, 2);
  time.advance(40);
  const packets = (await got).map(mustParse);
  assert.deepEqual(packets.map((packet) => packet.ssrc), [session.localSsrc, session.localSsrc]);
  assert.deepEqual(input.audioFrames.map((frame) => frame[0]), [2]);
  assert.equal(session.stats.dropped.address, 0);
});

test('a peer on hold at 0.0.0.0 leaves the sockets disconnected and gets nothing; unhold reconnects', async (t) => {
  const { time, clock } = fakeClock();
  t.after(() => clock.close());
  const peer = await peerSocket();
  t.after(() => peer.close());
  const ports = await boundPorts();
  const session = new RtpSession({ ports, clock, source: new CountingSource(), input: new RecordingInput(), remote: remoteAt(peer.port), direction: 'sendrecv', inactivityMs: 0 });
  t.after(() => session.close());
  await session.settled();
  session.updateRemote(remoteAt(peer.port, { address: '0.0.0.0' }));
  await session.settled();
  assert.throws(() => ports.rtp.remoteAddress(), { code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED' });
  assert.throws(() => ports.rtcp.remoteAddress(), { code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED' });
  time.advance(200);
  assert.equal(session.stats.packetsSent, 0);
  assert.equal(session.stats.sendErrors, 0);
  session.updateRemote(remoteAt(peer.port));
  await session.settled();
  const got = collect(peer, 1);
  time.advance(20);
  assert.equal(mustParse((await got)[0]!).marker, true);
});

test('the JavaScript source check stays as defence in depth where the kernel does not filter', async (t) => {
  const { time, clock } = fakeClock();
  t.after(() => clock.close());
  const peer = await peerSocket();
  const intruder = await peerSocket();
  t.after(() => (peer.close(), intruder.close()));
  // A socket whose connect never happens: every datagram reaches JavaScript.
  const unconnected = (type: 'udp4' | 'udp6') => Object.assign(createSocket(type), { connect: () => undefined }) as unknown as Socket;
  const input = new RecordingInput();
  const session = new RtpSession({ ports: await boundPorts(freshPool(), unconnected), clock, source: new CountingSource(), input, remote: remoteAt(peer.port), direction: 'sendrecv' });
  t.after(() => session.close());
  time.advance(20);
  await sendFrom(intruder, rtp({ ssrc: 0x1111, payloadType: 101 }, Uint8Array.from([5, 0x0a, 0, 160])), session.localPort);
  await sendFrom(peer, rtp({ ssrc: 0x1111 }), session.localPort); // sentinel
  await input.waitFor(1);
  assert.deepEqual(input.events, []);
  assert.equal(session.stats.dropped.address, 1);
});

test('ICMP port unreachable on the connected socket is counted and ends neither this call nor another', async (t) => {
  const { time, clock } = fakeClock();
  t.after(() => clock.close());
  const gone = await peerSocket();
  const closedPort = gone.port;
  gone.close(); // nothing listens there any more: the kernel answers with ICMP port unreachable
  const peer = await peerSocket();
  t.after(() => peer.close());
  const ports = await boundPorts();
  const session = new RtpSession({ ports, clock, source: new CountingSource(), input: new RecordingInput(), remote: remoteAt(closedPort), direction: 'sendrecv', inactivityMs: 0 });
  t.after(() => session.close());
  const other = new RtpSession({ ports: await boundPorts(), clock, source: new CountingSource(), input: new RecordingInput(), remote: remoteAt(peer.port), direction: 'sendrecv' });
  t.after(() => other.close());
  await Promise.all([session.settled(), other.settled()]);
  const refused = new Promise<NodeJS.ErrnoException>((resolve) => ports.rtp.once('error', resolve));
  time.advance(20);
  assert.equal((await refused).code, 'ECONNREFUSED');
  assert.ok(session.stats.sendErrors >= 1, 'counted');
  const got = collect(peer, 2);
  time.advance(40);
  assert.equal((await got).length, 2, 'the other call goes on');
  assert.equal(session.stats.packetsSent, 3, 'and this one keeps sending');
  assert.equal(clock.activeStreams, 2);
});

test('SRTP between two sessions: decrypted audio delivered, forged and replayed packets dropped', async () => {
  const { time, clock } = fakeClock();
  const keyA = Buffer.alloc(30, 0xa1);
  const keyB = Buffer.alloc(30, 0xb2);
  const portsA = await boundPorts();
  const portsB = await boundPorts();
  const inputA = new RecordingInput();
  const inputB = new RecordingInput();
  const sourceA = new CountingSource();
  const common = { clock, direction: 'sendrecv' as const };
  const a = new RtpSession({ ...common, ports: portsA, source: sourceA, input: inputA, remote: remoteAt(portsB.lease.rtpPort), srtp: { suite: 'AES_CM_128_HMAC_SHA1_80', localKey: keyA, remoteKey: keyB } });
  await a.settled();
  const b = new RtpSession({ ...common, ports: portsB, source: new CountingSource(), input: inputB, remote: remoteAt(portsA.lease.rtpPort), srtp: { suite: 'AES_CM_128_HMAC_SHA1_80', localKey: keyB, remoteKey: keyA } });
  await b.settled();
  time.advance(60);
  await inputB.waitFor(3);
  assert.deepEqual([...inputB.audioFrames[0]!.subarray(0, 3)], [0, 1, 0x55]);
  assert.deepEqual([...inputB.audioFrames[2]!.subarray(0, 3)], [0, 3, 0x55]);

  // A forged packet from B's latched address (a raw socket cannot bind A's port, so inject via A's
  // own socket, which is connected to B)
  const forged = rtp({ ssrc: 0x5555, sequenceNumber: 999 }, new Uint8Array(170));
  await new Promise<void>((resolve) => portsA.rtp.send(forged, () => resolve()));
  // A replay: a packet genuinely protected with A's key (another SSRC, so A's own stream state is
  // untouched), sent twice: the first passes SRTP and is refused by the SSRC latch, the second is a replay.
  const replay = Buffer.alloc(200);
  replay.set(rtp({ ssrc: 0xabcdef, sequenceNumber: 40000 }, new Uint8Array(20).fill(9)));
  const sender = new SrtpContext('AES_CM_128_HMAC_SHA1_80', keyA);
  const protectedLength = sender.protectRtp(replay, 32);
  assert.ok(protectedLength.ok);
  const wire = replay.subarray(0, protectedLength.length);
  await new Promise<void>((resolve) => portsA.rtp.send(Buffer.from(wire), () => resolve()));
  await new Promise<void>((resolve) => portsA.rtp.send(Buffer.from(wire), () => resolve()));
  time.advance(20); // one more genuine packet after the attack
  await inputB.waitFor(4);
  assert.equal(b.stats.dropped['srtp-auth'], 1);
  assert.equal(b.stats.dropped['srtp-replay'], 1);
  assert.equal(b.stats.dropped.ssrc, 1);
  assert.deepEqual([...inputB.audioFrames[3]!.subarray(0, 2)], [0, 4]);
  a.close();
  b.close();
  sender.close();
  clock.close();
});

test('inactivity: one event after the configured silence, none while on hold', async () => {
  const { time, clock } = fakeClock();
  const peer = await peerSocket();
  const session = new RtpSession({ ports: await boundPorts(), clock, source: new CountingSource(), input: new RecordingInput(), remote: remoteAt(peer.port), direction: 'sendrecv', inactivityMs: 2000 });
  await session.settled();
  const events: number[] = [];
  session.on('inactive', ({ silentMs }) => events.push(silentMs));
  time.advance(1980);
  assert.deepEqual(events, []);
  time.advance(40);
  assert.deepEqual(events, [2000]);
  time.advance(5000);
  assert.equal(events.length, 1);

  session.setDirection('inactive'); // peer put us on hold with a=inactive: silence is expected
  time.advance(10_000);
  assert.equal(events.length, 1);
  session.close();
  peer.close();
  clock.close();
});

test('hold stops sending; resuming sets the marker and keeps seq continuous with the timestamp tracking time', async () => {
  const { time, clock } = fakeClock();
  const capture = capturing();
  const session = new RtpSession({ ports: await boundPorts(freshPool(), capture.factory), clock, source: new CountingSource(), input: new RecordingInput(), remote: remoteAt(9), direction: 'sendrecv', inactivityMs: 0 });
  await session.settled();
  time.advance(100);
  session.setDirection('recvonly');
  time.advance(200);
  assert.equal(capture.sent.length, 5);
  session.setDirection('sendrecv');
  time.advance(40);
  const packets = capture.sent.map(mustParse);
  assert.equal(packets.length, 7);
  assert.equal(packets[5]!.marker, true);
  assert.equal(packets[5]!.sequenceNumber, (packets[4]!.sequenceNumber + 1) & 0xffff);
  assert.equal(packets[5]!.timestamp, (packets[4]!.timestamp + 160 * 11) >>> 0);
  session.close();
  clock.close();
});

test('DTMF send: RFC 4733 packets in the same seq space, start timestamp held, end sent three times', async () => {
  const { time, clock } = fakeClock();
  const capture = capturing();
  const session = new RtpSession({ ports: await boundPorts(freshPool(), capture.factory), clock, source: new CountingSource(), input: new RecordingInput(), remote: remoteAt(9), direction: 'sendrecv', inactivityMs: 0 });
  await session.settled();
  time.advance(40);
  assert.equal(session.sendDtmf(5, { durationMs: 60 }), true);
  assert.equal(session.sendDtmf(6), false, 'busy');
  time.advance(140);
  const packets = capture.sent.map(mustParse);
  const kinds = packets.map((p) => p.payloadType);
  assert.deepEqual(kinds, [0, 0, 101, 101, 101, 101, 101, 0, 0]);
  for (let i = 1; i < packets.length; i++) assert.equal(packets[i]!.sequenceNumber, (packets[i - 1]!.sequenceNumber + 1) & 0xffff);
  const events = packets.slice(2, 7);
  assert.ok(events.every((p) => p.timestamp === events[0]!.timestamp));
  assert.equal(events[0]!.timestamp, (packets[1]!.timestamp + 160) >>> 0);
  assert.deepEqual(events.map((p) => p.marker), [true, false, false, false, false]);
  assert.deepEqual(events.map((p) => [p.payload[0], p.payload[1]! >> 7]), [[5, 0], [5, 0], [5, 1], [5, 1], [5, 1]]);
  assert.equal(packets[7]!.marker, true);
  assert.equal(packets[7]!.timestamp, (packets[1]!.timestamp + 160 * 6) >>> 0);
  session.close();
  clock.close();
});

test('RTCP: a sender report with CNAME every interval, to the RTCP port or over rtcp-mux', async () => {
  for (const rtcpMux of [false, true]) {
    const { time, clock } = fakeClock();
    const peerRtp = await peerSocket();
    const peerRtcp = await peerSocket();
    const session = new RtpSession({
      ports: await boundPorts(),
      clock,
      source: new CountingSource(),
      input: new RecordingInput(),
      remote: { ...remoteAt(peerRtp.port), rtcpPort: peerRtcp.port, rtcpMux },
      direction: 'sendrecv',
      rtcpIntervalMs: 1000,
    });
    await session.settled();
    const target = rtcpMux ? peerRtp : peerRtcp;
    const reports: Buffer[] = [];
    const got = new Promise<void>((resolve) =>
      target.on('message', (message: Buffer) => {
        if (message[1] === RTCP_SR) {
          reports.push(Buffer.from(message));
          resolve();
        }
      }),
    );
    time.advance(1000);
    await got;
    const parsed = parseRtcpCompound(reports[0]!);
    assert.ok(parsed.ok);
    assert.equal(parsed.summary.senderSsrc, session.localSsrc);
    assert.ok(reports[0]!.includes(Buffer.from(`tl-${session.localSsrc.toString(16).padStart(8, '0')}`)));
    assert.equal(session.stats.rtcpSent, 1);
    session.close();
    peerRtp.close();
    peerRtcp.close();
    clock.close();
  }
});

test('RTCP loss: RFC 4733 events on the audio SSRC count as received, a real gap counts as lost', async (t) => {
  const { time, clock } = fakeClock();
  const peerRtp = await peerSocket();
  const peerRtcp = await peerSocket();
  const input = new RecordingInput();
  const session = new RtpSession({
    ports: await boundPorts(),
    clock,
    source: new CountingSource(),
    input,
    remote: { ...remoteAt(peerRtp.port), rtcpPort: peerRtcp.port },
    direction: 'sendrecv',
    rtcpIntervalMs: 1000,
  });
  await session.settled();
  t.after(() => {
    session.close();
    peerRtp.close();
    peerRtcp.close();
    clock.close();
  });
  const ssrc = 0x5150;
  const event = new Uint8Array([5, 0x0a, 0, 160]);
  // audio 10-12, the key's events 13-15 on the same stream, audio 16-17, 18 lost, audio 19
  const packets = [
    ...[10, 11, 12].map((seq) => rtp({ ssrc, sequenceNumber: seq, timestamp: seq * 160 })),
    ...[13, 14, 15].map((seq) => rtp({ ssrc, sequenceNumber: seq, timestamp: 13 * 160, payloadType: 101 }, event)),
    ...[16, 17, 19].map((seq) => rtp({ ssrc, sequenceNumber: seq, timestamp: seq * 160 })),
  ];
  for (const packet of packets) await sendFrom(peerRtp, packet, session.localPort);
  await input.waitFor(packets.length);
  const report = new Promise<Buffer>((resolve) =>
    peerRtcp.on('message', (message: Buffer) => {
      if (message[1] === RTCP_SR && (message[0]! & 0x1f) === 1) resolve(Buffer.from(message));
    }),
  );
  time.advance(1000);
  const sr = await report;
  // RFC 3550 §6.4.1: header 8 bytes, sender info 20, then the block: SSRC, fraction lost, cumulative lost (24 bits)
  assert.equal(sr.readUInt32BE(28), ssrc);
  assert.equal(sr.readUIntBE(33, 3), 1, 'cumulative lost: only sequence 18');
  assert.equal(sr.readUInt32BE(36) & 0xffff, 19, 'extended highest sequence');
});

test('received packet buffers are zeroed after the input saw them', async () => {
  const { time, clock } = fakeClock();
  const peer = await peerSocket();
  const views: Uint8Array[] = [];
  let delivered!: () => void;
  const done = new Promise<void>((resolve) => (delivered = resolve));
  const input = {
    telephoneEvent: (payload: Uint8Array) => {
      assert.equal(payload[0], 4);
      views.push(payload);
      delivered();
    },
    audio: () => {},
  };
  const session = new RtpSession({ ports: await boundPorts(), clock, source: new CountingSource(), input, remote: remoteAt(peer.port), direction: 'sendrecv' });
  await session.settled();
  time.advance(20);
  await sendFrom(peer, rtp({ ssrc: 3, payloadType: 101 }, Uint8Array.from([4, 0x0a, 0, 160])), session.localPort);
  await done; // resolves after the socket handler (and its zeroing) has returned
  assert.deepEqual([...views[0]!], [0, 0, 0, 0]);
  session.close();
  peer.close();
  clock.close();
});

test('close(): twice is safe, closed emitted once, ports released, buffers zeroed, no sends after', async () => {
  const { time, clock } = fakeClock();
  const pool = freshPool(2);
  const capture = capturing();
  const session = new RtpSession({ ports: await boundPorts(pool, capture.factory), clock, source: new CountingSource(), input: new RecordingInput(), remote: remoteAt(9), direction: 'sendrecv', srtp: { suite: 'AES_CM_128_HMAC_SHA1_32', localKey: Buffer.alloc(30, 1), remoteKey: Buffer.alloc(30, 2) } });
  await session.settled();
  time.advance(60);
  assert.equal(pool.available, 1);
  let closed = 0;
  session.on('closed', () => closed++);
  session.close();
  session.close();
  assert.equal(closed, 1);
  assert.equal(pool.available, 2);
  assert.equal(clock.activeStreams, 0);
  const buffers = (session as unknown as { sendBuffers: Buffer[] }).sendBuffers;
  assert.ok(buffers.every((buffer) => buffer.every((byte) => byte === 0)));
  const before = capture.sent.length;
  time.advance(100);
  assert.equal(capture.sent.length, before);
  clock.close();
});
