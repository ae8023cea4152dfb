import { test } from 'node:test';
import assert from 'node:assert/strict';
import { transition } from '../../src/vault/cell-state.ts';
import type { CellState } from '../../src/vault/cell-state.ts';
import { CellStateError } from '../../src/vault/errors.ts';

const STATES: CellState[] = ['free', 'active', 'wiping', 'quarantined', 'retired'];
const ALLOWED = new Set(['free>active', 'free>retired', 'active>wiping', 'wiping>free', 'wiping>quarantined', 'quarantined>retired']);

test('only the drawn transitions are allowed; every other one throws a coded error', () => {
  for (const from of STATES) {
    for (const to of STATES) {
      if (ALLOWED.has(`${from}>${to}`)) {
        assert.equal(transition(from, to), to);
      } else {
        assert.throws(() => transition(from, to), (e: Error) => e instanceof CellStateError && e.code === 'TRACELESS_CELL_STATE');
      }
    }
  }
});
