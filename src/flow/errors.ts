// Coded errors of the flow runtime, and the control signals that end a flow early.
// Messages never carry a value the caller keyed.

/** Thrown through the flow's code to unwind it when the call leaves the flow's hands. */
export class FlowEnd extends Error {
  constructor(readonly how: 'transferred' | 'hungUp' | 'callerHungUp') {
    super(`flow ended: ${how}`);
    this.name = 'FlowEnd';
  }
}

/** True for the runtime's control signals; a flow's own catch blocks must rethrow these. */
export function isFlowEnd(error: unknown): error is FlowEnd {
  return error instanceof FlowEnd;
}

export class BackendUnavailableError extends Error {
  readonly code = 'FLOW_BACKEND_UNAVAILABLE';
  constructor(readonly backend: string, readonly operation: string, cause: 'error' | 'timeout') {
    super(`backend ${backend} (${operation}) unavailable: ${cause}`);
    this.name = 'BackendUnavailableError';
  }
}

export class UnknownPromptError extends Error {
  readonly code = 'FLOW_UNKNOWN_PROMPT';
  constructor(language: string, id: string) {
    super(`prompt ${id} is not in the ${language} catalogue`);
    this.name = 'UnknownPromptError';
  }
}

export class FlowUsageError extends Error {
  readonly code = 'FLOW_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'FlowUsageError';
  }
}
