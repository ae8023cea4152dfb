// Interop with baresip (Debian) calling in over UDP, TCP and TLS and hanging up, against the
// small UAS in test-uas.ts. baresip 1.0 cannot be told to bind RTP and DNS to loopback, so the
// harness (baresip-harness.ts) runs in a loopback-only network namespace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { loopbackNamespaceSkip, runInLoopbackNamespace } from '../support/loopback-namespace.ts';
import type { UasReport } from './test-uas.ts';

const skip = loopbackNamespaceSkip('baresip', 'openssl');
const harness = resolve(import.meta.dirname, 'baresip-harness.ts');

for (const transport of ['udp', 'tcp', 'tls'] as const) {
  test(`baresip calls in over ${transport.toUpperCase()}, the call is answered and baresip hangs up`, { skip, timeout: 60_000 }, async () => {
    const result = await runInLoopbackNamespace<UasReport & { code: number; established: boolean }>(harness, [transport]);
    assert.equal(result.code, 0);
    assert.equal(result.established, true);
    assert.deepEqual(result.calls.map(({ dialled, transport: t, offer }) => ({ dialled, t, offer })), [{ dialled: '5551000', t: transport, offer: true }]);
    assert.deepEqual(result.ended, ['remote-bye']);
  });
}
