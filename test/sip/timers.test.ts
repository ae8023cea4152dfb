import { test } from 'node:test';
import assert from 'node:assert/strict';
import { timerValues, backoff, T1, T2, T4, TimerSlot } from '../../src/sip/timers.ts';
import { FakeScheduler } from './fake-scheduler.ts';

test('Table 4 values over UDP', () => {
  const t = timerValues(false);
  assert.deepEqual(
    [t.A, t.B, t.D, t.E, t.F, t.G, t.H, t.I, t.J, t.K, t.L, t.M],
    [500, 32000, 32000, 500, 32000, 500, 32000, 5000, 32000, 5000, 32000, 32000],
  );
  assert.deepEqual([T1, T2, T4], [500, 4000, 5000]);
});

test('reliable transports zero the retransmit and absorb timers but keep the timeouts', () => {
  const t = timerValues(true);
  assert.deepEqual([t.A, t.D, t.E, t.G, t.I, t.J, t.K], [0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([t.B, t.F, t.H], [32000, 32000, 32000]);
});

test('timers scale with a configured T1', () => {
  const t = timerValues(false, { T1: 100, T2: 4000, T4: 5000 });
  assert.equal(t.B, 6400);
  assert.equal(t.J, 6400);
});

test('backoff doubles and caps at T2 when asked', () => {
  const series: number[] = [];
  let interval = T1;
  for (let i = 0; i < 6; i++) {
    series.push(interval);
    interval = backoff(interval, T2);
  }
  assert.deepEqual(series, [500, 1000, 2000, 4000, 4000, 4000]);
  assert.equal(backoff(4000), 8000);
});

test('a timer slot replaces its previous run and stops idempotently', () => {
  const clock = new FakeScheduler();
  const slot = new TimerSlot(clock);
  const fired: number[] = [];
  slot.start(100, () => fired.push(1));
  slot.start(200, () => fired.push(2));
  clock.advance(150);
  assert.deepEqual(fired, []);
  clock.advance(50);
  assert.deepEqual(fired, [2]);
  assert.equal(slot.running, false);
  slot.stop();
  slot.stop();
  assert.equal(clock.armed, 0);
});
