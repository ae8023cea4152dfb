// A fake clock for SIP timers: tests advance time explicitly and never sleep.
import type { Scheduler, TimerHandle } from '../../src/sip/timers.ts';

interface Pending {
  readonly handle: TimerHandle;
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
}

export class FakeScheduler implements Scheduler {
  private time = 0;
  private seq = 0;
  private pending: Pending[] = [];

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const handle = { __timer: true } as TimerHandle;
    this.pending.push({ handle, at: this.time + Math.max(0, ms), seq: this.seq++, fn });
    return handle;
  }

  clear(handle: TimerHandle | undefined): void {
    this.pending = this.pending.filter((entry) => entry.handle !== handle);
  }

  now(): number {
    return this.time;
  }

  /** Number of armed timers (for bounded-state assertions). */
  get armed(): number {
    return this.pending.length;
  }

  /** Advance the clock by `ms`, firing every timer due on the way, in time order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const next = this.nextDue(end);
      if (next === undefined) break;
      this.pending = this.pending.filter((entry) => entry !== next);
      this.time = next.at;
      next.fn();
    }
    this.time = end;
  }

  /** Run until no timer is left (bounded, so a timer that re-arms forever fails the test). */
  runAll(limit = 10_000): void {
    for (let i = 0; i < limit; i++) {
      const next = this.nextDue(Number.POSITIVE_INFINITY);
      if (next === undefined) return;
      this.advance(next.at - this.time);
    }
    throw new Error('timers still armed after runAll limit');
  }

  private nextDue(end: number): Pending | undefined {
    let best: Pending | undefined;
    for (const entry of this.pending) {
      if (entry.at > end) continue;
      if (best === undefined || entry.at < best.at || (entry.at === best.at && entry.seq < best.seq)) best = entry;
    }
    return best;
  }
}
