// Coded vault errors (fastify habit: a stable `code` per failure, each tested).
// No message ever contains a secret's value, length or any byte of it.

export type VaultErrorCode =
  | 'TRACELESS_SECRET_WIPED'
  | 'TRACELESS_CROSS_CELL'
  | 'TRACELESS_SECRET_KIND'
  | 'TRACELESS_SECRET_RANGE'
  | 'TRACELESS_ARENA_FULL'
  | 'TRACELESS_BUILDER_FINISHED'
  | 'TRACELESS_CELL_RELEASED'
  | 'TRACELESS_CELL_STATE'
  | 'TRACELESS_HARDENING';

export class VaultError extends Error {
  readonly code: VaultErrorCode;
  constructor(code: VaultErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A Secret (or its builder) was used after its call cell was released and wiped. */
export class SecretWipedError extends VaultError {
  constructor() {
    super('TRACELESS_SECRET_WIPED', 'secret used after its call cell was released and wiped');
  }
}

/** A Secret was handed to a different call's cell than the one that holds it. */
export class CrossCellError extends VaultError {
  constructor() {
    super('TRACELESS_CROSS_CELL', 'secret belongs to another call cell');
  }
}

/** An operation that the secret's kind does not allow (e.g. last4 on a PIN). */
export class SecretKindError extends VaultError {
  constructor(operation: string, reason: string) {
    super('TRACELESS_SECRET_KIND', `${operation} is not allowed: ${reason}`);
  }
}

/** Bytes that do not fit where they were meant to go. */
export class SecretRangeError extends VaultError {
  constructor(message: string) {
    super('TRACELESS_SECRET_RANGE', message);
  }
}

export class ArenaFullError extends VaultError {
  constructor(slots: number) {
    super('TRACELESS_ARENA_FULL', `call cell arena has no free slot (all ${slots} in use)`);
  }
}

export class BuilderFinishedError extends VaultError {
  constructor() {
    super('TRACELESS_BUILDER_FINISHED', 'secure gather already finished; start a new one');
  }
}

/** A Cell handle was used after release; the pool may already serve another call with it. */
export class CellReleasedError extends VaultError {
  constructor() {
    super('TRACELESS_CELL_RELEASED', 'call cell already released');
  }
}

export class CellStateError extends VaultError {
  constructor(from: string, to: string) {
    super('TRACELESS_CELL_STATE', `call cell cannot go from ${from} to ${to}`);
  }
}

/** The process runs with a debugging or diagnostics switch that can copy memory out. */
export class HardeningError extends VaultError {
  constructor(findings: readonly string[]) {
    super('TRACELESS_HARDENING', `refusing to start: ${findings.join('; ')}`);
  }
}
