// The per-frame path (player → RTP send, received audio → in-band DTMF) must allocate nothing: at
// 1,000 calls that is 50,000 frames a second. (RFC 4733 packets, which arrive only during a key
// press, box one clock reading each: 16 bytes.) Measured as young-generation growth over 2,000 frames after a
// full GC (runs with --expose-gc, as scripts/run-tests.ts sets): a 160-byte copy per frame would add
// ~370 KB, one small object per frame ≥ 32 KB; the measuring call itself adds a few KB.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import { createSocket, type Socket } from 'node:dgram';
import { Player, type PlayItem } from '../../src/media/player.ts';
import { PromptStore } from '../../src/media/prompt-store.ts';
import { DtmfReceiver } from '../../src/media/dtmf-receiver.ts';
import type { G711Codec } from '../../src/media/frame-source.ts';
import { MediaClock, type ClockStream } from '../../src/media/media-clock.ts';
import { FakeTime } from './fake-time.ts';

const gc = (globalThis as { gc?: () => void }).gc;
const youngBytes = () => v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')!.space_used_size;
const FRAMES = 2000;
const BUDGET = FRAMES * 16;

test('playing and receiving audio with in-band detection allocate nothing per frame', { skip: gc ? false : 'needs --expose-gc' }, () => {
  const store = new PromptStore();
  const prompt = store.add('menu', Int16Array.from({ length: 160 * 50 }, (_, i) => ((i * 37) % 4000) - 2000));
  const items: PlayItem[] = Array.from({ length: 100 }, () => ({ prompt }));
  const player = new Player();
  const receiver = new DtmfReceiver({ inband: true });

  const run = (codec: G711Codec, frames: number) => {
    let checksum = 0;
    for (let i = 0; i < frames; i++) {
      if (!player.playing) void player.play(items); // one play-list per 5,000 frames
      const frame = player.nextFrame(codec);
      checksum += frame[i % 160]!;
      receiver.audio(frame, codec);
    }
    return checksum;
  };
  for (const codec of ['PCMU', 'PCMA'] as const) {
    run(codec, 20_000); // warm up: let the JIT settle
    gc!();
    const before = youngBytes();
    run(codec, FRAMES);
    const grown = youngBytes() - before;
    assert.ok(grown < BUDGET, `${codec}: ${grown} bytes allocated over ${FRAMES} frames`);
  }
});

test('the media clock walks its streams without allocating per slot', { skip: gc ? false : 'needs --expose-gc' }, () => {
  const time = new FakeTime();
  // One wake-up runs every slot since the last: a stall of SLOTS slots, all caught up at once.
  const SLOTS = 2000;
  const clock = new MediaClock({ timeSource: time, maxCatchUp: SLOTS });
  let ticks = 0;
  const streams: ClockStream[] = Array.from({ length: 1000 }, () => ({ tick: () => void ticks++ }));
  for (const stream of streams) clock.add(stream);
  time.fireNextAt(time.nextDeadline()! + 20 * SLOTS); // warm up
  clock.remove(streams[0]!); // leaves a hole to compact
  gc!();
  const before = youngBytes();
  time.fireNextAt(time.nextDeadline()! + 20 * SLOTS);
  const grown = youngBytes() - before;
  assert.ok(ticks > 999 * SLOTS);
  // a copy of the stream list per slot would be 8 KB a slot, 16 MB here
  assert.ok(grown < SLOTS * 64, `${grown} bytes allocated over ${SLOTS} slots of 1,000 streams`);
  clock.close();
});

test('an RTP session sends a frame with no object and takes in a packet with one payload view', { skip: gc ? false : 'needs --expose-gc' }, async () => {
  const { RtpSession } = await import('../../src/media/rtp-session.ts');
  const { boundPorts, freshPool } = await import('./session-harness.ts');
  const time = new FakeTime();
  const clock = new MediaClock({ timeSource: time, maxCatchUp: FRAMES });
  const frame = new Uint8Array(160).fill(0x55);
  // Sends go nowhere (the kernel's copy is not what is measured); receives call the socket handler directly.
  const quiet = (type: 'udp4' | 'udp6') => Object.assign(createSocket(type), { send: () => undefined, connect: () => undefined }) as unknown as Socket;
  const session = new RtpSession({
    ports: await boundPorts(freshPool(), quiet),
    clock,
    source: { nextFrame: () => frame },
    input: { telephoneEvent: () => undefined, audio: () => undefined },
    remote: { address: '127.0.0.1', port: 9, rtcpPort: 10, rtcpMux: false, codec: 'PCMU', pt: 0 },
    direction: 'sendrecv',
    inactivityMs: 0,
    rtcpIntervalMs: 3_600_000,
  });
  const packet = Buffer.alloc(172, 0x7f);
  packet.set([0x80, 0, 0, 1, 0, 0, 0, 160, 0, 0, 0x12, 0x34]);
  const datagram = Buffer.alloc(172);
  const rinfo = { address: '127.0.0.1', port: 9, family: 'IPv4', size: 172 };
  const onRtp = (session as unknown as { onRtpSocket: (message: Buffer, from: typeof rinfo) => void }).onRtpSocket;
  const receive = (count: number) => {
    for (let i = 0; i < count; i++) {
      datagram.set(packet); // the handler zeroes what it was given
      datagram[3] = i & 0xff;
      onRtp(datagram, rinfo);
    }
  };
  time.fireNextAt(time.nextDeadline()! + 20 * FRAMES); // warm up
  receive(20_000);
  gc!();
  let before = youngBytes();
  time.fireNextAt(time.nextDeadline()! + 20 * FRAMES);
  const sendGrowth = youngBytes() - before;
  gc!();
  before = youngBytes();
  receive(FRAMES);
  const receiveGrowth = youngBytes() - before;
  assert.ok(session.stats.packetsSent >= 2 * FRAMES && session.stats.packetsReceived >= FRAMES);
  session.close();
  clock.close();
  // Measured on Node 20: before, a header-fields object per send (~150 bytes a frame) and a parse
  // result per receive (result, packet, CSRC list and payload view: ~440 bytes a packet). Now a send
  // boxes at most its timestamp (16 bytes), and a receive keeps one payload view (~97 bytes) and a
  // few boxed numbers (the clock reading, the RTP timestamp).
  assert.ok(sendGrowth < FRAMES * 48, `send: ${sendGrowth} bytes over ${FRAMES} frames`);
  assert.ok(receiveGrowth < FRAMES * 300, `receive: ${receiveGrowth} bytes over ${FRAMES} packets`);
});
