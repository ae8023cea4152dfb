// Interop (issue 4): baresip calls the real server (`traceless start`) over SIP TLS with
// mandatory SDES-SRTP (mediaenc=srtp-mand). Every check reads something that breaks if TLS or
// SRTP breaks: the SDP each side sent (from baresip's trace of the decrypted TLS stream), keys
// the server could only get by decrypting baresip's SRTP — DTMF tones inside the audio (our
// in-band detector over decrypted G.711) and RFC 4733 events — our goodbye prompt sample for
// sample in baresip's decoded dump, no packet of ours lost at baresip (a failed auth tag is a
// loss there), and our SRTCP accepted. Then the server's default policy: a plain RTP/AVP offer
// over TLS gets 488. Runs in a loopback-only network namespace (baresip binds wildcard sockets).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loopbackNamespaceSkip, runInLoopbackNamespace } from '../support/loopback-namespace.ts';
import type { BaresipRun, BaresipRunReport } from './interop-baresip-harness.ts';
import { assertKeysOnceAndCompleted, only } from './interop-outcome.ts';

const skip = loopbackNamespaceSkip('baresip', 'sox', 'openssl');
const harness = fileURLToPath(new URL('./interop-baresip-harness.ts', import.meta.url));
const SUITES = ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'];

function baresip(run: BaresipRun): Promise<BaresipRunReport> {
  return runInLoopbackNamespace<BaresipRunReport>(harness, [JSON.stringify(run)]);
}

test('baresip over TLS with mandatory SRTP: our SDES answer, keys from its decrypted audio and events, our prompt decrypted by baresip', { skip, timeout: 60_000 }, async () => {
  // 19 as tones in baresip's audio (before any RFC 4733 event: that turns in-band detection off),
  // then 2580 as RFC 4733 events inside SRTP.
  const entries = [
    { keys: '19#', via: 'inband' },
    { keys: '2580#', via: 'rfc4733' },
  ] as const;
  const report = await baresip({ transport: 'tls', mediaenc: 'srtp-mand', entries: [...entries] });
  const context = JSON.stringify({ ...report, server: report.server.map((e) => e.event ?? e.msg) });
  assert.equal(report.baresipExit, 0, context);

  // The offer/answer, as baresip saw them inside TLS.
  const { offer, answer } = report;
  assert.ok(offer && answer, context);
  assert.equal(offer.profile, 'RTP/SAVP', 'baresip offered SRTP');
  assert.ok(offer.suites.length > 0 && offer.suites.every((suite) => SUITES.includes(suite)), `offered ${offer.suites.join(', ')}`);
  assert.equal(report.finalResponse, '200 OK');
  assert.equal(answer.profile, 'RTP/SAVP');
  assert.equal(answer.suites.length, 1, 'one a=crypto in the answer');
  const suite = answer.suites[0]!;
  assert.ok(offer.suites.includes(suite), 'we answered with a suite baresip offered');
  assert.ok(report.calls.some((e) => e.type === 'CALL_MENC' && e.param?.endsWith(`,${suite}`)), 'baresip runs SRTP with that suite');

  // Server side: the call came over TLS, and every key arrived exactly once — the tones only exist
  // in baresip's audio after our SRTP decryption, the events only after our auth check.
  assert.equal(only(report.server, 'call.start').transport, 'tls');
  assert.deepEqual(report.keysSent, [true]);
  assertKeysOnceAndCompleted(report.server, entries.map((entry) => entry.keys));

  // baresip side: it decrypted our stream. Our goodbye (G.711 of the prompt WAV) is in its decoded
  // dump sample for sample; it lost none of our packets (libsrtp drops a packet whose tag fails);
  // it accepted our SRTCP reports; it logged no SRTP trouble.
  assert.ok(report.goodbyeSamples > 8000);
  assert.ok(report.goodbyeHeard / report.goodbyeSamples > 0.95, `goodbye heard: ${report.goodbyeHeard}/${report.goodbyeSamples}`);
  assert.equal(report.lostByBaresip, 0, 'RTCP summary: packets of ours baresip lost');
  assert.ok(report.calls.some((e) => e.type === 'CALL_RTCP'), 'baresip received our SRTCP');
  assert.deepEqual(report.srtpComplaints, []);
  // The server's drop counters: nothing of baresip's failed SRTP/SRTCP authentication or replay
  // checks. libre also sends plaintext RTCP (PING/PONG, BYE) beside its SRTCP, too short to be
  // SRTCP: refused and counted, which shows the counter is fed from the call.
  for (const reason of ['srtp-auth', 'srtp-replay', 'srtp-other', 'srtcp-auth', 'srtcp-replay', 'address', 'malformed']) {
    assert.equal(report.rtpDrops[reason], 0, `${reason} drops`);
  }
  assert.ok((report.rtpDrops['rtcp-malformed'] ?? 0) >= 1, 'plaintext RTCP refused');
  // Our BYE (sent over TLS) ended the call; the server then stopped cleanly.
  assert.deepEqual(report.calls.filter((e) => e.type === 'CALL_CLOSED').map((e) => e.param), ['Connection reset by peer']);
  assert.equal(report.serverExit, 0, report.serverStderr);
});

test('a plain RTP/AVP offer over TLS is refused with 488: SRTP is required for TLS calls by default', { skip, timeout: 60_000 }, async () => {
  const report = await baresip({ transport: 'tls', mediaenc: null, entries: [] });
  assert.equal(report.baresipExit, 0, JSON.stringify(report));
  assert.deepEqual(report.offer, { profile: 'RTP/AVP', suites: [], telephoneEvent: '101' });
  assert.equal(report.finalResponse, '488 Not Acceptable Here');
  assert.equal(report.answer, null, 'no SDP answer');
  assert.deepEqual(report.calls.filter((e) => e.type.startsWith('CALL_') && e.type !== 'CALL_LOCAL_SDP'), [{ type: 'CALL_CLOSED', param: '488 Not Acceptable Here' }]);

  const reject = only(report.server, 'sip.reject');
  assert.deepEqual([reject.method, reject.status, reject.reason, reject.transport], ['INVITE', 488, 'sdp-srtp-required', 'tls']);
  assert.equal(report.server.filter((e) => e.event === 'call.answer' || e.event === 'flow.step').length, 0, 'never answered, no flow');
  const record = only(report.server, 'cdr');
  assert.deepEqual([record.outcome, record.hangupCause, record.answerTime], ['rejected', 'media-rejected', null]);
  assert.equal(only(report.server, 'cell.wipe').verified, true);
  assert.equal(report.serverExit, 0, report.serverStderr);
});
