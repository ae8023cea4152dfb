// One call's cell, as the call sees it. A Cell handle lives exactly one call: the pool hands
// out a new handle on every acquire, so a handle kept past its call reaches nothing.
//
// Close cascade on release (mediasoup habit, written down):
//   1. revoke the lease — every Secret and SecretBuilder of this call now throws;
//   2. close attached resources, last attached first (flow state before RTP ports), each
//      in its own try so one failure never skips the others;
//   3. drop call-scoped values and backend results;
//   4. the pool wipes the arena, reads it back, and only then frees the cell.
import type { Secret, SecretKind } from './types.ts';
import type { CellLease } from './lease.ts';
import type { WipeResult } from './arena.ts';
import { TypedEvents } from './typed-events.ts';
import { importSecret, leaseOfSecret } from './secret.ts';
import { SecretBuilder } from './secret-builder.ts';
import type { SecretBuilderOptions } from './secret-builder.ts';
import { CellReleasedError, CrossCellError, SecretWipedError } from './errors.ts';

/** Anything a call holds that must end with it; close() must be safe to call twice. */
export interface Closable {
  close(): void;
}

export const RELEASE_REASONS = ['completed', 'transferred', 'abandoned', 'failed', 'rejected', 'timeout', 'shutdown'] as const;
export type ReleaseReason = (typeof RELEASE_REASONS)[number];

export interface ReleaseReport {
  cellId: number;
  generation: number;
  reason: ReleaseReason;
  wipe: WipeResult;
  /** Resources whose close() threw (their errors went to the pool's logger by name only). */
  closeErrors: number;
  /** Arena zeroing plus read-back, in seconds. */
  wipeSeconds: number;
  /** The cell failed its read-back twice and was taken out of service. */
  quarantined: boolean;
}

export interface CellEvents extends Record<string, unknown> {
  released: ReleaseReport;
}

/** What the pool does for a cell at the end of the cascade; Cell does not import the pool. */
export interface CellHome {
  beginRelease(cell: Cell): void;
  finishRelease(cell: Cell, reason: ReleaseReason, closeErrors: number): ReleaseReport;
  closeFailed(cellId: number, error: unknown): void;
  listenerFailed(event: string, error: unknown): void;
}

export class Cell {
  readonly id: number;
  readonly generation: number;
  readonly #home: CellHome;
  #lease: CellLease | null;
  #resources: Closable[] = [];
  #values = new Map<string, unknown>();
  readonly #events: TypedEvents<CellEvents>;

  constructor(lease: CellLease, home: CellHome) {
    this.id = lease.cellId;
    this.generation = lease.generation;
    this.#lease = lease;
    this.#home = home;
    this.#events = new TypedEvents((event, error) => home.listenerFailed(event, error));
  }

  get released(): boolean {
    return this.#lease === null;
  }

  /** Call-scoped values (flow state, backend results); dropped at release. */
  get values(): Map<string, unknown> {
    this.#live();
    return this.#values;
  }

  on<K extends keyof CellEvents>(event: K, listener: (payload: CellEvents[K]) => void): () => void {
    return this.#events.on(event, listener);
  }

  /** Ties a resource's life to the call; returns it for chaining. */
  attach<R extends Closable>(resource: R): R {
    this.#live();
    this.#resources.push(resource);
    return resource;
  }

  /** Copies connector bytes into this cell's arena and zeroes `source` (always, even on error). */
  importSecret(kind: SecretKind, source: Uint8Array): Secret {
    return importSecret(this.#live(), kind, source);
  }

  /** A secure gather into this cell's arena, to be handed to the DTMF decoder as its KeySink. */
  secretBuilder(options: SecretBuilderOptions): SecretBuilder {
    return new SecretBuilder(this.#live(), options);
  }

  owns(secret: Secret): boolean {
    return this.#lease !== null && leaseOfSecret(secret) === this.#lease;
  }

  /** Throws unless the secret was made in this call: SecretWipedError if its call ended, CrossCellError if it is another's. */
  assertOwns(secret: Secret): void {
    const lease = this.#live();
    const theirs = leaseOfSecret(secret);
    if (!theirs.live) throw new SecretWipedError();
    if (theirs !== lease) throw new CrossCellError();
  }

  /** Ends the call's hold on the cell (see the cascade above). A second call returns null. */
  release(reason: ReleaseReason): ReleaseReport | null {
    const lease = this.#lease;
    if (lease === null) return null;
    this.#lease = null;
    lease.revoke();
    this.#home.beginRelease(this);
    const resources = this.#resources;
    this.#resources = [];
    let closeErrors = 0;
    for (let i = resources.length - 1; i >= 0; i--) {
      try {
        resources[i]!.close();
      } catch (error) {
        closeErrors += 1;
        this.#home.closeFailed(this.id, error);
      }
    }
    this.#values.clear();
    const report = this.#home.finishRelease(this, reason, closeErrors);
    this.#events.emit('released', report);
    return report;
  }

  #live(): CellLease {
    if (this.#lease === null) throw new CellReleasedError();
    return this.#lease;
  }
}
