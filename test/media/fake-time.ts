// A hand-driven TimeSource: time moves only when the test says so, timers fire in deadline order.
import type { TimeSource } from '../../src/media/media-clock.ts';

interface Timer {
  id: number;
  at: number;
  callback: () => void;
}

export class FakeTime implements TimeSource {
  current = 1000;
  private timers: Timer[] = [];
  private nextId = 1;

  now(): number {
    return this.current;
  }

  schedule(callback: () => void, delayMs: number): unknown {
    const timer = { id: this.nextId++, at: this.current + delayMs, callback };
    this.timers.push(timer);
    return timer.id;
  }

  cancel(handle: unknown): void {
    this.timers = this.timers.filter((timer) => timer.id !== handle);
  }

  get pending(): number {
    return this.timers.length;
  }

  /** The earliest pending deadline, or null. */
  nextDeadline(): number | null {
    return this.timers.reduce<number | null>((min, timer) => (min === null || timer.at < min ? timer.at : min), null);
  }

  /** Moves time to `at` (never backwards) and fires the earliest timer if it is due. */
  fireNextAt(at: number): boolean {
    const deadline = this.nextDeadline();
    if (deadline === null) return false;
    this.current = Math.max(this.current, at);
    const due = this.timers.filter((timer) => timer.at <= this.current).sort((a, b) => a.at - b.at)[0];
    if (!due) return false;
    this.timers = this.timers.filter((timer) => timer !== due);
    due.callback();
    return true;
  }

  /** Advances time by `ms`, firing every timer that falls due on the way, at its own deadline. */
  advance(ms: number): void {
    const end = this.current + ms;
    for (;;) {
      const deadline = this.nextDeadline();
      if (deadline === null || deadline > end) break;
      this.fireNextAt(deadline);
    }
    this.current = end;
  }
}

/** Deterministic PRNG for jitter (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
