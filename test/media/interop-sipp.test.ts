// Interop: sipp (sip-tester) calls a minimal test UAS whose media is a real CallMedia on the real
// media clock. sipp replays its own RFC 2833 recordings and play_dtmf toward our answer's address;
// we check that the packets pass latching and arrive as the right telephone-events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { interopSkip } from '../support/interop.ts';
import { CallMedia } from '../../src/media/call-media.ts';
import { MediaClock } from '../../src/media/media-clock.ts';
import { CountingSource, freshPool, RecordingInput } from './session-harness.ts';
import { miniUas } from './mini-uas.ts';

const skip = interopSkip('sipp');

async function runCall(scenario: string) {
  const clock = new MediaClock();
  const input = new RecordingInput();
  let media: CallMedia | null = null;
  let stats: ReturnType<CallMedia['stats']['valueOf']> | null = null;
  const uas = await miniUas(
    async (offer) => {
      const result = await CallMedia.answer(offer, { source: new CountingSource(), input, signallingSecure: false }, { pool: freshPool(2), clock, config: { bindAddress: '127.0.0.1' } });
      if (!result.ok) return null;
      media = result.media;
      return result.answerSdp;
    },
    () => {
      stats = media?.stats ?? null;
      media?.close();
    },
  );
  const mediaPort = 30000 + Math.floor(Math.random() * 10000) * 2;
  const sipp = spawn(
    'sipp',
    ['127.0.0.1:' + uas.port, '-sf', fileURLToPath(new URL(`./sipp/${scenario}`, import.meta.url)), '-m', '1', '-i', '127.0.0.1', '-p', '0', '-mi', '127.0.0.1', '-mp', String(mediaPort), '-timeout', '30', '-timeout_error', '-nostdin'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  sipp.stderr.on('data', (chunk) => (stderr += chunk));
  const [code] = (await once(sipp, 'exit')) as [number | null];
  uas.close();
  clock.close();
  assert.equal(code, 0, `sipp failed: ${stderr.slice(0, 500)}`);
  assert.ok(stats, 'the call reached BYE with media');
  return { input, stats: stats as unknown as CallMedia['stats'] };
}

test('sipp replays PCMA audio and its RFC 2833 recording of key 1 from a second SSRC: all events accepted', { skip, timeout: 60_000 }, async () => {
  const { input, stats } = await runCall('uac-dtmf-pcap.xml');
  // dtmf_2833_1.pcap: 10 packets of event 1 (start with marker, updates, three end packets)
  assert.equal(input.events.length, 10);
  assert.ok(input.events.every((event) => event.payload[0] === 1));
  assert.equal(new Set(input.events.map((event) => event.ssrc)).size, 1);
  assert.ok(input.audioFrames.length > 10, `audio frames ${input.audioFrames.length}`);
  // the recording is 30 ms PCMA: payloads reach the input as they came, whatever the ptime
  assert.ok(input.audioFrames.every((frame) => frame.length === 240));
  assert.equal(stats.droppedBy.ssrc, 0);
  assert.equal(stats.droppedBy.address, 0);
  assert.ok(stats.packetsSent > 50, 'we streamed to sipp as well');
});

test("sipp play_dtmf ('2#', its own SSRC and PT) during recorded audio: both keys arrive", { skip, timeout: 60_000 }, async () => {
  const { input, stats } = await runCall('uac-play-dtmf.xml');
  const keys = input.events.map((event) => event.payload[0]).filter((code, i, all) => i === 0 || all[i - 1] !== code);
  assert.deepEqual(keys, [2, 11]);
  assert.ok(input.events.some((event) => (event.payload[1]! & 0x80) !== 0), 'end packets seen');
  assert.equal(stats.droppedBy.address, 0);
  assert.equal(stats.droppedBy.ssrc, 0, 'the play_dtmf SSRC is the one extra event SSRC');
  assert.ok(stats.droppedBy['payload-type'] > 0, "play_dtmf's PT 97 fillers are not negotiated and are dropped");
});
