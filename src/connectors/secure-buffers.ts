// Locked memory for the bytes connectors put on the wire or take off it around a Secret
// (request bodies, PostgreSQL Bind messages, sensitive reply fields).
//
// Why a pool: sodium_malloc per request is not usable here. It costs about a millisecond
// (guard pages, mprotect, mlock), sodium-native releases the memory only on a later event
// loop turn even after sodium_free, and when the process runs out of it sodium_malloc's NULL
// hits a native assert that aborts the whole process. So slabs are allocated once, lazily,
// up to a fixed cap per size class, and reused: acquire() leases one, release() zeroes the
// whole slab with sodium_memzero and puts it back. Each slab is its own guarded allocation,
// so running off its end faults instead of reading a neighbour.
//
// Beyond a class's cap, or beyond the largest class, acquire() still succeeds with a zeroed
// Buffer.alloc buffer (fixed-buffer.ts: off the shared pool and V8's heap, but not locked, so
// it may be swapped) and counts it in stats().fallbacks: a burst must never fail a call.
import sodium from 'sodium-native';
import { fixedBuffer } from './fixed-buffer.ts';
import { tryLock } from '../vault/memory-lock.ts';

export interface SecureLease {
  /** Exactly the requested length; zero-filled when handed out. */
  readonly bytes: Buffer;
  /** True when bytes lie in a sodium_malloc slab (false for a fallback buffer). */
  readonly secure: boolean;
  /** Zeroes the memory and returns it to the pool. Safe to call twice; bytes must not be used after. */
  release(): void;
}

export interface SizeClass {
  /** Bytes per slab. */
  size: number;
  /** Most slabs this class ever allocates. */
  maxSlabs: number;
}

export interface SecureBufferStats {
  /** Slabs allocated so far (never shrinks; never exceeds the sum of the caps). */
  slabs: number;
  /** Slabs currently leased. */
  inUse: number;
  /** Leases served from an unlocked fallback buffer (cap reached or too large). */
  fallbacks: number;
  /** Every slab allocated so far is mlock'd (false while there is none yet). */
  locked: boolean;
}

/**
 * libsodium locks and guards whole pages: a slab of n bytes locks n + 16 (its canary)
 * rounded up to the page, so no class smaller than one 4 KiB page minus the canary is worth
 * having. 4080 B holds a payment body, a Bind message with ordinary SQL and any sensitive
 * field (maxSecretBytes defaults to 64); 64 KiB holds the largest RowDescription or
 * ErrorResponse ResultTap buffers (MAX_DESCRIPTION in pg-wire.ts). Anything larger (a Bind
 * with very long SQL, an oversized field a server sends) falls back. Caps follow
 * concurrency: one small lease per HTTPS request with a Secret in its body (held until the
 * exchange ends, queued ones included) or per query being written or staged; the large class
 * only serves rare big replies for a moment. Worst case locks 128 × 4 KiB + 4 × 68 KiB = 784 KiB.
 */
export const DEFAULT_SIZE_CLASSES: readonly SizeClass[] = [
  { size: 4096 - 16, maxSlabs: 128 },
  { size: 64 * 1024, maxSlabs: 4 },
];

interface ClassState {
  readonly size: number;
  readonly maxSlabs: number;
  readonly idle: Buffer[];
  allocated: number;
}

export class SecureBufferPool {
  readonly #classes: ClassState[];
  #slabs = 0;
  #inUse = 0;
  #fallbacks = 0;
  #unlockedSlabs = 0;

  constructor(classes: readonly SizeClass[] = DEFAULT_SIZE_CLASSES) {
    for (const sizeClass of classes) {
      if (!Number.isInteger(sizeClass.size) || sizeClass.size < 1) throw new RangeError('size class size must be a positive integer');
      if (!Number.isInteger(sizeClass.maxSlabs) || sizeClass.maxSlabs < 0) throw new RangeError('size class maxSlabs must be a non-negative integer');
    }
    this.#classes = [...classes]
      .sort((a, b) => a.size - b.size)
      .map((sizeClass) => ({ size: sizeClass.size, maxSlabs: sizeClass.maxSlabs, idle: [], allocated: 0 }));
  }

  /** A zero-filled lease of exactly `length` bytes, from the smallest class that fits. */
  acquire(length: number): SecureLease {
    if (!Number.isInteger(length) || length < 0) throw new RangeError('lease length must be a non-negative integer');
    const sizeClass = this.#classes.find((candidate) => candidate.size >= length);
    const slab = sizeClass === undefined ? undefined : this.#takeSlab(sizeClass);
    if (sizeClass === undefined || slab === undefined) {
      this.#fallbacks += 1;
      return fallbackLease(length);
    }
    this.#inUse += 1;
    let released = false;
    return {
      bytes: slab.subarray(0, length),
      secure: true,
      release: () => {
        if (released) return;
        released = true;
        sodium.sodium_memzero(slab);
        this.#inUse -= 1;
        sizeClass.idle.push(slab);
      },
    };
  }

  stats(): SecureBufferStats {
    return { slabs: this.#slabs, inUse: this.#inUse, fallbacks: this.#fallbacks, locked: this.#slabs > 0 && this.#unlockedSlabs === 0 };
  }

  #takeSlab(sizeClass: ClassState): Buffer | undefined {
    const idle = sizeClass.idle.pop();
    if (idle !== undefined) return idle;
    if (sizeClass.allocated >= sizeClass.maxSlabs) return undefined;
    const slab = sodium.sodium_malloc(sizeClass.size);
    // sodium_malloc tries mlock but ignores failure; lock again to learn the outcome.
    if (!tryLock(slab)) this.#unlockedSlabs += 1;
    // sodium_malloc fills new memory with 0xdb; leases start zeroed.
    sodium.sodium_memzero(slab);
    sizeClass.allocated += 1;
    this.#slabs += 1;
    return slab;
  }
}

/** Same contract from fixed-buffer.ts memory, for sizes or bursts the pool does not cover. */
export function fallbackLease(length: number): SecureLease {
  const bytes = fixedBuffer(length);
  let released = false;
  return {
    bytes,
    secure: false,
    release: () => {
      if (released) return;
      released = true;
      bytes.fill(0);
    },
  };
}

let shared: SecureBufferPool | undefined;

/** The process-wide pool the connectors use; its first slab is allocated on first use. */
export function secureBuffers(): SecureBufferPool {
  shared ??= new SecureBufferPool();
  return shared;
}
