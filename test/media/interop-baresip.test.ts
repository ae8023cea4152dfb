// Interop: baresip (libre's SRTP) calls a minimal test UAS with mandatory SDES-SRTP
// (mediaenc=srtp-mand). Our answer carries our own key; baresip's 440 Hz tone must arrive decrypted
// and authenticated through a real CallMedia with no SRTP drops, and baresip's decoded dump of our
// stream must hold our frames. Over UDP: TLS signalling belongs to the SIP stack (later item).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { interopSkip } from '../support/interop.ts';
import { CallMedia, type CallMediaStats } from '../../src/media/call-media.ts';
import { MediaClock } from '../../src/media/media-clock.ts';
import { CountingSource, freshPool, RecordingInput } from './session-harness.ts';
import { miniUas } from './mini-uas.ts';

const skip = interopSkip('baresip');

/** 16-bit PCM samples baresip's sndfile module wrote from our (decrypted) stream; empty if none. */
function readHeard(path: string): Int16Array {
  if (!existsSync(path)) return new Int16Array(0);
  const wav = readFileSync(path);
  const data = wav.indexOf('data');
  if (data < 0) return new Int16Array(0);
  const bytes = wav.subarray(data + 8);
  return new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + (bytes.length & ~1)));
}

test('baresip with mandatory SDES-SRTP: each side decrypts and authenticates the other', { skip, timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'traceless-baresip-'));
  const rtpBase = 47000 + Math.floor(Math.random() * 500) * 10;
  writeFileSync(
    join(dir, 'config'),
    [
      'poll_method epoll',
      'sip_listen 127.0.0.1:0',
      'net_interface 127.0.0.1',
      'audio_source ausine,440',
      'ausrc_srate 48000',
      'ausrc_channels 2',
      `rtp_ports ${rtpBase}-${rtpBase + 9}`,
      'module_path /usr/lib/baresip/modules',
      'module g711.so',
      'module ausine.so',
      'module aufile.so',
      'module srtp.so',
      'module sndfile.so',
      `snd_path ${dir}`,
      'module_app menu.so',
      'module_app account.so',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'accounts'), '<sip:caller@127.0.0.1>;mediaenc=srtp-mand;regint=0;audio_codecs=PCMU\n');

  const clock = new MediaClock();
  const input = new RecordingInput();
  let media: CallMedia | null = null;
  let stats: CallMediaStats | null = null;
  let offerWasSavp = false;
  const uas = await miniUas(
    async (offer) => {
      offerWasSavp = offer.includes('RTP/SAVP') && offer.includes('a=crypto:');
      // signallingSecure: true → the default policy insists on SRTP, as it will over TLS
      const result = await CallMedia.answer(offer, { source: new CountingSource(), input, signallingSecure: true }, { pool: freshPool(2), clock, config: { bindAddress: '127.0.0.1' } });
      if (!result.ok) return null;
      media = result.media;
      return result.answerSdp;
    },
    () => {
      stats = media?.stats ?? null;
      media?.close();
    },
  );
  const baresip = spawn('baresip', ['-f', dir, '-e', `/dial sip:ivr@127.0.0.1:${uas.port}`, '-t', '4'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  baresip.stdout.on('data', (chunk) => (output += chunk));
  baresip.stderr.on('data', (chunk) => (output += chunk));
  await once(baresip, 'exit');
  stats ??= (media as CallMedia | null)?.stats ?? null;
  (media as CallMedia | null)?.close();
  uas.close();
  clock.close();
  const heard = readHeard(join(dir, readdirSync(dir).find((name) => name.endsWith('-dec.wav')) ?? 'none'));
  rmSync(dir, { recursive: true, force: true });

  assert.ok(offerWasSavp, 'baresip offered RTP/SAVP with a=crypto');
  assert.ok(stats, `the call was answered; baresip said: ${output.slice(-600)}`);
  const final = stats as CallMediaStats;
  assert.equal(final.droppedBy['srtp-auth'], 0);
  assert.equal(final.droppedBy['srtp-replay'], 0);
  assert.ok(input.audioFrames.length > 50, `decrypted frames: ${input.audioFrames.length}`);
  // a 440 Hz tone in µ-law: many distinct byte values (ciphertext or silence would not look like this)
  const values = new Set(input.audioFrames.flatMap((frame) => [...frame]));
  assert.ok(values.size > 20, `distinct µ-law values ${values.size}`);
  assert.ok(final.packetsSent > 50);
  // libre's SRTCP (an encrypted APP packet) authenticated and decrypted; its plaintext PING/PONG and
  // BYE at hang-up are refused and counted, as anything unauthenticated must be
  assert.ok(final.rtcpReceived >= 1, 'SRTCP from baresip authenticated');
  // What baresip decrypted and decoded from us (its sndfile dump): our CountingSource frames are µ-law
  // 0x55 (G.711: -716) with every 5th frame the shared silence; ciphertext would decode to noise.
  assert.ok(heard.length >= 8000, `baresip decoded ${heard.length} samples from us`);
  const tone = heard.filter((sample) => sample === -716).length;
  assert.ok(tone / heard.length > 0.7, `share of our frame value in what baresip heard: ${tone / heard.length}`);
  assert.ok(!/srtp.*(fail|error)|auth.*fail/i.test(output), `baresip reported SRTP trouble: ${output.slice(-600)}`);
});
