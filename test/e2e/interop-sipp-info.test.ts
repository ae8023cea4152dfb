// Interop (issue 4): sipp calls the real server (`traceless start`) over UDP and keys by SIP INFO
// — `application/dtmf-relay` (Signal=/Duration=) and `application/dtmf` bodies — and, in the
// second call, sends some keys by INFO and RFC 4733 (sipp's play_dtmf) at once, as SBCs that
// relay both do. The flow's outcome, read from the server's own lines, proves each key arrived
// exactly once. Runs in a loopback-only network namespace (sipp binds a wildcard control socket).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loopbackNamespaceSkip, runInLoopbackNamespace } from '../support/loopback-namespace.ts';
import type { SippRun, SippRunReport } from './interop-sipp-harness.ts';
import { assertKeysOnceAndCompleted, only } from './interop-outcome.ts';

const skip = loopbackNamespaceSkip('sipp');
const harness = fileURLToPath(new URL('./interop-sipp-harness.ts', import.meta.url));
const RELAY = 'application/dtmf-relay';
const DTMF = 'application/dtmf';

async function sipp(run: SippRun): Promise<SippRunReport> {
  const report = await runInLoopbackNamespace<SippRunReport>(harness, [JSON.stringify(run)]);
  assert.equal(report.sippExit, 0, `sipp: ${report.sippStderr}\nserver: ${JSON.stringify(report.server)}`);
  assert.equal(only(report.server, 'call.start').transport, 'udp');
  assert.equal(report.serverExit, 0, report.serverStderr);
  return report;
}

test('sipp keys by SIP INFO (dtmf-relay and dtmf bodies, a key repeated): each key reaches the flow once; other bodies get 415, unreadable ones 400', { skip, timeout: 60_000 }, async () => {
  const report = await sipp({
    entries: ['15509#', '7*'],
    script: [
      { info: RELAY, key: '1' },
      { info: RELAY, key: '5' },
      { info: RELAY, key: '5' }, // a second press of 5 on the same path is a second key
      { info: DTMF, key: '0' },
      { info: 'text/plain', key: '3', expect: 415 }, // not a DTMF body: refused, and no key
      { info: RELAY, key: 'Q', expect: 400 }, // a DTMF body that does not parse: refused, and no key
      { info: DTMF, key: '9' },
      { info: RELAY, key: '#' },
      { info: DTMF, key: '7' },
      { info: DTMF, key: '*' },
    ],
  });
  assertKeysOnceAndCompleted(report.server, ['15509#', '7*']);
});

// sipp's play_dtmf sends ~0.4 s of filler packets and ~0.4 s of nothing before a key's first
// event, so the INFO twin goes 0.8 s after the play_dtmf action: both reach the server together.
// One play_dtmf key takes ~1 s in all; the other pauses leave ~0.3 s between one ending and the next starting.
test('sipp sends 2 and # by INFO and RFC 4733 at once (4 by RFC 4733 alone): each counts once, even the terminator', { skip, timeout: 60_000 }, async () => {
  const report = await sipp({
    entries: ['1234#'],
    script: [
      { info: RELAY, key: '1' },
      { rfc4733: '2' },
      { pauseMs: 800 },
      { info: RELAY, key: '2' },
      { info: DTMF, key: '3' },
      { pauseMs: 500 },
      { rfc4733: '4' },
      { pauseMs: 1300 },
      { rfc4733: '#' },
      { pauseMs: 800 },
      // A second # here would end up in the flow's quiet window (keys-extra) if it were not absorbed.
      { info: RELAY, key: '#' },
    ],
  });
  assertKeysOnceAndCompleted(report.server, ['1234#']);
});
