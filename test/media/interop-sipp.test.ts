// Interop: sipp (sip-tester) calls a minimal UAS whose media is a real CallMedia on the real media
// clock; sipp replays its own RFC 2833 recordings and play_dtmf toward our answer's address. Runs in
// a loopback-only network namespace (sipp binds a wildcard control socket).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loopbackNamespaceSkip, runInLoopbackNamespace } from '../support/loopback-namespace.ts';
import type { InteropReport } from './interop-harness.ts';

const skip = loopbackNamespaceSkip('sipp');
const harness = fileURLToPath(new URL('./interop-harness.ts', import.meta.url));

test('sipp replays PCMA audio and its RFC 2833 recording of key 1 from a second SSRC: all events accepted', { skip, timeout: 60_000 }, async () => {
  const report = await runInLoopbackNamespace<InteropReport>(harness, ['sipp', 'uac-dtmf-pcap.xml']);
  assert.equal(report.code, 0, report.output);
  const stats = report.stats!;
  // dtmf_2833_1.pcap: 10 packets of event 1 (start with marker, updates, three end packets)
  assert.equal(report.events.length, 10);
  assert.ok(report.events.every(([code]) => code === 1));
  assert.equal(report.events.filter(([, end]) => end).length, 3);
  assert.equal(new Set(report.events.map(([, , ssrc]) => ssrc)).size, 1);
  assert.ok(report.audioFrames > 10, `audio frames ${report.audioFrames}`);
  // the recording is 30 ms PCMA: payloads reach the input as they came, whatever the ptime
  assert.deepEqual(report.audioLengths, [240]);
  assert.equal(stats.droppedBy.ssrc, 0);
  assert.equal(stats.droppedBy.address, 0);
  assert.ok(stats.packetsSent > 50, 'we streamed to sipp as well');
});

test("sipp play_dtmf ('2#', its own SSRC and PT 96) during recorded audio: both keys arrive", { skip, timeout: 60_000 }, async () => {
  const report = await runInLoopbackNamespace<InteropReport>(harness, ['sipp', 'uac-play-dtmf.xml']);
  assert.equal(report.code, 0, report.output);
  const stats = report.stats!;
  const keys = report.events.map(([code]) => code).filter((code, i, all) => i === 0 || all[i - 1] !== code);
  assert.deepEqual(keys, [2, 11]);
  assert.ok(report.events.some(([, end]) => end), 'end packets seen');
  assert.equal(stats.droppedBy.address, 0);
  assert.equal(stats.droppedBy.ssrc, 0, 'the play_dtmf SSRC is the one extra event SSRC');
  assert.ok(stats.droppedBy['payload-type'] > 0, "play_dtmf's PT 97 fillers are not negotiated and are dropped");
});
