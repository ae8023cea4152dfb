import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReadinessInputs } from '../../src/observe/health.ts';
import { httpStatus, liveness, readiness } from '../../src/observe/health.ts';

const healthy: ReadinessInputs = {
  started: true,
  draining: false,
  cells: { free: 10, total: 10 },
  memlock: 'locked',
  backends: [{ name: 'city-db', reachable: true }],
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
    ['backend:city-db', { backends: [{ name: 'city-db', reachable: false }] }],
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

test('an optional backend or a relaxed memory-lock policy only warns, and a warning still serves', () => {
  const optionalDown = readiness({ ...healthy, backends: [{ name: 'crm', reachable: false, required: false }] });
  assert.equal(optionalDown.status, 'warn');
  assert.equal(httpStatus(optionalDown), 200);
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
