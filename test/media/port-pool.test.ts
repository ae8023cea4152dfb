import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PortPool, type PortLease } from '../../src/media/port-pool.ts';

function take(pool: PortPool): PortLease {
  const result = pool.acquire();
  assert.ok(result.ok);
  return result.lease;
}

test('hands out even RTP ports with RTCP on the odd port above', () => {
  const pool = new PortPool({ min: 20000, max: 20009 }, { firstPair: 0 });
  assert.equal(pool.capacity, 5);
  const ports = [take(pool), take(pool), take(pool), take(pool), take(pool)].map((lease) => [lease.rtpPort, lease.rtcpPort]);
  assert.deepEqual(ports, [[20000, 20001], [20002, 20003], [20004, 20005], [20006, 20007], [20008, 20009]]);
});

test('exhaustion is a coded 503 error, and a released pair becomes available again', () => {
  const pool = new PortPool({ min: 20000, max: 20003 }, { firstPair: 0 });
  const a = take(pool);
  take(pool);
  assert.deepEqual(pool.acquire(), { ok: false, error: { code: 'media-ports-exhausted', status: 503 } });
  a.release();
  assert.equal(take(pool).rtpPort, 20000);
});

test('released ports are reused first-in first-out, and a double release does not duplicate a port', () => {
  const pool = new PortPool({ min: 30000, max: 30007 }, { firstPair: 0 });
  const leases = [take(pool), take(pool), take(pool), take(pool)];
  leases[2]!.release();
  leases[0]!.release();
  leases[0]!.release();
  assert.equal(pool.available, 2);
  assert.equal(take(pool).rtpPort, 30004);
  assert.equal(take(pool).rtpPort, 30000);
  assert.equal(pool.acquire().ok, false);
});

test('the first pair can be anywhere in the range; the order then wraps round so every pair is used once', () => {
  const pool = new PortPool({ min: 20000, max: 20009 }, { firstPair: 3 });
  const ports = [take(pool), take(pool), take(pool), take(pool), take(pool)].map((lease) => lease.rtpPort);
  assert.deepEqual(ports, [20006, 20008, 20000, 20002, 20004]);
  assert.equal(pool.acquire().ok, false);
  assert.throws(() => new PortPool({ min: 20000, max: 20009 }, { firstPair: 5 }), /firstPair must be 0-4/);
});

test('by default servers sharing a range start at different pairs, not all at its bottom', () => {
  // Ten pools over the default 5,000-pair range: all ten starting at the same pair would be a
  // one-in-5,000^9 event, so this fails only when the start is not random.
  const firsts = new Set(Array.from({ length: 10 }, () => take(new PortPool({ min: 20000, max: 29999 })).rtpPort));
  assert.ok(firsts.size > 1, 'every pool started at the same pair');
  for (const port of firsts) assert.ok(port >= 20000 && port <= 29998 && port % 2 === 0);
});

test('a range the configuration got wrong fails at construction with the reason', () => {
  assert.throws(() => new PortPool({ min: 20001, max: 20010 }), /min must be even/);
  assert.throws(() => new PortPool({ min: 20000, max: 20000 }), /at least one/);
  assert.throws(() => new PortPool({ min: 80, max: 100 }), /1024-65535/);
  assert.throws(() => new PortPool({ min: 20000.5, max: 20010 }), /integers/);
});
