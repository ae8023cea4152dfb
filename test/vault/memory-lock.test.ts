import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lockedBytesFor, memoryLockReport } from '../../src/vault/memory-lock.ts';
import { softLimit } from '../../src/vault/proc-limits.ts';

const LIMITS = [
  'Limit                     Soft Limit           Hard Limit           Units     ',
  'Max core file size        0                    unlimited            bytes     ',
  'Max locked memory         65536                8388608              bytes     ',
].join('\n');

test('soft limits are read from /proc/<pid>/limits text', () => {
  assert.equal(softLimit(LIMITS, 'Max locked memory'), 65536);
  assert.equal(softLimit(LIMITS, 'Max core file size'), 0);
  assert.equal(softLimit(LIMITS.replace('0       ', 'unlimited'), 'Max core file size'), Infinity);
  assert.equal(softLimit(LIMITS, 'Max open files'), null);
});

test('a pool needs one page per small arena, more for large ones', () => {
  assert.equal(lockedBytesFor(1000, 512), 1000 * 4096);
  assert.equal(lockedBytesFor(10, 4096), 10 * 8192);
});

test('unlocked arenas get a remedy with ulimit -l and LimitMEMLOCK sized for the pool', () => {
  const report = memoryLockReport({ arenasLocked: false, requiredBytes: 4096000, limitsText: LIMITS });
  assert.equal(report.state, 'unlocked');
  assert.equal(report.limitBytes, 65536);
  assert.match(report.remedy!, /ulimit -l 8000\b/);
  assert.match(report.remedy!, /LimitMEMLOCK=8000K/);
  const ok = memoryLockReport({ arenasLocked: true, requiredBytes: 4096000, limitsText: null });
  assert.deepEqual(ok, { state: 'locked', requiredBytes: 4096000, limitBytes: null, remedy: null });
});
