import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReadinessInputs } from '../../src/observe/health.ts';
import { httpStatus, liveness, readiness } from '../../src/observe/health.ts';

const healthy: ReadinessInputs = {
  started: true,
  draining: false,
  cells: { free: 10, total: 10 },
  memlock: 'locked',
  backends: [{ name: 'city-db', kind: 'postgres', reachable: true, insecure: false }],
};

function check(inputs: ReadinessInputs, name: string) {
  return readiness(inputs).checks.find((c) => c.name === name);
}

test('a started, idle instance with locked memory and reachable backends is ready', () => {
  const report = readiness(healthy);
  assert.equal(report.status, 'pass');
  assert.equal(httpStatus(report), 200);
  assert.deepEqual(
    report.checks.map((c) => [c.name, c.status]),
    [
      ['started', 'pass'],
      ['draining', 'pass'],
      ['cells', 'pass'],
      ['memlock', 'pass'],
      ['backend:city-db', 'pass'],
    ],
  );
});

test('each readiness rule fails on its own input', () => {
  const failing: Array<[string, Partial<ReadinessInputs>]> = [
    ['started', { started: false }],
    ['draining', { draining: true }],
    ['cells', { cells: { free: 0, total: 10 } }],
    ['memlock', { memlock: 'unlocked' }],
    ['backend:city-db', { backends: [{ name: 'city-db', kind: 'postgres', reachable: false, insecure: false }] }],
  ];
  for (const [name, change] of failing) {
    const report = readiness({ ...healthy, ...change });
    assert.equal(report.status, 'fail', name);
    assert.equal(httpStatus(report), 503, name);
    assert.deepEqual(
      report.checks.filter((c) => c.status !== 'pass').map((c) => c.name),
      [name],
    );
  }
});

test('failing checks carry a hint an operator can act on', () => {
  assert.match(check({ ...healthy, memlock: 'unsupported' }, 'memlock')?.hint ?? '', /RLIMIT_MEMLOCK/);
  assert.match(check({ ...healthy, cells: { free: 0, total: 10 } }, 'cells')?.hint ?? '', /all 10 cells busy/);
});

test('HTTPS backends and the payment gateway are checked like the database: down fails, not yet known warns', () => {
  const backends: ReadinessInputs['backends'] = [
    { name: 'city-db', kind: 'postgres', reachable: true, insecure: false },
    { name: 'dmv', kind: 'https', reachable: null, insecure: false },
    { name: 'gateway', kind: 'payment', reachable: true, insecure: false },
  ];
  const fresh = readiness({ ...healthy, backends });
  assert.deepEqual(
    fresh.checks.slice(4).map((c) => [c.name, c.status, c.observed]),
    [
      ['backend:city-db', 'pass', true],
      ['backend:dmv', 'warn', 'unknown'],
      ['payment:gateway', 'pass', true],
    ],
  );
  assert.equal(fresh.status, 'warn', 'not knowing yet still serves');
  assert.equal(httpStatus(fresh), 200);
  assert.match(fresh.checks[5]?.hint ?? '', /not known yet/);

  for (const [index, kind] of [[1, 'https'], [2, 'payment']] as const) {
    const down = backends.map((backend, i) => (i === index ? { ...backend, reachable: false } : backend));
    const report = readiness({ ...healthy, backends: down });
    assert.equal(httpStatus(report), 503, kind);
    const failed = report.checks.filter((c) => c.status === 'fail');
    assert.equal(failed.length, 1, kind);
    assert.equal(failed[0]?.observed, false);
    assert.match(failed[0]?.hint ?? '', kind === 'payment' ? /payment gateway unreachable/ : /backend unreachable/);
  }
});

test('a backend in insecure development mode adds a warning of its own, with what to do', () => {
  const report = readiness({ ...healthy, backends: [{ name: 'city-db', kind: 'postgres', reachable: true, insecure: true }] });
  assert.equal(report.status, 'warn');
  assert.equal(httpStatus(report), 200, 'it still serves: the flag is a development choice');
  const insecure = report.checks.find((c) => c.name === 'backend:city-db:insecure');
  assert.equal(insecure?.status, 'warn');
  assert.equal(insecure?.observed, true);
  assert.match(insecure?.hint ?? '', /insecureDevelopment: plaintext, unverified/);
  assert.equal(report.checks.find((c) => c.name === 'backend:city-db')?.status, 'pass', 'reachability is its own check');
  assert.equal(readiness(healthy).checks.some((c) => c.name.endsWith(':insecure')), false, 'no insecure check for a TLS backend');
});

test('a relaxed memory-lock policy only warns, and a warning still serves', () => {
  const relaxed = readiness({ ...healthy, memlock: 'unlocked' }, { requireMemoryLock: false });
  assert.equal(relaxed.status, 'warn');
});

test('liveness depends only on the event loop, with a configurable limit', () => {
  assert.equal(liveness({ eventLoopDelayMaxMs: 12 }).status, 'pass');
  assert.equal(liveness({ eventLoopDelayMaxMs: 6000 }).status, 'fail');
  assert.equal(liveness({ eventLoopDelayMaxMs: 6000 }, { maxEventLoopDelayMs: 10_000 }).status, 'pass');
  assert.equal(liveness({ eventLoopDelayMaxMs: Number.NaN }).status, 'fail');
  assert.equal(httpStatus(liveness({ eventLoopDelayMaxMs: 6000 })), 503);
});
