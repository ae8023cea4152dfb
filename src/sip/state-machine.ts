// The one guarded transition every SIP state machine goes through: a table of allowed
// edges, so an invalid transition cannot happen silently (it throws, and the property
// tests prove no input sequence reaches that throw).

export class InvalidTransitionError extends Error {
  readonly code = 'SIP_INVALID_TRANSITION';
  constructor(machine: string, from: string, to: string) {
    super(`${machine}: no transition ${from} -> ${to}`);
  }
}

export type TransitionTable<S extends string> = { readonly [K in S]: readonly S[] };

export class GuardedState<S extends string> {
  private current: S;

  constructor(
    private readonly machine: string,
    private readonly table: TransitionTable<S>,
    initial: S,
  ) {
    this.current = initial;
  }

  get state(): S {
    return this.current;
  }

  is(...states: S[]): boolean {
    return states.includes(this.current);
  }

  /** Moves to `to` when the table allows it; returns the state left. */
  move(to: S): S {
    const from = this.current;
    if (!this.table[from].includes(to)) throw new InvalidTransitionError(this.machine, from, to);
    this.current = to;
    return from;
  }
}
