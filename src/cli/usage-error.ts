/** A mistake in how the command was called; the CLI exits with code 2. */
export class UsageError extends Error {
  readonly code = 'TRACELESS_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A command that ran and printed its result, but failed: the CLI exits with `exitCode`. */
export class CommandFailed extends Error {
  readonly code = 'TRACELESS_COMMAND_FAILED';
  constructor(readonly exitCode: number) {
    super(`command failed with exit code ${exitCode}`);
    this.name = 'CommandFailed';
  }
}
