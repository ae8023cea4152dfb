// Reads one soft limit from the text of /proc/<pid>/limits (proc(5)).
import { readFileSync } from 'node:fs';

/** Soft limit in the file's unit; Infinity for "unlimited"; null when the row is missing. */
export function softLimit(limitsText: string, name: string): number | null {
  for (const line of limitsText.split('\n')) {
    if (!line.startsWith(name)) continue;
    const soft = line.slice(name.length).trim().split(/\s+/)[0];
    if (soft === 'unlimited') return Number.POSITIVE_INFINITY;
    const value = Number(soft);
    return Number.isFinite(value) ? value : null;
  }
  return null;
}

/** This process's limits text, or null where /proc is not available. */
export function readOwnLimits(): string | null {
  try {
    return readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return null;
  }
}
