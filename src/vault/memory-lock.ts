// Whether the arenas are really locked in RAM (never swapped), and the command that fixes it.
import sodium from 'sodium-native';
import { softLimit } from './proc-limits.ts';

export const MEMLOCK_ROW = 'Max locked memory';
/** libsodium's guarded allocation locks whole pages: data plus its 16-byte canary, page-rounded. */
const SODIUM_CANARY_BYTES = 16;

export type MemoryLockState = 'locked' | 'unlocked';

export interface MemoryLockReport {
  state: MemoryLockState;
  /** Bytes the pool needs locked. */
  requiredBytes: number;
  /** RLIMIT_MEMLOCK soft limit in bytes (Infinity = unlimited, null = unreadable). */
  limitBytes: number | null;
  /** What an operator runs to fix it; null when nothing is needed. */
  remedy: string | null;
}

export function lockedBytesFor(cells: number, arenaBytes: number, pageSize = 4096): number {
  return cells * Math.ceil((arenaBytes + SODIUM_CANARY_BYTES) / pageSize) * pageSize;
}

/**
 * arenasLocked is the measured truth (mlock succeeded for every arena); the limit explains a
 * failure and sizes the fix. Root with CAP_IPC_LOCK locks beyond the limit, so the limit
 * alone never decides.
 */
export function memoryLockReport(input: { arenasLocked: boolean; requiredBytes: number; limitsText: string | null }): MemoryLockReport {
  const limitBytes = input.limitsText === null ? null : softLimit(input.limitsText, MEMLOCK_ROW);
  if (input.arenasLocked) return { state: 'locked', requiredBytes: input.requiredBytes, limitBytes, remedy: null };
  // Headroom for the rest of the process (TLS keys in sodium memory, for example).
  const neededKiB = Math.ceil((input.requiredBytes * 2) / 1024);
  const remedy =
    `raise the locked-memory limit to at least ${neededKiB} KiB: ` +
    `\`ulimit -l ${neededKiB}\` before starting, or \`LimitMEMLOCK=${neededKiB}K\` in the systemd unit, ` +
    `or \`--ulimit memlock=${neededKiB * 1024}\` for docker run`;
  return { state: 'unlocked', requiredBytes: input.requiredBytes, limitBytes, remedy };
}

/** mlock()s a sodium allocation; false (not a throw) when RLIMIT_MEMLOCK or privileges refuse. */
export function tryLock(memory: Buffer): boolean {
  try {
    sodium.sodium_mlock(memory);
    return true;
  } catch {
    return false;
  }
}
