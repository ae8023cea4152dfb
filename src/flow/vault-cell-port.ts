// Adapts one vault Cell to the flow's CellPort: secure gathers and imported columns land in
// the cell's arena, call-scoped values live in the cell and are dropped at its release.
import type { Cell } from '../vault/cell.ts';
import type { CallValue, CellPort } from './ports.ts';

export function cellPort(cell: Cell): CellPort {
  return {
    newSecretBuilder: (kind, maxLength, terminator) => cell.secretBuilder({ kind, maxLength, terminator }),
    importSecret: (kind, bytes) => cell.importSecret(kind, bytes),
    assertOwns: (secret) => cell.assertOwns(secret),
    values: {
      get: (name) => cell.values.get(name) as CallValue | undefined,
      set: (name, value) => {
        cell.values.set(name, value);
      },
    },
  };
}
