// One call cell's secure memory: a libsodium guarded allocation split into fixed-size
// slots handed out by a bump allocator, zeroed and read back at the end of every call.
import sodium from 'sodium-native';
import { tryLock } from './memory-lock.ts';

export interface ArenaOptions {
  /** Bytes per slot; one slot holds one Secret (a PAN is at most 19 digits). */
  slotSize: number;
  slotCount: number;
  /**
   * Keep the pages PROT_NONE whenever no vault code is touching them, so a stray read
   * anywhere else in the process faults instead of leaking. Costs two mprotect calls per
   * access (see bench/vault-wipe.ts and docs/security-model.md).
   */
  protectIdle?: boolean;
  /** Test-only: runs between the zeroing and the read-back, to prove the read-back can fail. */
  testHooks?: { afterZero?: (memory: Uint8Array) => void };
}

export interface WipeResult {
  /** Bytes zeroed (the whole arena, used or not). */
  bytes: number;
  /** Every byte read back as zero after sodium_memzero. */
  verified: boolean;
}

export class SecureArena {
  readonly slotSize: number;
  readonly slotCount: number;
  readonly byteLength: number;
  /** mlock succeeded: the pages cannot be swapped out. */
  readonly locked: boolean;
  readonly #memory: Buffer;
  readonly #protectIdle: boolean;
  readonly #afterZero: ((memory: Uint8Array) => void) | undefined;
  #nextSlot = 0;
  #accessDepth = 0;

  constructor(options: ArenaOptions) {
    if (!Number.isInteger(options.slotSize) || options.slotSize < 1) throw new RangeError('arena slotSize must be a positive integer');
    if (!Number.isInteger(options.slotCount) || options.slotCount < 1) throw new RangeError('arena slotCount must be a positive integer');
    this.slotSize = options.slotSize;
    this.slotCount = options.slotCount;
    this.byteLength = options.slotSize * options.slotCount;
    // sodium_malloc already tries mlock but ignores failure; lock again to learn the outcome.
    this.#memory = sodium.sodium_malloc(this.byteLength);
    this.locked = tryLock(this.#memory);
    // sodium_malloc fills new memory with 0xdb; slots start zeroed so a short secret has no tail.
    sodium.sodium_memzero(this.#memory);
    this.#protectIdle = options.protectIdle ?? false;
    this.#afterZero = options.testHooks?.afterZero;
    if (this.#protectIdle) sodium.sodium_mprotect_noaccess(this.#memory);
  }

  get slotsUsed(): number {
    return this.#nextSlot;
  }

  /** Byte offset of a fresh zeroed slot, or null when every slot is taken until the next wipe. */
  allocate(): number | null {
    if (this.#nextSlot >= this.slotCount) return null;
    const offset = this.#nextSlot * this.slotSize;
    this.#nextSlot += 1;
    return offset;
  }

  /**
   * Runs fn with the arena memory readable and writable. fn must not keep the buffer
   * (or a view of it) beyond the call: with protectIdle any later touch faults.
   */
  access<T>(fn: (memory: Buffer) => T): T {
    if (this.#accessDepth === 0 && this.#protectIdle) sodium.sodium_mprotect_readwrite(this.#memory);
    this.#accessDepth += 1;
    try {
      return fn(this.#memory);
    } finally {
      this.#accessDepth -= 1;
      if (this.#accessDepth === 0 && this.#protectIdle) sodium.sodium_mprotect_noaccess(this.#memory);
    }
  }

  /** Zeroes every byte, reads every byte back, and frees all slots. */
  wipe(): WipeResult {
    return { bytes: this.byteLength, verified: this.zeroAndVerify() };
  }

  /**
   * The wipe itself, allocation-free so its timing is the wipe's and not a young-generation
   * collection that an allocation inside the timed region would trigger under load.
   */
  zeroAndVerify(): boolean {
    const memory = this.#memory;
    if (this.#accessDepth === 0 && this.#protectIdle) sodium.sodium_mprotect_readwrite(memory);
    sodium.sodium_memzero(memory);
    if (this.#afterZero !== undefined) this.#afterZero(memory);
    // Native constant-time scan; the bytes never pass through JavaScript on the way.
    const verified = sodium.sodium_is_zero(memory);
    if (this.#accessDepth === 0 && this.#protectIdle) sodium.sodium_mprotect_noaccess(memory);
    this.#nextSlot = 0;
    return verified;
  }
}
