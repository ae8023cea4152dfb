// The one timeout model for every key entry (gather, gatherSecret, menu).
//
// Pure: `transition(state, event)` returns the next state and the actions the runtime must
// perform; it never sees key values, only what kind of key arrived, so the same machine
// drives plain gathers (the runtime keeps the digits) and secure gathers (the arena keeps them).
//
//   idle ──start──▶ prompting ──promptEnded──▶ collecting ──complete──▶ validating ──ok──▶ done
//                     │  ▲  key+bargeIn ─────────▲   │ fail (noInput / invalid)   │ not ok
//                     │  └──── retry: play [timeout|invalid, prompt] ◀───────────┘
//                     └─ key without bargeIn: discarded
//
// Timers (all started/cancelled through actions, so a fake scheduler can drive them):
//  - firstDigit: from the end of the prompt until the first key   → noInput
//  - interDigit: restarted after every digit                       → complete if min reached, else invalid
//  - total:      from the start of collection, bounds the whole entry
//                → noInput with no digits, complete if min reached, else invalid
// Completion: terminator (min checked), max digits, or the timeouts above.
// Flow-wide keys arrive already classified: 'repeat' restarts the attempt (not counted),
// 'agent' ends the gather so the runtime can transfer.

export type TimerName = 'firstDigit' | 'interDigit' | 'total';

export interface GatherSpec {
  readonly min: number;
  readonly max: number;
  readonly firstDigitTimeoutMs: number;
  readonly interDigitTimeoutMs: number;
  readonly totalTimeoutMs: number;
  /** Extra attempts after the first one. */
  readonly retries: number;
  readonly bargeIn: boolean;
}

/** What a key means to the machine; the runtime (or the secure sink) classifies it. */
export type GatherKey = 'digit' | 'terminator' | 'rejected' | 'full' | 'repeat' | 'agent';

export type GatherEvent =
  | { readonly type: 'start' }
  | { readonly type: 'promptEnded' }
  | { readonly type: 'key'; readonly key: GatherKey }
  | { readonly type: 'timeout'; readonly timer: TimerName }
  | { readonly type: 'validated'; readonly ok: boolean };

export type CompletionReason = 'terminator' | 'max' | 'interDigitTimeout' | 'totalTimeout';
export type FailureReason = 'noInput' | 'invalid';

export type GatherEnd =
  | { readonly ok: true; readonly reason: CompletionReason }
  | { readonly ok: false; readonly reason: FailureReason | 'agent' };

/** Which prompts to play, in order: the retry notice first, then the step's own prompt. */
export type PromptPart = 'prompt' | 'timeout' | 'invalid';

export type GatherAction =
  | { readonly type: 'play'; readonly parts: readonly PromptPart[] }
  | { readonly type: 'stopPrompt' }
  | { readonly type: 'startTimer'; readonly timer: TimerName; readonly ms: number }
  | { readonly type: 'cancelTimer'; readonly timer: TimerName }
  /** The key counts as part of the entry (plain gathers append it). */
  | { readonly type: 'acceptKey' }
  /** Forget everything keyed so far in this attempt (secure builders reset and zero). */
  | { readonly type: 'discardEntry' }
  /** Entry complete: stop routing keys to the entry and run the step's validator. */
  | { readonly type: 'validate' }
  | { readonly type: 'finish'; readonly end: GatherEnd };

export type Phase = 'idle' | 'prompting' | 'collecting' | 'validating' | 'done';

export interface GatherState {
  readonly phase: Phase;
  /** 0-based attempt number. */
  readonly attempt: number;
  /** Digits accepted in this attempt. */
  readonly count: number;
  readonly running: readonly TimerName[];
  readonly pending: CompletionReason | null;
}

export interface Step {
  readonly state: GatherState;
  readonly actions: readonly GatherAction[];
}

export function initialGatherState(): GatherState {
  return { phase: 'idle', attempt: 0, count: 0, running: [], pending: null };
}

const allTimers: readonly TimerName[] = ['firstDigit', 'interDigit', 'total'];

/** Builder for one transition: accumulates actions and tracks which timers run. */
class Transition {
  readonly actions: GatherAction[] = [];
  running: TimerName[];
  constructor(public state: GatherState) {
    this.running = [...state.running];
  }
  start(timer: TimerName, ms: number): void {
    this.actions.push({ type: 'startTimer', timer, ms });
    if (!this.running.includes(timer)) this.running.push(timer);
  }
  cancel(timer: TimerName): void {
    if (!this.running.includes(timer)) return;
    this.actions.push({ type: 'cancelTimer', timer });
    this.running = this.running.filter((name) => name !== timer);
  }
  cancelAll(): void {
    for (const timer of allTimers) this.cancel(timer);
  }
  set(patch: Partial<GatherState>): void {
    this.state = { ...this.state, ...patch };
  }
  done(): Step {
    return { state: { ...this.state, running: this.running }, actions: this.actions };
  }
}

function beginCollecting(t: Transition, spec: GatherSpec): void {
  t.set({ phase: 'collecting' });
  t.start('total', spec.totalTimeoutMs);
  if (t.state.count === 0) t.start('firstDigit', spec.firstDigitTimeoutMs);
}

function restartAttempt(t: Transition, parts: readonly PromptPart[]): void {
  t.cancelAll();
  t.actions.push({ type: 'discardEntry' });
  t.set({ phase: 'prompting', count: 0, pending: null });
  t.actions.push({ type: 'play', parts });
}

function fail(t: Transition, spec: GatherSpec, reason: FailureReason): void {
  const attempt = t.state.attempt + 1;
  if (attempt > spec.retries) {
    t.cancelAll();
    t.actions.push({ type: 'discardEntry' });
    finish(t, { ok: false, reason });
    return;
  }
  t.set({ attempt });
  restartAttempt(t, [reason === 'noInput' ? 'timeout' : 'invalid', 'prompt']);
}

function complete(t: Transition, spec: GatherSpec, reason: CompletionReason): void {
  if (t.state.count < spec.min) {
    fail(t, spec, t.state.count === 0 && reason === 'totalTimeout' ? 'noInput' : 'invalid');
    return;
  }
  t.cancelAll();
  t.set({ phase: 'validating', pending: reason });
  t.actions.push({ type: 'validate' });
}

function finish(t: Transition, end: GatherEnd): void {
  t.set({ phase: 'done' });
  t.actions.push({ type: 'finish', end });
}

function collectKey(t: Transition, spec: GatherSpec, key: GatherKey): void {
  switch (key) {
    case 'digit': {
      const count = t.state.count + 1;
      t.actions.push({ type: 'acceptKey' });
      t.set({ count });
      t.cancel('firstDigit');
      t.cancel('interDigit');
      if (count >= spec.max) complete(t, spec, 'max');
      else t.start('interDigit', spec.interDigitTimeoutMs);
      return;
    }
    case 'terminator':
      complete(t, spec, 'terminator');
      return;
    case 'full':
      // The secure sink kept this key and is now at its maximum.
      t.actions.push({ type: 'acceptKey' });
      t.set({ count: t.state.count + 1 });
      complete(t, spec, 'max');
      return;
    case 'rejected':
      fail(t, spec, 'invalid');
      return;
    case 'repeat':
    case 'agent':
      // Handled before phase dispatch.
      return;
  }
}

/**
 * The guarded transition function. Events that do not apply to the current phase
 * (a stale timer, a key after completion, a second promptEnded) change nothing.
 */
export function transition(state: GatherState, event: GatherEvent, spec: GatherSpec): Step {
  const t = new Transition(state);
  const phase = state.phase;

  if (event.type === 'start') {
    if (phase !== 'idle') return t.done();
    t.set({ phase: 'prompting' });
    t.actions.push({ type: 'play', parts: ['prompt'] });
    return t.done();
  }

  if (event.type === 'key' && (phase === 'prompting' || phase === 'collecting')) {
    if (event.key === 'agent') {
      if (phase === 'prompting') t.actions.push({ type: 'stopPrompt' });
      t.cancelAll();
      t.actions.push({ type: 'discardEntry' });
      finish(t, { ok: false, reason: 'agent' });
      return t.done();
    }
    if (event.key === 'repeat') {
      if (phase === 'prompting') t.actions.push({ type: 'stopPrompt' });
      restartAttempt(t, ['prompt']);
      return t.done();
    }
  }

  switch (phase) {
    case 'prompting':
      if (event.type === 'promptEnded') beginCollecting(t, spec);
      else if (event.type === 'key') {
        if (!spec.bargeIn) {
          // Keys during a prompt that does not allow barge-in are dropped, so an early
          // key can never become the first digit of the entry.
          t.actions.push({ type: 'discardEntry' });
        } else {
          t.actions.push({ type: 'stopPrompt' });
          beginCollecting(t, spec);
          collectKey(t, spec, event.key);
        }
      }
      break;
    case 'collecting':
      if (event.type === 'key') collectKey(t, spec, event.key);
      else if (event.type === 'timeout' && state.running.includes(event.timer)) {
        t.running = t.running.filter((name) => name !== event.timer);
        if (event.timer === 'firstDigit') fail(t, spec, 'noInput');
        else if (event.timer === 'interDigit') complete(t, spec, 'interDigitTimeout');
        else if (state.count === 0) fail(t, spec, 'noInput');
        else complete(t, spec, 'totalTimeout');
      }
      break;
    case 'validating':
      if (event.type === 'validated') {
        if (event.ok) finish(t, { ok: true, reason: state.pending ?? 'terminator' });
        else fail(t, spec, 'invalid');
      }
      break;
    case 'idle':
    case 'done':
      break;
  }
  return t.done();
}
