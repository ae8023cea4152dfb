import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startAdminHttp, type AdminHttpOptions } from '../../src/server/admin-http.ts';
import type { HealthReport } from '../../src/observe/health.ts';

const passing: HealthReport = { status: 'pass', checks: [{ name: 'started', status: 'pass' }] };
const failing: HealthReport = { status: 'fail', checks: [{ name: 'draining', status: 'fail', observed: true }] };

async function withAdmin(overrides: Partial<AdminHttpOptions>, run: (base: string) => Promise<void>): Promise<void> {
  const admin = await startAdminHttp({
    address: '127.0.0.1',
    port: 0,
    metrics: async () => ({ contentType: 'text/plain; version=0.0.4', body: 'traceless_active_calls 3\n' }),
    liveness: () => passing,
    readiness: () => passing,
    ...overrides,
  });
  try {
    await run(`http://127.0.0.1:${admin.port}`);
  } finally {
    await admin.close();
    await admin.close();
  }
}

test('/metrics serves the exposition text with its content type', async () => {
  await withAdmin({}, async (base) => {
    const response = await fetch(`${base}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(await response.text(), 'traceless_active_calls 3\n');
  });
});

test('health endpoints answer 200 when passing and 503 when failing, with the checks', async () => {
  await withAdmin({ readiness: () => failing }, async (base) => {
    const live = await fetch(`${base}/health/live`);
    assert.equal(live.status, 200);
    assert.deepEqual(await live.json(), passing);
    const ready = await fetch(`${base}/health/ready`);
    assert.equal(ready.status, 503);
    assert.deepEqual(await ready.json(), failing);
  });
});

test('with a token every endpoint needs the bearer token (TRACELESS_ADMIN_UNAUTHORIZED)', async () => {
  await withAdmin({ token: Buffer.from('s3cret-admin-token') }, async (base) => {
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: 's3cret-admin-token' }] as Array<Record<string, string>>) {
      const response = await fetch(`${base}/metrics`, { headers });
      assert.equal(response.status, 401);
      assert.equal(response.headers.get('www-authenticate'), 'Bearer');
      assert.equal((await response.json()).code, 'TRACELESS_ADMIN_UNAUTHORIZED');
    }
    const ok = await fetch(`${base}/health/live`, { headers: { authorization: 'Bearer s3cret-admin-token' } });
    assert.equal(ok.status, 200);
  });
});

test('unknown paths get the coded 404 (TRACELESS_ADMIN_NOT_FOUND)', async () => {
  await withAdmin({}, async (base) => {
    const response = await fetch(`${base}/debug/pprof`);
    assert.equal(response.status, 404);
    assert.equal((await response.json()).code, 'TRACELESS_ADMIN_NOT_FOUND');
  });
});
