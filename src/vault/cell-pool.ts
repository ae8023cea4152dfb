// The fixed pool of call cells, sized by max concurrent calls. Each cell owns one arena
// allocated at start, so a call never allocates secure memory and a full pool means 503.
import { SecureArena } from './arena.ts';
import type { ArenaOptions, WipeResult } from './arena.ts';
import { CellLease } from './lease.ts';
import { Cell } from './cell.ts';
import type { CellHome, ReleaseReason, ReleaseReport } from './cell.ts';
import { transition } from './cell-state.ts';
import type { CellState } from './cell-state.ts';
import { TypedEvents } from './typed-events.ts';
import { emptyCounters, observeWipe } from './wipe-stats.ts';
import type { WipeCounters } from './wipe-stats.ts';
import { lockedBytesFor, memoryLockReport } from './memory-lock.ts';
import type { MemoryLockReport } from './memory-lock.ts';
import { readOwnLimits } from './proc-limits.ts';

/** pino-compatible subset; the vault never logs values, only cell ids and error names. */
export interface VaultLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface CellPoolOptions {
  /** Max concurrent calls. */
  cells: number;
  /** Bytes per Secret slot. Default 32 (a PAN is at most 19 digits). */
  slotSize?: number;
  /** Secrets one call may hold at once. Default 16. */
  slotsPerCell?: number;
  /** mprotect arenas to no-access while idle. Default false: measured too costly (bench/vault-wipe.ts, docs/security-model.md). */
  protectIdle?: boolean;
  logger?: VaultLogger;
  /** Test-only arena hooks (prove the wipe read-back can fail). */
  testHooks?: ArenaOptions['testHooks'];
}

export interface VaultStats extends WipeCounters {
  cells: number;
  free: number;
  active: number;
}

export interface PoolEvents extends Record<string, unknown> {
  acquired: { cellId: number; generation: number };
  released: ReleaseReport;
  exhausted: { cells: number };
  quarantined: { cellId: number };
}

export interface ShutdownReport {
  /** Calls that were still active and were released with reason 'shutdown'. */
  callsEnded: number;
  cellsWiped: number;
  /** Every cell read back as zero. */
  verified: boolean;
}

interface PooledCell {
  readonly id: number;
  readonly arena: SecureArena;
  state: CellState;
  generation: number;
}

export class CellPool {
  readonly size: number;
  readonly #cells: PooledCell[];
  readonly #free: PooledCell[];
  readonly #active = new Set<Cell>();
  readonly #counters: WipeCounters = emptyCounters();
  readonly #events: TypedEvents<PoolEvents>;
  readonly #logger: VaultLogger | undefined;
  readonly #home: CellHome;
  #shutdown: ShutdownReport | null = null;

  constructor(options: CellPoolOptions) {
    if (!Number.isInteger(options.cells) || options.cells < 1) throw new RangeError('cell pool needs at least one cell');
    this.size = options.cells;
    this.#logger = options.logger;
    this.#events = new TypedEvents((event, error) => this.#listenerFailed(event, error));
    const arenaOptions: ArenaOptions = {
      slotSize: options.slotSize ?? 32,
      slotCount: options.slotsPerCell ?? 16,
      protectIdle: options.protectIdle ?? false,
    };
    if (options.testHooks !== undefined) arenaOptions.testHooks = options.testHooks;
    this.#cells = [];
    for (let id = 0; id < options.cells; id++) {
      this.#cells.push({ id, arena: new SecureArena(arenaOptions), state: 'free', generation: 0 });
    }
    // Reversed so acquire() pops cell 0 first; order only matters for readable tests.
    this.#free = [...this.#cells].reverse();
    this.#home = {
      beginRelease: (cell) => this.#beginRelease(cell),
      finishRelease: (cell, reason, closeErrors) => this.#finishRelease(cell, reason, closeErrors),
      closeFailed: (cellId, error) => {
        this.#counters.closeErrors += 1;
        this.#logger?.warn({ cellId, error: errorName(error) }, 'cell resource close failed');
      },
      listenerFailed: (event, error) => this.#listenerFailed(event, error),
    };
  }

  /** A free cell for a new call, or null when every cell is busy (answer 503) or the pool is shut down. */
  acquire(): Cell | null {
    const pooled = this.#shutdown === null ? this.#free.pop() : undefined;
    if (pooled === undefined) {
      this.#counters.exhausted += 1;
      this.#events.emit('exhausted', { cells: this.size });
      return null;
    }
    pooled.state = transition(pooled.state, 'active');
    pooled.generation += 1;
    const cell = new Cell(new CellLease(pooled.id, pooled.generation, pooled.arena), this.#home);
    this.#active.add(cell);
    this.#counters.acquired += 1;
    this.#events.emit('acquired', { cellId: pooled.id, generation: pooled.generation });
    return cell;
  }

  on<K extends keyof PoolEvents>(event: K, listener: (payload: PoolEvents[K]) => void): () => void {
    return this.#events.on(event, listener);
  }

  /** Counters and occupancy for metrics (a fresh copy each time). */
  get stats(): VaultStats {
    let free = 0;
    let active = 0;
    for (const cell of this.#cells) {
      if (cell.state === 'free') free += 1;
      else if (cell.state === 'active' || cell.state === 'wiping') active += 1;
    }
    const copy = structuredClone(this.#counters);
    return { ...copy, cells: this.size, free, active };
  }

  /** Whether every arena is locked in RAM, and what to run if not. */
  memoryLock(limitsText: string | null = readOwnLimits()): MemoryLockReport {
    const first = this.#cells[0]!.arena;
    return memoryLockReport({
      arenasLocked: this.#cells.every((cell) => cell.arena.locked),
      requiredBytes: lockedBytesFor(this.size, first.byteLength),
      limitsText,
    });
  }

  /** SIGTERM/SIGINT: ends every active call, wipes every cell, refuses new calls. Idempotent. */
  shutdown(): ShutdownReport {
    if (this.#shutdown !== null) return this.#shutdown;
    this.#shutdown = { callsEnded: 0, cellsWiped: 0, verified: true };
    const report = this.#shutdown;
    for (const cell of [...this.#active]) {
      const released = cell.release('shutdown');
      if (released !== null) report.callsEnded += 1;
    }
    for (const pooled of this.#cells) {
      // A cell mid-release (shutdown called from inside a close()) finishes its own wipe.
      if (pooled.state === 'wiping') continue;
      const wipe = this.#wipe(pooled);
      report.cellsWiped += 1;
      report.verified &&= wipe.verified;
      pooled.state = transition(pooled.state, 'retired');
    }
    this.#free.length = 0;
    return report;
  }

  #beginRelease(cell: Cell): void {
    const pooled = this.#cells[cell.id]!;
    pooled.state = transition(pooled.state, 'wiping');
    this.#active.delete(cell);
  }

  #finishRelease(cell: Cell, reason: ReleaseReason, closeErrors: number): ReleaseReport {
    const pooled = this.#cells[cell.id]!;
    // Nothing between the two clock reads allocates (performance.now() returns a double):
    // the duration is the wipe's, not a scavenge that an allocation there could start.
    const started = performance.now();
    const firstVerified = pooled.arena.zeroAndVerify();
    const verified = firstVerified || pooled.arena.zeroAndVerify();
    const wipeSeconds = (performance.now() - started) / 1e3;
    const wipe = this.#countWipes(pooled, firstVerified ? 1 : 2, verified);
    if (!firstVerified) this.#counters.wipeFailures += 1;
    observeWipe(this.#counters.wipeDuration, wipeSeconds);
    const quarantined = !wipe.verified;
    if (quarantined) {
      // A cell whose memory does not read back as zero never serves another call.
      this.#counters.wipeFailures += 1;
      this.#counters.cellsQuarantined += 1;
      pooled.state = transition(pooled.state, 'quarantined');
      this.#logger?.error({ cellId: pooled.id }, 'cell wipe read-back failed twice; cell quarantined');
      this.#events.emit('quarantined', { cellId: pooled.id });
    } else {
      pooled.state = transition(pooled.state, 'free');
      // During shutdown the cell is retired by shutdown() itself, never handed out again.
      if (this.#shutdown === null) this.#free.push(pooled);
    }
    const report: ReleaseReport = { cellId: pooled.id, generation: cell.generation, reason, wipe, closeErrors, wipeSeconds, quarantined };
    this.#events.emit('released', report);
    return report;
  }

  #wipe(pooled: PooledCell): WipeResult {
    return this.#countWipes(pooled, 1, pooled.arena.zeroAndVerify());
  }

  #countWipes(pooled: PooledCell, passes: number, verified: boolean): WipeResult {
    this.#counters.cellsWiped += passes;
    this.#counters.secretBytesWiped += passes * pooled.arena.byteLength;
    return { bytes: pooled.arena.byteLength, verified };
  }

  #listenerFailed(event: string, error: unknown): void {
    this.#logger?.error({ event, error: errorName(error) }, 'vault event listener threw');
  }
}

/** Only the error's class and code: messages from resources could carry call data. */
function errorName(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${error.name}:${code}` : error.name;
  }
  return typeof error;
}
