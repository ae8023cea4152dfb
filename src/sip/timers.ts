// Every SIP timer in one place (RFC 3261 §17 and Table 4; RFC 6026 §8 for Timers L and M),
// plus the Scheduler the transaction and dialog layers run on, so tests drive a fake clock.

/** RTT estimate (§17.1.1.1). */
export const T1 = 500;
/** Maximum retransmit interval for non-INVITE requests and INVITE responses. */
export const T2 = 4000;
/** Maximum duration a message remains in the network. */
export const T4 = 5000;

export interface TimerValues {
  readonly T1: number;
  readonly T2: number;
  readonly T4: number;
  /** INVITE request retransmit, initial interval; 0 = not used (reliable transport). */
  readonly A: number;
  /** INVITE transaction timeout. */
  readonly B: number;
  /** Wait time for response retransmits in the INVITE client's Completed state. */
  readonly D: number;
  /** Non-INVITE request retransmit, initial interval; 0 = not used. */
  readonly E: number;
  /** Non-INVITE transaction timeout. */
  readonly F: number;
  /** INVITE final-response retransmit, initial interval; 0 = not used. */
  readonly G: number;
  /** Wait time for ACK receipt. */
  readonly H: number;
  /** Wait time for ACK retransmits (Confirmed state). */
  readonly I: number;
  /** Wait time for non-INVITE request retransmits (server Completed state). */
  readonly J: number;
  /** Wait time for response retransmits (non-INVITE client Completed state). */
  readonly K: number;
  /** RFC 6026: INVITE server Accepted state lifetime (absorbs INVITE retransmits after 2xx). */
  readonly L: number;
  /** RFC 6026: INVITE client Accepted state lifetime (absorbs 2xx retransmits). */
  readonly M: number;
}

export interface TimerBase {
  readonly T1: number;
  readonly T2: number;
  readonly T4: number;
}

/**
 * Table 4 of RFC 3261 for one transport. Over a reliable transport the retransmit timers
 * (A, E, G) are unused and the "absorb retransmits" waits (D, I, J, K) are zero (§17.1.1.2,
 * §17.1.2.2, §17.2.1, §17.2.2).
 */
export function timerValues(reliable: boolean, base: TimerBase = { T1, T2, T4 }): TimerValues {
  const sixtyFour = 64 * base.T1;
  return {
    ...base,
    A: reliable ? 0 : base.T1,
    B: sixtyFour,
    // §17.1.1.2: "at least 32 seconds for unreliable transports".
    D: reliable ? 0 : 32_000,
    E: reliable ? 0 : base.T1,
    F: sixtyFour,
    G: reliable ? 0 : base.T1,
    H: sixtyFour,
    I: reliable ? 0 : base.T4,
    J: reliable ? 0 : sixtyFour,
    K: reliable ? 0 : base.T4,
    L: sixtyFour,
    M: sixtyFour,
  };
}

/**
 * Next retransmit interval: doubling, capped at `cap` when given (§17.1.2.2 caps Timer E
 * at T2, §17.2.1 caps Timer G at T2; Timer A doubles uncapped until Timer B fires).
 */
export function backoff(current: number, cap?: number): number {
  const doubled = current * 2;
  return cap === undefined ? doubled : Math.min(doubled, cap);
}

export type TimerHandle = { readonly __timer: true };

/** The clock every SIP timer runs on. Production uses `systemScheduler`; tests a fake. */
export interface Scheduler {
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clear(handle: TimerHandle | undefined): void;
  now(): number;
}

/** Real timers, unref'd: a pending SIP timer never keeps the process alive on its own. */
export const systemScheduler: Scheduler = {
  setTimeout(fn, ms) {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return timer as unknown as TimerHandle;
  },
  clear(handle) {
    if (handle !== undefined) clearTimeout(handle as unknown as NodeJS.Timeout);
  },
  now: () => Date.now(),
};

/** One named timer slot: starting it again replaces the previous run; stop is idempotent. */
export class TimerSlot {
  private handle: TimerHandle | undefined;

  constructor(private readonly scheduler: Scheduler) {}

  start(ms: number, fn: () => void): void {
    this.stop();
    this.handle = this.scheduler.setTimeout(() => {
      this.handle = undefined;
      fn();
    }, ms);
  }

  stop(): void {
    this.scheduler.clear(this.handle);
    this.handle = undefined;
  }

  get running(): boolean {
    return this.handle !== undefined;
  }
}
