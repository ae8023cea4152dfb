// Real vault cells for the connector tests: parameters are Secrets in a cell's locked
// arena (as the flow would hold them) and sensitive results are imported into one.
import { CellPool } from '../../src/vault/index.ts';
import type { Cell } from '../../src/vault/index.ts';
import type { Secret, SecretKind } from '../../src/vault/types.ts';
import type { SecretImporter } from '../../src/connectors/types.ts';

const pool = new CellPool({ cells: 8, slotsPerCell: 256 });
let inputs: Cell | undefined;

/** A fresh call cell; released (and wiped) by release(). */
export function acquireCell(): Cell {
  const cell = pool.acquire();
  if (!cell) throw new Error('test cell pool exhausted');
  return cell;
}

/** A Secret holding `text`, as if the caller had keyed it (test inputs only). */
export function testSecret(kind: SecretKind, text: string): Secret {
  inputs ??= acquireCell();
  const bytes = Buffer.alloc(text.length);
  bytes.write(text, 'latin1');
  return inputs.importSecret(kind, bytes);
}

const DIGITS = [...'0123456789'];

/** The digits of a digits-only Secret, for assertions (the vault's own spell()). */
export function secretDigits(secret: unknown): string {
  return (secret as Secret).spell(DIGITS).join('');
}

/** A cell that also keeps every source buffer handed to it, to check they end zeroed. */
export class RecordingCell implements SecretImporter {
  readonly sources: Uint8Array[] = [];
  readonly imported: Secret[] = [];
  constructor(readonly cell: Cell = acquireCell()) {}
  importSecret(kind: SecretKind, source: Uint8Array): Secret {
    this.sources.push(source);
    const secret = this.cell.importSecret(kind, source);
    this.imported.push(secret);
    return secret;
  }
}
