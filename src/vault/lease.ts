// The link between one call and its cell's arena. Every Secret and SecretBuilder reaches
// the arena only through its lease; release revokes the lease before the wipe, so a handle
// kept past the call (or handed to another call) can never read the next call's bytes.
import type { SecureArena } from './arena.ts';
import { ArenaFullError, SecretWipedError } from './errors.ts';

export class CellLease {
  readonly cellId: number;
  readonly generation: number;
  #arena: SecureArena | null;

  constructor(cellId: number, generation: number, arena: SecureArena) {
    this.cellId = cellId;
    this.generation = generation;
    this.#arena = arena;
  }

  get live(): boolean {
    return this.#arena !== null;
  }

  get slotSize(): number {
    return this.#live().slotSize;
  }

  /** Runs fn over the arena memory; throws SecretWipedError once revoked. */
  read<T>(fn: (memory: Buffer) => T): T {
    return this.#live().access(fn);
  }

  /** Offset of a fresh slot; throws ArenaFullError when the call used every slot. */
  allocate(): number {
    const arena = this.#live();
    const offset = arena.allocate();
    if (offset === null) throw new ArenaFullError(arena.slotCount);
    return offset;
  }

  /** Drops the arena reference for good (idempotent). */
  revoke(): void {
    this.#arena = null;
  }

  #live(): SecureArena {
    if (this.#arena === null) throw new SecretWipedError();
    return this.#arena;
  }
}
