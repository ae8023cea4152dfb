// Token buckets keyed by source IP, for INVITE rates and failed-authentication attempts.
// Only the key and a token count are kept, and a bucket is forgotten once it would be full
// again, so nothing about a request outlives the limiter's own arithmetic.

interface Bucket {
  tokens: number;
  at: number;
}

export interface RateLimit {
  /** Sustained rate. */
  readonly perSecond: number;
  /** Bucket size: how many may come at once. */
  readonly burst: number;
}

export class KeyedRateLimiter {
  /** Least recently used first: every take re-inserts its bucket at the end, so `at` only grows along the map. */
  private readonly buckets = new Map<string, Bucket>();
  /** Time for an empty bucket to refill: no bucket untouched this long holds anything. */
  private readonly refillMs: number;

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number,
    /** Upper bound on tracked keys (a flood of sources cannot grow memory without bound). */
    private readonly maxKeys = 10_000,
  ) {
    if (!(limit.perSecond > 0) || !(limit.burst >= 1)) throw new RangeError('rate limit needs perSecond > 0 and burst >= 1');
    this.refillMs = (limit.burst / limit.perSecond) * 1000;
  }

  /** Keys whose buckets are not yet full again (full ones are dropped first). */
  get trackedKeys(): number {
    this.sweep(this.now());
    return this.buckets.size;
  }

  /** Takes one token for `key`; false when the bucket is empty. */
  take(key: string): boolean {
    const now = this.now();
    this.sweep(now);
    const bucket = this.buckets.get(key) ?? { tokens: this.limit.burst, at: now };
    this.refill(bucket, now);
    const taken = bucket.tokens >= 1;
    if (taken) bucket.tokens -= 1;
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxKeys) this.evictOldest();
    return taken;
  }

  /** True when `key` has no token left, without taking one. */
  exhausted(key: string): boolean {
    const now = this.now();
    this.sweep(now);
    const bucket = this.buckets.get(key);
    return bucket !== undefined && this.tokensAt(bucket, now) < 1;
  }

  private tokensAt(bucket: Bucket, now: number): number {
    return Math.min(this.limit.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.limit.perSecond);
  }

  private refill(bucket: Bucket, now: number): void {
    bucket.tokens = this.tokensAt(bucket, now);
    bucket.at = now;
  }

  /**
   * Forgets buckets from the least recently used end while they are full again; a bucket
   * untouched for refillMs is always full, so no key outlives its last use by more than that.
   */
  private sweep(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (now - bucket.at < this.refillMs && this.tokensAt(bucket, now) < this.limit.burst) return;
      this.buckets.delete(key);
    }
  }

  private evictOldest(): void {
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= this.maxKeys) return;
      this.buckets.delete(key);
    }
  }
}
