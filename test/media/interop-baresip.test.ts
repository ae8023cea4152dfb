// Interop: baresip (libre's SRTP) calls a minimal UAS with mandatory SDES-SRTP (mediaenc=srtp-mand).
// Our answer carries our own key; baresip's 440 Hz tone must arrive decrypted and authenticated
// through a real CallMedia with no SRTP drops, and baresip's decoded dump of our stream must hold our
// frames. Runs in a loopback-only network namespace (baresip binds wildcard sockets). Over UDP: TLS
// signalling belongs to the SIP stack (a later integration item).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loopbackNamespaceSkip, runInLoopbackNamespace } from '../support/loopback-namespace.ts';
import type { InteropReport } from './interop-harness.ts';

const skip = loopbackNamespaceSkip('baresip');
const harness = fileURLToPath(new URL('./interop-harness.ts', import.meta.url));

test('baresip with mandatory SDES-SRTP: each side decrypts and authenticates the other', { skip, timeout: 60_000 }, async () => {
  const report = await runInLoopbackNamespace<InteropReport>(harness, ['baresip']);
  assert.ok(report.offerWasSavp, 'baresip offered RTP/SAVP with a=crypto');
  assert.ok(report.stats, `the call was answered; baresip said: ${report.output}`);
  const stats = report.stats;
  assert.equal(stats.droppedBy['srtp-auth'], 0);
  assert.equal(stats.droppedBy['srtp-replay'], 0);
  assert.ok(report.audioFrames > 50, `decrypted frames: ${report.audioFrames}`);
  // a 440 Hz tone in µ-law has many distinct byte values; failed decryption would not reach the input
  assert.ok(report.distinctAudioValues > 20, `distinct µ-law values ${report.distinctAudioValues}`);
  assert.ok(stats.packetsSent > 50);
  // libre's SRTCP (an encrypted APP packet) authenticated and decrypted; its plaintext PING/PONG and
  // BYE at hang-up are refused and counted, as anything unauthenticated must be
  assert.ok(stats.rtcpReceived >= 1, 'SRTCP from baresip authenticated');
  // What baresip decrypted and decoded from us: our frames are µ-law 0x55 (G.711: -716) with every
  // 5th frame the shared silence; ciphertext would decode to noise.
  assert.ok(report.heardSamples >= 8000, `baresip decoded ${report.heardSamples} samples from us`);
  assert.ok(report.heardOurValue / report.heardSamples > 0.7, `share of our frame value: ${report.heardOurValue / report.heardSamples}`);
  assert.ok(!/srtp.*(fail|error)|auth.*fail/i.test(report.output), `baresip reported SRTP trouble: ${report.output}`);
});
