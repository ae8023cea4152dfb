// Wipe counters for metrics, as a plain object: the vault does not import observe, so the
// metrics layer reads this (or listens to 'released') and feeds its own histogram.

/** Upper bounds in seconds; the target is 100 µs per call. */
export const WIPE_BUCKETS_SECONDS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005] as const;

export interface WipeHistogram {
  boundsSeconds: readonly number[];
  /** counts[i] = wipes in (bounds[i-1], bounds[i]]; the last entry counts wipes above every bound. */
  counts: number[];
  sumSeconds: number;
  count: number;
}

export interface WipeCounters {
  cellsWiped: number;
  secretBytesWiped: number;
  /** Read-backs that found a non-zero byte (each one retried once). */
  wipeFailures: number;
  cellsQuarantined: number;
  closeErrors: number;
  acquired: number;
  /** acquire() calls answered null because no cell was free (SIP answers 503). */
  exhausted: number;
  wipeDuration: WipeHistogram;
}

export function emptyCounters(): WipeCounters {
  return {
    cellsWiped: 0,
    secretBytesWiped: 0,
    wipeFailures: 0,
    cellsQuarantined: 0,
    closeErrors: 0,
    acquired: 0,
    exhausted: 0,
    wipeDuration: {
      boundsSeconds: WIPE_BUCKETS_SECONDS,
      counts: new Array<number>(WIPE_BUCKETS_SECONDS.length + 1).fill(0),
      sumSeconds: 0,
      count: 0,
    },
  };
}

export function observeWipe(histogram: WipeHistogram, seconds: number): void {
  let bucket = histogram.boundsSeconds.findIndex((bound) => seconds <= bound);
  if (bucket === -1) bucket = histogram.boundsSeconds.length;
  histogram.counts[bucket] = (histogram.counts[bucket] ?? 0) + 1;
  histogram.sumSeconds += seconds;
  histogram.count += 1;
}
