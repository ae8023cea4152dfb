// The one media clock: every call's RTP leaves on the same 20 ms tick (the promise: no per-call
// timers). Deadlines are absolute — origin + slot × 20 ms on a monotonic clock — and each wake-up
// is scheduled with setTimeout for the next deadline, so timer error never accumulates as drift.
// A late wake-up runs every missed slot (catch-up), but never more than maxCatchUp at once: beyond
// that the oldest slots are skipped, so a stalled event loop cannot make every call burst.

export const MEDIA_TICK_MS = 20;

/** Monotonic time and one-shot timers; injected so tests drive the clock without sleeping. */
export interface TimeSource {
  /** Monotonic milliseconds (fractional allowed). */
  now(): number;
  schedule(callback: () => void, delayMs: number): unknown;
  cancel(handle: unknown): void;
}

export const systemTimeSource: TimeSource = {
  now: () => performance.now(),
  schedule: (callback, delayMs) => setTimeout(callback, delayMs),
  cancel: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Anything that does work once per 20 ms slot (an RTP session). */
export interface ClockStream {
  /**
   * Called once per slot the clock runs, in increasing slot order. `slot` counts 20 ms periods
   * since the clock's origin, so a stream can derive RTP timestamps from it; a slot number skipped
   * means that 20 ms was dropped under overload.
   */
  tick(slot: number): void;
}

export interface LatenessStats {
  /** Wake-ups measured. */
  samples: number;
  p50: number;
  p99: number;
  max: number;
}

export interface MediaClockStats {
  slotsRun: number;
  slotsSkipped: number;
  streamErrors: number;
  /** How late each wake-up ran after its slot's deadline, in ms. */
  lateness: LatenessStats;
}

export interface MediaClockOptions {
  timeSource?: TimeSource;
  /** Slots run in one wake-up at most (default 3); older missed slots are skipped. */
  maxCatchUp?: number;
  /** Reservoir size for lateness percentiles (default 2048). */
  reservoirSize?: number;
  /** Told when a stream's tick throws; the clock goes on with the other streams. */
  onStreamError?: (error: unknown) => void;
  /** Told each wake-up's lateness in ms (once per 20 ms for the whole process), e.g. for a histogram. */
  onLateness?: (ms: number) => void;
}

/**
 * Algorithm R reservoir: a fixed-size uniform sample of every lateness value, so p50/p99 cost
 * O(1) memory per process and nothing per tick beyond one store.
 */
class LatenessReservoir {
  private readonly values: Float64Array;
  private seen = 0;
  private maxValue = 0;
  private seed = 0x9e3779b9;

  constructor(size: number) {
    this.values = new Float64Array(size);
  }

  private random(): number {
    // xorshift32: cheap and deterministic; sampling fairness is all it needs.
    let x = this.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seed = x >>> 0;
    return this.seed / 0x100000000;
  }

  add(value: number): void {
    if (value > this.maxValue) this.maxValue = value;
    if (this.seen < this.values.length) {
      this.values[this.seen] = value;
    } else {
      const at = Math.floor(this.random() * (this.seen + 1));
      if (at < this.values.length) this.values[at] = value;
    }
    this.seen++;
  }

  snapshot(): LatenessStats {
    const count = Math.min(this.seen, this.values.length);
    if (count === 0) return { samples: 0, p50: 0, p99: 0, max: 0 };
    const sorted = this.values.slice(0, count).sort();
    const pick = (q: number) => sorted[Math.min(count - 1, Math.floor(q * count))]!;
    return { samples: this.seen, p50: pick(0.5), p99: pick(0.99), max: this.maxValue };
  }
}

export class MediaClock {
  private readonly time: TimeSource;
  private readonly maxCatchUp: number;
  private readonly onStreamError: ((error: unknown) => void) | undefined;
  private readonly onLateness: ((ms: number) => void) | undefined;
  private readonly streams = new Set<ClockStream>();
  /**
   * The streams in the order they joined, walked each slot without a per-slot copy: removal only
   * leaves a null (the Set says who is live), and the array is compacted between slots.
   */
  private order: Array<ClockStream | null> = [];
  private holes = 0;
  private readonly reservoir: LatenessReservoir;
  private origin: number | null = null;
  private nextSlot = 0;
  private timer: unknown = null;
  private closed = false;
  private slotsRun = 0;
  private slotsSkipped = 0;
  private streamErrors = 0;

  constructor(options: MediaClockOptions = {}) {
    this.time = options.timeSource ?? systemTimeSource;
    this.maxCatchUp = options.maxCatchUp ?? 3;
    this.onStreamError = options.onStreamError;
    this.onLateness = options.onLateness;
    this.reservoir = new LatenessReservoir(options.reservoirSize ?? 2048);
  }

  /** Monotonic milliseconds from the clock's time source (the one tests drive). */
  now(): number {
    return this.time.now();
  }

  get activeStreams(): number {
    return this.streams.size;
  }

  /** The slot the clock will run next (streams joining now start there). */
  get upcomingSlot(): number {
    return this.nextSlot;
  }

  /** Starts ticking `stream` from the next slot; starts the clock if it was idle. */
  add(stream: ClockStream): void {
    if (this.closed) throw new Error('media clock is closed');
    if (this.streams.has(stream)) return;
    this.streams.add(stream);
    this.order.push(stream);
    if (this.timer === null) this.start();
  }

  /** Stops ticking `stream`; the clock sleeps when no stream is left. Safe to call twice. */
  remove(stream: ClockStream): void {
    if (!this.streams.delete(stream)) return;
    const at = this.order.indexOf(stream);
    if (at >= 0) {
      this.order[at] = null;
      this.holes++;
    }
    if (this.streams.size === 0) this.stop();
  }

  get stats(): MediaClockStats {
    return {
      slotsRun: this.slotsRun,
      slotsSkipped: this.slotsSkipped,
      streamErrors: this.streamErrors,
      lateness: this.reservoir.snapshot(),
    };
  }

  close(): void {
    this.closed = true;
    this.streams.clear();
    this.order.fill(null); // a slot running now skips the rest
    this.order = [];
    this.holes = 0;
    this.stop();
  }

  private start(): void {
    const now = this.time.now();
    // The origin is fixed once, so slot numbers stay monotonic across idle periods.
    if (this.origin === null) {
      this.origin = now;
      this.nextSlot = 1;
    } else {
      this.nextSlot = Math.floor((now - this.origin) / MEDIA_TICK_MS) + 1;
    }
    this.scheduleNext();
  }

  private stop(): void {
    if (this.timer !== null) this.time.cancel(this.timer);
    this.timer = null;
  }

  private deadline(slot: number): number {
    return this.origin! + slot * MEDIA_TICK_MS;
  }

  private scheduleNext(): void {
    const delay = Math.max(0, Math.ceil(this.deadline(this.nextSlot) - this.time.now()));
    this.timer = this.time.schedule(this.wake, delay);
  }

  private readonly wake = (): void => {
    this.timer = null;
    if (this.closed || this.streams.size === 0) return;
    const now = this.time.now();
    const dueThrough = Math.floor((now - this.origin!) / MEDIA_TICK_MS);
    if (dueThrough >= this.nextSlot) {
      const lateness = now - this.deadline(this.nextSlot);
      this.reservoir.add(lateness);
      this.onLateness?.(lateness);
      let first = this.nextSlot;
      const due = dueThrough - first + 1;
      if (due > this.maxCatchUp) {
        this.slotsSkipped += due - this.maxCatchUp;
        first = dueThrough - this.maxCatchUp + 1;
      }
      for (let slot = first; slot <= dueThrough; slot++) this.runSlot(slot);
      this.nextSlot = dueThrough + 1;
    }
    if (this.timer === null && this.streams.size > 0 && !this.closed) this.scheduleNext();
  };

  private runSlot(slot: number): void {
    this.slotsRun++;
    if (this.holes > 0) this.compact();
    // Only the streams present when the slot starts: one added during it starts with the next
    // slot; one removed during it is skipped from then on (its entry is null).
    const order = this.order;
    const count = order.length;
    for (let i = 0; i < count; i++) {
      const stream = order[i];
      if (!stream) continue;
      try {
        stream.tick(slot);
      } catch (error) {
        this.streamErrors++;
        this.onStreamError?.(error);
      }
    }
  }

  private compact(): void {
    let kept = 0;
    for (const stream of this.order) if (stream) this.order[kept++] = stream;
    this.order.length = kept;
    this.holes = 0;
  }
}
