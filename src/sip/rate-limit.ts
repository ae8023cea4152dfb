// Token buckets keyed by source IP, for INVITE rates and failed-authentication attempts.
// Only the key and a token count are kept, and a bucket that has refilled is forgotten, so
// nothing about a request outlives the limiter's own arithmetic.

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
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number,
    /** Upper bound on tracked keys (a flood of sources cannot grow memory without bound). */
    private readonly maxKeys = 10_000,
  ) {
    if (!(limit.perSecond > 0) || !(limit.burst >= 1)) throw new RangeError('rate limit needs perSecond > 0 and burst >= 1');
  }

  get trackedKeys(): number {
    return this.buckets.size;
  }

  /** Takes one token for `key`; false when the bucket is empty. */
  take(key: string): boolean {
    const bucket = this.refill(key);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** True when `key` has no token left, without taking one. */
  exhausted(key: string): boolean {
    const bucket = this.buckets.get(key);
    return bucket !== undefined && this.refill(key).tokens < 1;
  }

  private refill(key: string): Bucket {
    const now = this.now();
    const existing = this.buckets.get(key);
    const bucket = existing ?? { tokens: this.limit.burst, at: now };
    bucket.tokens = Math.min(this.limit.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.limit.perSecond);
    bucket.at = now;
    // Re-insert so Map order is least-recently-used first.
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxKeys) this.prune();
    return bucket;
  }

  /** Drops full buckets (they carry no information), then the least recently used. */
  private prune(): void {
    const now = this.now();
    for (const [key, bucket] of this.buckets) {
      const tokens = bucket.tokens + ((now - bucket.at) / 1000) * this.limit.perSecond;
      if (tokens >= this.limit.burst) this.buckets.delete(key);
    }
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= this.maxKeys) break;
      this.buckets.delete(key);
    }
  }
}
