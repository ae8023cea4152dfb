import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MediaClock, type ClockStream } from '../../src/media/media-clock.ts';
import { FakeTime, seededRandom } from './fake-time.ts';

class Recorder implements ClockStream {
  slots: number[] = [];
  tick(slot: number): void {
    this.slots.push(slot);
  }
}

test('on-time wake-ups run each slot exactly once, 50 per simulated second, zero lateness', () => {
  const time = new FakeTime();
  const clock = new MediaClock({ timeSource: time });
  const stream = new Recorder();
  clock.add(stream);
  time.advance(10_000);
  assert.equal(stream.slots.length, 500);
  assert.deepEqual(stream.slots.slice(0, 3), [1, 2, 3]);
  assert.ok(stream.slots.every((slot, i) => slot === i + 1));
  const { lateness, slotsSkipped } = clock.stats;
  assert.equal(slotsSkipped, 0);
  assert.equal(lateness.max, 0);
  clock.close();
});

test('10,000 ticks with jittered wake-ups: one slot per 20 ms per stream, no drift, no gaps', () => {
  const time = new FakeTime();
  const clock = new MediaClock({ timeSource: time });
  const streams = [new Recorder(), new Recorder(), new Recorder()];
  for (const stream of streams) clock.add(stream);
  const start = time.now();
  const random = seededRandom(7);
  let fired = 0;
  while (streams[0]!.slots.length < 10_000) {
    const deadline = time.nextDeadline()!;
    // timers fire 0-15 ms late, sometimes 45 ms late (two slots behind: caught up, not skipped)
    const jitter = random() < 0.02 ? 45 : random() * 15;
    time.fireNextAt(deadline + jitter);
    fired++;
  }
  const elapsedSlots = Math.floor((time.now() - start) / 20);
  for (const stream of streams) {
    assert.ok(stream.slots.every((slot, i) => slot === i + 1), 'consecutive slots');
  }
  // exactly one slot per 20 ms elapsed: counts track time, not the number of wake-ups
  assert.equal(streams[0]!.slots.length, 10_000);
  assert.ok(elapsedSlots === 10_000, `elapsed ${elapsedSlots}`);
  assert.ok(fired < 10_000, 'late wake-ups ran more than one slot');
  const stats = clock.stats;
  assert.equal(stats.slotsSkipped, 0);
  assert.ok(stats.lateness.max >= 45 && stats.lateness.max < 60);
  assert.ok(stats.lateness.p50 > 0 && stats.lateness.p50 < 15);
  assert.ok(stats.lateness.p99 >= stats.lateness.p50);
  clock.close();
});

test('a long stall runs at most maxCatchUp slots and counts the skipped ones', () => {
  const time = new FakeTime();
  const clock = new MediaClock({ timeSource: time, maxCatchUp: 3 });
  const stream = new Recorder();
  clock.add(stream);
  time.fireNextAt(time.nextDeadline()! + 200); // 10 slots late: slots 1..11 due
  assert.deepEqual(stream.slots, [9, 10, 11]);
  assert.equal(clock.stats.slotsSkipped, 8);
  time.advance(20 - ((time.now() - 1000) % 20)); // back on schedule
  assert.equal(stream.slots.at(-1), 12);
  clock.close();
});

test('the clock sleeps with no streams and keeps slot numbers monotonic when it wakes again', () => {
  const time = new FakeTime();
  const clock = new MediaClock({ timeSource: time });
  const first = new Recorder();
  clock.add(first);
  time.advance(100);
  clock.remove(first);
  assert.equal(time.pending, 0);
  time.advance(1000);
  const second = new Recorder();
  clock.add(second);
  time.advance(40);
  assert.deepEqual(first.slots, [1, 2, 3, 4, 5]);
  assert.deepEqual(second.slots, [56, 57]);
  clock.remove(second);
  clock.remove(second);
});

test('a throwing stream is reported and the others keep their slots', () => {
  const time = new FakeTime();
  const errors: unknown[] = [];
  const clock = new MediaClock({ timeSource: time, onStreamError: (error) => errors.push(error) });
  const good = new Recorder();
  clock.add({ tick: () => { throw new Error('boom'); } });
  clock.add(good);
  time.advance(60);
  assert.equal(good.slots.length, 3);
  assert.equal(errors.length, 3);
  assert.equal(clock.stats.streamErrors, 3);
  clock.close();
});

test('a stream removed during a tick gets no more slots; one added starts at the next slot', () => {
  const time = new FakeTime();
  const clock = new MediaClock({ timeSource: time });
  const late = new Recorder();
  const remover: ClockStream = {
    tick: (slot) => {
      if (slot === 2) {
        clock.remove(remover);
        clock.add(late);
      }
    },
  };
  const keeper = new Recorder();
  clock.add(remover);
  clock.add(keeper);
  time.advance(100);
  assert.deepEqual(keeper.slots, [1, 2, 3, 4, 5]);
  assert.deepEqual(late.slots, [3, 4, 5]);
  clock.close();
});

test('a stream removed by another during a slot is skipped in that slot; close() during a slot stops it', () => {
  const time = new FakeTime();
  const clock = new MediaClock({ timeSource: time });
  const victim = new Recorder();
  const remover: ClockStream = { tick: (slot) => slot === 2 && clock.remove(victim) };
  clock.add(remover);
  clock.add(victim);
  const after = new Recorder();
  clock.add(after);
  time.advance(60);
  assert.deepEqual(victim.slots, [1]);
  assert.deepEqual(after.slots, [1, 2, 3]);
  clock.remove(victim); // twice is safe
  const second = new MediaClock({ timeSource: time });
  const closer: ClockStream = { tick: () => second.close() };
  const skipped = new Recorder();
  second.add(closer);
  second.add(skipped);
  time.advance(20);
  assert.deepEqual(skipped.slots, []);
  clock.close();
});

test('onLateness hears each wake-up once, with how late it was', () => {
  const time = new FakeTime();
  const heard: number[] = [];
  const clock = new MediaClock({ timeSource: time, onLateness: (ms) => heard.push(ms) });
  clock.add(new Recorder());
  time.fireNextAt(time.nextDeadline()! + 7);
  time.fireNextAt(time.nextDeadline()!);
  assert.deepEqual(heard, [7, 0]);
  clock.close();
});
