/** A mistake in how the command was called; the CLI exits with code 2. */
export class UsageError extends Error {
  readonly code = 'TRACELESS_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
