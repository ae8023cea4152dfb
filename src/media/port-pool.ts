// RTP port pairs from the configured range: RTP on an even port, RTCP on the odd one above it
// (RFC 3550 §11) unless rtcp-mux is negotiated. Free ports are reused first-in first-out, so a port
// freed by one call rests as long as possible before the next call gets it (late packets of the old
// call then meet a fresh latch and are dropped).
// The first pair handed out is chosen at random: several servers on one host (two demos, parallel
// test runs) share the default range, and all starting at its bottom made them collide on the
// same pairs (EADDRINUSE on each of the few pairs a call tries, then a 503).
import { randomInt } from 'node:crypto';

export interface PortRange {
  /** Lowest port, even. */
  min: number;
  /** Highest port (inclusive); the last pair must fit, so max >= min + 1. */
  max: number;
}

export interface PortLease {
  readonly rtpPort: number;
  readonly rtcpPort: number;
  /** Returns the pair to the pool; safe to call twice. */
  release(): void;
}

export interface PortPoolOptions {
  /** Index of the pair handed out first (0 = the range's bottom); random by default. */
  firstPair?: number;
}

export type PortPoolError = { code: 'media-ports-exhausted'; status: 503 };
export type AcquireResult = { ok: true; lease: PortLease } | { ok: false; error: PortPoolError };

/** Throws RangeError with the problem: the range comes from configuration, checked at start. */
export function validatePortRange(range: PortRange): void {
  const { min, max } = range;
  if (!Number.isInteger(min) || !Number.isInteger(max)) throw new RangeError('media port range: min and max must be integers');
  if (min % 2 !== 0) throw new RangeError('media port range: min must be even (RTP uses even ports)');
  if (min < 1024 || max > 65535) throw new RangeError('media port range: must lie within 1024-65535');
  if (max < min + 1) throw new RangeError('media port range: needs room for at least one RTP/RTCP pair');
}

export class PortPool {
  private readonly min: number;
  private readonly ring: Uint16Array;
  private readonly inUse: Uint8Array;
  private head = 0;
  private count: number;

  constructor(range: PortRange, options: PortPoolOptions = {}) {
    validatePortRange(range);
    this.min = range.min;
    const pairs = Math.floor((range.max - range.min + 1) / 2);
    const first = options.firstPair ?? randomInt(pairs);
    if (!Number.isInteger(first) || first < 0 || first >= pairs) throw new RangeError(`media port pool: firstPair must be 0-${pairs - 1}`);
    this.ring = new Uint16Array(pairs);
    this.inUse = new Uint8Array(pairs);
    // The whole range in order, rotated to start at `first`: every pair is still used once
    // before any is used twice.
    for (let i = 0; i < pairs; i++) this.ring[i] = range.min + 2 * ((first + i) % pairs);
    this.count = pairs;
  }

  get capacity(): number {
    return this.ring.length;
  }

  get available(): number {
    return this.count;
  }

  acquire(): AcquireResult {
    if (this.count === 0) return { ok: false, error: { code: 'media-ports-exhausted', status: 503 } };
    const rtpPort = this.ring[this.head]!;
    this.head = (this.head + 1) % this.ring.length;
    this.count--;
    const slot = (rtpPort - this.min) / 2;
    this.inUse[slot] = 1;
    let released = false;
    const lease: PortLease = {
      rtpPort,
      rtcpPort: rtpPort + 1,
      release: () => {
        if (released) return;
        released = true;
        this.inUse[slot] = 0;
        this.ring[(this.head + this.count) % this.ring.length] = rtpPort;
        this.count++;
      },
    };
    return { ok: true, lease };
  }
}
