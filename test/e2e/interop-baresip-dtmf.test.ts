// Interop (issue 4): baresip calls the real server (`traceless start`) over UDP with plain RTP
// (accepted: the default SRTP policy asks for SRTP only over TLS) and keys every DTMF key the
// flow takes as RFC 4733 events (ctrl_tcp `sndcode`, sent once each gather has opened). The
// flow's outcome, read from the server's own lines, proves each key arrived exactly once:
// 0-9 terminated by #, then a repeated key terminated by * (two real presses, not one press
// reported twice). Runs in a loopback-only network namespace (baresip binds wildcard sockets).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loopbackNamespaceSkip, runInLoopbackNamespace } from '../support/loopback-namespace.ts';
import type { BaresipRun, BaresipRunReport } from './interop-baresip-harness.ts';
import { assertKeysOnceAndCompleted, only } from './interop-outcome.ts';

const skip = loopbackNamespaceSkip('baresip', 'sox');
const harness = fileURLToPath(new URL('./interop-baresip-harness.ts', import.meta.url));

test('baresip sends RFC 4733 DTMF (0-9, #, a repeated 5, *): the flow gets each key exactly once', { skip, timeout: 60_000 }, async () => {
  const entries = ['0123456789#', '55*'];
  const run: BaresipRun = { transport: 'udp', mediaenc: null, entries: entries.map((keys) => ({ keys, via: 'rfc4733' })) };
  const report = await runInLoopbackNamespace<BaresipRunReport>(harness, [JSON.stringify(run)]);
  assert.equal(report.baresipExit, 0, JSON.stringify({ ...report, server: report.server.map((e) => e.event ?? e.msg) }));
  // baresip offers telephone-event at 101; the answer keeps it there, so its events are ours to decode.
  assert.deepEqual(report.offer, { profile: 'RTP/AVP', suites: [], telephoneEvent: '101' });
  assert.deepEqual(report.answer, { profile: 'RTP/AVP', suites: [], telephoneEvent: '101' });
  assert.equal(only(report.server, 'call.start').transport, 'udp');
  assert.deepEqual(report.keysSent, [true, true]);
  assertKeysOnceAndCompleted(report.server, entries);
  // The call was a real two-way one: baresip decoded our goodbye.
  assert.ok(report.goodbyeHeard / report.goodbyeSamples > 0.95, `goodbye heard: ${report.goodbyeHeard}/${report.goodbyeSamples}`);
  assert.equal(report.serverExit, 0, report.serverStderr);
});
