import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'sdp-transform';
import { CallMedia, type MediaServices } from '../../src/media/call-media.ts';
import { parseRtp } from '../../src/media/rtp-packet.ts';
import { SrtpContext } from '../../src/media/srtp.ts';
import { collect, CountingSource, fakeClock, freshPool, peerSocket, RecordingInput, sendFrom } from './session-harness.ts';

function offer(port: number, ...extra: string[]): string {
  return ['v=0', 'o=peer 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${port} RTP/AVP 0 101`, 'a=rtpmap:101 telephone-event/8000', ...extra, ''].join('\r\n');
}

function services(pairs = 2): MediaServices & { time: ReturnType<typeof fakeClock>['time'] } {
  const { time, clock } = fakeClock();
  return { pool: freshPool(pairs), clock, config: { bindAddress: '127.0.0.1' }, time };
}

const parts = () => ({ source: new CountingSource(), input: new RecordingInput(), signallingSecure: false });

test('answer(): binds a pair, answers with its port, and streams 20 ms PCMU to the offered address', async () => {
  const svc = services();
  const peer = await peerSocket();
  const result = await CallMedia.answer(offer(peer.port), parts(), svc);
  assert.ok(result.ok);
  const answer = parse(result.answerSdp);
  assert.equal(answer.media[0]!.port, result.media.localPort);
  assert.equal(svc.pool.available, 1);
  const got = collect(peer, 3);
  svc.time.advance(60);
  const packets = (await got).map((bytes) => parseRtp(bytes));
  assert.ok(packets.every((p) => p.ok && p.packet.payloadType === 0 && p.packet.payload.length === 160));
  assert.equal(result.media.stats.packetsSent, 3);
  result.media.close();
  peer.close();
  svc.clock.close();
});

test('a hostile offer is refused before any port is taken; an exhausted pool answers 503', async () => {
  const svc = services(1);
  const bad = await CallMedia.answer('v=0\r\nm=audio 1 RTP/AVP 0\r\n', parts(), svc);
  assert.deepEqual(bad, { ok: false, error: { code: 'sdp-no-connection', status: 400 } });
  assert.equal(svc.pool.available, 1);
  const first = await CallMedia.answer(offer(9), parts(), svc);
  assert.ok(first.ok);
  const second = await CallMedia.answer(offer(9), parts(), svc);
  assert.deepEqual(second, { ok: false, error: { code: 'media-ports-exhausted', status: 503 } });
  first.media.close();
  assert.equal(svc.pool.available, 1);
  svc.clock.close();
});

test('re-INVITE hold and unhold: answer directions, sending stops and resumes', async () => {
  const svc = services();
  const peer = await peerSocket();
  const result = await CallMedia.answer(offer(peer.port), parts(), svc);
  assert.ok(result.ok);
  const { media } = result;
  svc.time.advance(40);
  const hold = media.answerReoffer(offer(peer.port, 'a=sendonly'));
  assert.ok(hold.ok);
  assert.equal(parse(hold.answerSdp).media[0]!.direction, 'recvonly');
  assert.equal(parse(hold.answerSdp).origin.sessionVersion, 2);
  svc.time.advance(200);
  assert.equal(media.stats.packetsSent, 2);
  const unhold = media.answerReoffer(offer(peer.port, 'a=sendrecv'));
  assert.ok(unhold.ok);
  svc.time.advance(40);
  assert.equal(media.stats.packetsSent, 4);
  const rejected = media.answerReoffer(offer(peer.port).replace('RTP/AVP 0 101', 'RTP/AVP 9'));
  assert.deepEqual(rejected, { ok: false, error: { code: 'sdp-no-common-codec', status: 488 } });
  svc.time.advance(20);
  assert.equal(media.stats.packetsSent, 5, 'a refused re-offer leaves the call as it was');
  media.close();
  peer.close();
  svc.clock.close();
});

test('re-INVITE to a new port moves the latch: the old port is dropped, the new one accepted and sent to', async () => {
  const svc = services();
  const oldPeer = await peerSocket();
  const newPeer = await peerSocket();
  const input = new RecordingInput();
  const result = await CallMedia.answer(offer(oldPeer.port), { ...parts(), input }, svc);
  assert.ok(result.ok);
  const { media } = result;
  const packet = (ssrc: number, seq: number) => Buffer.from([0x80, 0, 0, seq, 0, 0, 0, 0, 0, 0, 0, ssrc, ...new Array(160).fill(seq)]);
  await sendFrom(oldPeer, packet(1, 1), media.localPort);
  await input.waitFor(1);
  assert.ok(media.answerReoffer(offer(newPeer.port)).ok);
  await media.settled();
  await sendFrom(oldPeer, packet(1, 2), media.localPort);
  await sendFrom(newPeer, packet(2, 3), media.localPort);
  await input.waitFor(2);
  assert.deepEqual(input.audioFrames.map((frame) => frame[0]), [1, 3]);
  // The socket is now connected to the new peer: the kernel drops the old one's packet before us.
  assert.equal(media.stats.droppedBy.address, 0);
  const got = collect(newPeer, 1);
  svc.time.advance(20);
  assert.equal((await got).length, 1);
  media.close();
  oldPeer.close();
  newPeer.close();
  svc.clock.close();
});

test('SDES end to end: the peer decrypts our packets with the key from our answer, and we decrypt its', async () => {
  const svc = services();
  const peer = await peerSocket();
  const peerKey = Buffer.alloc(30, 0x42);
  const input = new RecordingInput();
  const source = new CountingSource();
  const sdp = offer(peer.port, `a=crypto:7 AES_CM_128_HMAC_SHA1_32 inline:${peerKey.toString('base64')}`).replace('RTP/AVP', 'RTP/SAVP');
  const result = await CallMedia.answer(sdp, { source, input, signallingSecure: true }, svc);
  assert.ok(result.ok);
  const crypto = parse(result.answerSdp).media[0]!.crypto![0]!;
  assert.equal(crypto.id, 7);
  const ourKey = Buffer.from(crypto.config.slice('inline:'.length), 'base64');
  const decrypt = new SrtpContext('AES_CM_128_HMAC_SHA1_32', ourKey);
  const got = collect(peer, 2);
  svc.time.advance(40);
  const wires = await got;
  const first = decrypt.unprotectRtp(wires[0]!);
  assert.deepEqual(first, { ok: true, length: 172 });
  assert.deepEqual([...wires[0]!.subarray(12, 15)], [0, 1, 0x55]);

  const encrypt = new SrtpContext('AES_CM_128_HMAC_SHA1_32', peerKey);
  const outgoing = Buffer.alloc(200);
  outgoing.set([0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9]);
  outgoing.fill(0x33, 12, 172);
  const protectedResult = encrypt.protectRtp(outgoing, 172);
  assert.ok(protectedResult.ok);
  await sendFrom(peer, outgoing.subarray(0, protectedResult.length), result.media.localPort);
  await input.waitFor(1);
  assert.deepEqual(input.audioFrames[0], Buffer.alloc(160, 0x33));

  const keys = result.media.current.srtp!;
  result.media.close();
  assert.ok(keys.localKey.every((b) => b === 0) && keys.remoteKey.every((b) => b === 0), 'SDES keys zeroed at close');
  decrypt.close();
  encrypt.close();
  peer.close();
  svc.clock.close();
});

test('plain RTP over TLS signalling is refused (488) by the default policy', async () => {
  const svc = services();
  const result = await CallMedia.answer(offer(9), { ...parts(), signallingSecure: true }, svc);
  assert.deepEqual(result, { ok: false, error: { code: 'sdp-srtp-required', status: 488 } });
  svc.clock.close();
});

test('inactive is forwarded and close() is safe twice with one closed event', async () => {
  const svc = services();
  svc.config.inactivityMs = 1000;
  const result = await CallMedia.answer(offer(9), parts(), svc);
  assert.ok(result.ok);
  const seen: string[] = [];
  result.media.on('inactive', () => seen.push('inactive'));
  result.media.on('closed', () => seen.push('closed'));
  svc.time.advance(1020);
  result.media.close();
  result.media.close();
  assert.deepEqual(seen, ['inactive', 'closed']);
  assert.equal(svc.pool.available, 2);
  assert.equal(result.media.sendDtmf(1), false);
  svc.clock.close();
});
