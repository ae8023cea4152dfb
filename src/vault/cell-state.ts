// The one guarded transition function for a pooled cell (SIP.js habit: a single place
// where state changes, so an impossible change is an error rather than a silent bug).
//
//   free ──acquire──▶ active ──release──▶ wiping ──verified──▶ free
//                                           └──read-back failed──▶ quarantined (never reused)
//   free / quarantined ──shutdown──▶ retired
import { CellStateError } from './errors.ts';

export type CellState = 'free' | 'active' | 'wiping' | 'quarantined' | 'retired';

const ALLOWED: Readonly<Record<CellState, readonly CellState[]>> = {
  free: ['active', 'retired'],
  active: ['wiping'],
  wiping: ['free', 'quarantined'],
  quarantined: ['retired'],
  retired: [],
};

/** Returns `to` when the change is allowed; throws CellStateError otherwise. */
export function transition(from: CellState, to: CellState): CellState {
  if (!ALLOWED[from].includes(to)) throw new CellStateError(from, to);
  return to;
}
