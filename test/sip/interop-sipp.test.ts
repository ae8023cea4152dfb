// Interop with sipp (Debian sip-tester) as the UAC, against the small UAS in test-uas.ts:
// basic call, CANCEL, re-INVITE, BYE from either side over UDP, TCP and TLS, and
// retransmissions under 10 % loss. sipp binds a control socket on the wildcard address, so it
// runs with its harness in a loopback-only network namespace (loopback-namespace.ts).
// Debian's sipp is built without OpenSSL (no -t l1): for TLS it speaks TCP into a test relay
// (tls-relay.ts) that carries each connection to our TLS listener; its Via says TCP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { loopbackNamespaceSkip, runInLoopbackNamespace } from '../support/loopback-namespace.ts';
import type { UasReport } from './test-uas.ts';

const skip = loopbackNamespaceSkip('sipp');
const skipTls = loopbackNamespaceSkip('sipp', 'openssl');
const harness = resolve(import.meta.dirname, 'sipp-harness.ts');

type Result = UasReport & { code: number; stderr: string };

async function sipp(transport: 'u1' | 't1' | 'tls', scenario: string, service: string, extra: string[] = []): Promise<Result> {
  const result = await runInLoopbackNamespace<Result>(harness, [transport, scenario, service, ...extra]);
  assert.equal(result.code, 0, `sipp ${scenario} exited ${result.code}: ${result.stderr}`);
  return result;
}

for (const transport of ['u1', 't1', 'tls'] as const) {
  const name = { u1: 'UDP', t1: 'TCP', tls: 'TLS (through the TCP→TLS relay)' }[transport];
  const kind = ({ u1: 'udp', t1: 'tcp', tls: 'tls' } as const)[transport];
  const options = { skip: transport === 'tls' ? skipTls : skip, timeout: 60_000 };

  test(`sipp over ${name}: basic call, BYE from the caller`, options, async () => {
    const result = await sipp(transport, 'uac-basic.xml', '5551000');
    assert.deepEqual(result.calls.map(({ dialled, transport: t, offer }) => ({ dialled, t, offer })), [{ dialled: '5551000', t: kind, offer: true }]);
    assert.deepEqual(result.ended, ['remote-bye']);
  });

  test(`sipp over ${name}: CANCEL before the answer → 200 + 487`, options, async () => {
    const result = await sipp(transport, 'uac-cancel.xml', 'ring');
    assert.deepEqual(result.calls.map((call) => call.transport), [kind]);
    assert.deepEqual(result.ended, ['cancel']);
  });

  test(`sipp over ${name}: re-INVITE answered by the app, then BYE`, options, async () => {
    const result = await sipp(transport, 'uac-reinvite.xml', '5551000');
    assert.deepEqual(result.calls.map((call) => call.transport), [kind]);
    assert.equal(result.reinvites, 1);
    assert.deepEqual(result.ended, ['remote-bye']);
  });

  test(`sipp over ${name}: the UAS hangs up (BYE from our side) after an INFO`, options, async () => {
    const result = await sipp(transport, 'uac-remote-bye.xml', 'hangup');
    assert.deepEqual(result.calls.map((call) => call.transport), [kind]);
    assert.deepEqual(result.infos, ['application/dtmf-relay 24']);
    assert.deepEqual(result.ended, ['local-bye']);
  });
}

test('sipp over UDP with 10% packet loss: retransmissions on both sides complete every call', { skip, timeout: 120_000 }, async () => {
  const result = await sipp('u1', 'uac-basic.xml', '5551000', ['-lost', '10', '-m', '20', '-r', '20', '-l', '20']);
  assert.equal(new Set(result.calls.map((call) => call.callId)).size, 20);
  assert.equal(result.ended.length, 20);
  assert.ok(result.ended.every((cause) => cause === 'remote-bye'));
});
