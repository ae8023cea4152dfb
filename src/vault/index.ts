// What other layers import from the vault. Types come from types.ts; everything that
// creates Secrets goes through a Cell from a CellPool.
export type { Secret, KeySink, KeyPushResult, DtmfCode, SecretKind, CardBrand } from './types.ts';
export { DTMF_POUND, DTMF_STAR } from './types.ts';
export { CellPool } from './cell-pool.ts';
export type { CellPoolOptions, VaultStats, PoolEvents, ShutdownReport, VaultLogger } from './cell-pool.ts';
export { Cell, RELEASE_REASONS } from './cell.ts';
export type { Closable, ReleaseReason, ReleaseReport, CellEvents } from './cell.ts';
export type { CellState } from './cell-state.ts';
export type { SecretBuilder, SecretBuilderOptions } from './secret-builder.ts';
export type { WipeResult } from './arena.ts';
export { SECRET_TEXT } from './secret.ts';
export { WIPE_BUCKETS_SECONDS } from './wipe-stats.ts';
export type { WipeHistogram, WipeCounters } from './wipe-stats.ts';
export type { MemoryLockReport, MemoryLockState } from './memory-lock.ts';
export { memoryLockReport, lockedBytesFor, tryLock } from './memory-lock.ts';
export { hardeningFindings, enforceHardening, readHardeningInput, blockInspectorSignal, splitNodeOptions } from './hardening.ts';
export type { HardeningInput, HardeningFinding, FindingSeverity } from './hardening.ts';
export * from './errors.ts';
