import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CellPool, RELEASE_REASONS } from '../../src/vault/index.ts';
import type { Cell, ReleaseReport, Secret } from '../../src/vault/index.ts';
import { CellReleasedError, CrossCellError, SecretWipedError } from '../../src/vault/errors.ts';

function gather(cell: Cell, keys: number[]): Secret {
  const builder = cell.secretBuilder({ kind: 'pan', maxLength: 19 });
  for (const key of keys) builder.pushKey(key);
  return builder.finish();
}
const CARD = [4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1];

function recordingLogger() {
  const lines: string[] = [];
  const log = (obj: object, msg: string) => lines.push(JSON.stringify({ ...obj, msg }));
  return { lines, logger: { warn: log, error: log } };
}

test('the pool hands out each cell once and answers null when all are busy', () => {
  const pool = new CellPool({ cells: 2 });
  const exhausted: number[] = [];
  pool.on('exhausted', ({ cells }) => exhausted.push(cells));
  const a = pool.acquire();
  const b = pool.acquire();
  assert.ok(a && b);
  assert.notEqual(a.id, b.id);
  assert.equal(pool.acquire(), null);
  assert.deepEqual(exhausted, [2]);
  assert.equal(pool.stats.exhausted, 1);
  assert.equal(pool.stats.active, 2);
  a.release('completed');
  const c = pool.acquire();
  assert.ok(c);
  assert.equal(c.id, a.id);
  assert.equal(c.generation, a.generation + 1);
});

test('a cell goes back to the pool only after its wipe has been read back', () => {
  let pool: CellPool;
  const duringWipe: Array<Cell | null> = [];
  pool = new CellPool({ cells: 1, testHooks: { afterZero: () => duringWipe.push(pool.acquire()) } });
  const cell = pool.acquire()!;
  gather(cell, CARD);
  cell.release('completed');
  assert.deepEqual(duringWipe, [null]);
  assert.ok(pool.acquire());
});

test('every release reason zeroes the arena with a verified read-back', () => {
  const afterZero: Buffer[] = [];
  const pool = new CellPool({ cells: 1, slotSize: 32, slotsPerCell: 4, testHooks: { afterZero: (m) => afterZero.push(Buffer.from(m)) } });
  for (const reason of RELEASE_REASONS) {
    const cell = pool.acquire()!;
    const secret = gather(cell, CARD);
    const backend = Buffer.from('98765432', 'latin1');
    cell.importSecret('account', backend);
    const before = pool.stats.cellsWiped;
    const report = cell.release(reason)!;
    assert.equal(report.reason, reason);
    assert.deepEqual(report.wipe, { bytes: 128, verified: true });
    assert.equal(report.quarantined, false);
    assert.equal(pool.stats.cellsWiped, before + 1);
    assert.deepEqual(afterZero.pop(), Buffer.alloc(128));
    assert.throws(() => secret.length(), SecretWipedError);
  }
  assert.equal(pool.stats.secretBytesWiped, 128 * RELEASE_REASONS.length);
});

test('release runs the close cascade last-attached first, past a throwing resource, once', () => {
  const { lines, logger } = recordingLogger();
  const pool = new CellPool({ cells: 1, logger });
  const cell = pool.acquire()!;
  const closed: string[] = [];
  cell.attach({ close: () => closed.push('rtp') });
  cell.attach({
    close: () => {
      closed.push('backend');
      throw new Error('backend close failed for 4111111111111111');
    },
  });
  cell.attach({ close: () => closed.push('flow') });
  cell.values.set('amountDue', 6500);
  const values = cell.values;
  const report = cell.release('failed')!;
  assert.deepEqual(closed, ['flow', 'backend', 'rtp']);
  assert.equal(report.closeErrors, 1);
  assert.equal(values.size, 0);
  assert.equal(pool.stats.closeErrors, 1);
  assert.equal(lines.length, 1);
  assert.ok(!lines[0]!.includes('4111'), 'a resource error message never reaches the log');
  assert.equal(cell.release('failed'), null);
  assert.deepEqual(closed, ['flow', 'backend', 'rtp']);
});

test('a resource that releases its own cell during the cascade does not release twice', () => {
  const pool = new CellPool({ cells: 1 });
  const cell = pool.acquire()!;
  const inner: Array<ReleaseReport | null> = [];
  cell.attach({ close: () => inner.push(cell.release('failed')) });
  const report = cell.release('completed');
  assert.deepEqual(inner, [null]);
  assert.equal(report?.reason, 'completed');
  assert.equal(pool.stats.free, 1);
});

test('a released handle reaches nothing, even after its cell serves the next call', () => {
  const pool = new CellPool({ cells: 1 });
  const first = pool.acquire()!;
  const old = gather(first, CARD);
  first.release('completed');
  const second = pool.acquire()!;
  assert.equal(second.id, first.id);
  const fresh = gather(second, CARD);
  assert.throws(() => old.luhnValid(), SecretWipedError);
  assert.throws(() => old.equals(fresh), SecretWipedError);
  assert.throws(() => fresh.equals(old), SecretWipedError);
  assert.equal(second.owns(old), false);
  assert.throws(() => second.assertOwns(old), SecretWipedError);
  assert.throws(() => first.attach({ close() {} }), CellReleasedError);
  assert.throws(() => first.secretBuilder({ kind: 'pin', maxLength: 4 }), CellReleasedError);
  assert.throws(() => first.importSecret('pin', Buffer.alloc(4)), CellReleasedError);
  assert.throws(() => first.values, CellReleasedError);
  assert.equal(fresh.luhnValid(), true);
});

test('one call cannot use another call\'s secrets', () => {
  const pool = new CellPool({ cells: 2 });
  const a = pool.acquire()!;
  const b = pool.acquire()!;
  const mine = gather(a, CARD);
  const theirs = gather(b, CARD);
  assert.equal(a.owns(mine), true);
  assert.equal(a.owns(theirs), false);
  assert.throws(() => a.assertOwns(theirs), CrossCellError);
  assert.throws(() => mine.equals(theirs), CrossCellError);
  a.assertOwns(mine);
});

test('a read-back that fails once is retried; twice quarantines the cell for good', () => {
  let corruptions = 1;
  const pool = new CellPool({
    cells: 1,
    testHooks: {
      afterZero: (memory) => {
        if (corruptions > 0) {
          corruptions -= 1;
          memory[3] = 0x34;
        }
      },
    },
  });
  const first = pool.acquire()!;
  gather(first, CARD);
  const retried = first.release('completed')!;
  assert.equal(retried.wipe.verified, true);
  assert.equal(retried.quarantined, false);
  assert.equal(pool.stats.wipeFailures, 1);

  corruptions = 2;
  const quarantined: number[] = [];
  pool.on('quarantined', ({ cellId }) => quarantined.push(cellId));
  const second = pool.acquire()!;
  const report = second.release('abandoned')!;
  assert.equal(report.wipe.verified, false);
  assert.equal(report.quarantined, true);
  assert.deepEqual(quarantined, [second.id]);
  assert.equal(pool.acquire(), null, 'a cell that did not read back as zero serves no call');
  assert.equal(pool.stats.cellsQuarantined, 1);
});

test('shutdown ends every call, closes its resources, wipes every cell and refuses new calls', () => {
  const zeroed: Buffer[] = [];
  const pool = new CellPool({ cells: 4, slotsPerCell: 2, testHooks: { afterZero: (m) => zeroed.push(Buffer.from(m)) } });
  const closed: number[] = [];
  const secrets: Secret[] = [];
  const released: string[] = [];
  pool.on('released', (r) => released.push(r.reason));
  for (let i = 0; i < 3; i++) {
    const cell = pool.acquire()!;
    cell.attach({ close: () => closed.push(i) });
    secrets.push(gather(cell, CARD));
  }
  const report = pool.shutdown();
  assert.deepEqual(report, { callsEnded: 3, cellsWiped: 4, verified: true });
  assert.deepEqual(closed.sort(), [0, 1, 2]);
  assert.deepEqual(released, ['shutdown', 'shutdown', 'shutdown']);
  assert.ok(zeroed.every((m) => m.every((b) => b === 0)));
  for (const secret of secrets) assert.throws(() => secret.length(), SecretWipedError);
  assert.equal(pool.acquire(), null);
  assert.equal(pool.shutdown(), report);
});

test('a throwing event listener does not stop the release', () => {
  const { lines, logger } = recordingLogger();
  const pool = new CellPool({ cells: 1, logger });
  pool.on('released', () => {
    throw new TypeError('listener bug');
  });
  const cell = pool.acquire()!;
  cell.on('released', () => {
    throw new TypeError('listener bug');
  });
  assert.equal(cell.release('completed')?.wipe.verified, true);
  assert.equal(pool.stats.free, 1);
  assert.equal(lines.length, 2);
});

test('stats expose wipe counters and a histogram whose buckets add up', () => {
  const pool = new CellPool({ cells: 2 });
  const seen: number[] = [];
  pool.on('released', (r) => seen.push(r.wipeSeconds));
  for (let i = 0; i < 5; i++) pool.acquire()!.release('completed');
  const stats = pool.stats;
  assert.equal(stats.cellsWiped, 5);
  assert.equal(stats.acquired, 5);
  assert.equal(stats.wipeDuration.count, 5);
  assert.equal(stats.wipeDuration.counts.reduce((a, b) => a + b, 0), 5);
  assert.equal(stats.wipeDuration.counts.length, stats.wipeDuration.boundsSeconds.length + 1);
  assert.ok(Math.abs(stats.wipeDuration.sumSeconds - seen.reduce((a, b) => a + b, 0)) < 1e-12);
  stats.cellsWiped = 99;
  assert.equal(pool.stats.cellsWiped, 5, 'stats is a copy');
});

test('the memory-lock report measures the pool\'s arenas and sizes the fix', () => {
  const pool = new CellPool({ cells: 3, slotSize: 32, slotsPerCell: 16 });
  const report = pool.memoryLock('Max locked memory         65536                65536                bytes\n');
  assert.equal(report.requiredBytes, 3 * 4096);
  assert.equal(report.limitBytes, 65536);
  // sodium locks or not depending on the host; the report must say which, consistently.
  assert.equal(report.state === 'locked', report.remedy === null);
});

test('shutdown called from inside a release cascade still retires the pool', () => {
  const pool = new CellPool({ cells: 2 });
  const cell = pool.acquire()!;
  let inner: ReturnType<CellPool['shutdown']> | null = null;
  cell.attach({ close: () => (inner = pool.shutdown()) });
  const report = cell.release('completed');
  assert.equal(report?.wipe.verified, true);
  assert.deepEqual(inner, { callsEnded: 0, cellsWiped: 1, verified: true });
  assert.equal(pool.acquire(), null);
});
