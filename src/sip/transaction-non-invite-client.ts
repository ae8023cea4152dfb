// Non-INVITE client transaction, RFC 3261 §17.1.2 (the IVR's BYE, REFER, OPTIONS, NOTIFY...).
//
//  Trying --1xx--> Proceeding
//  Trying|Proceeding --200-699--> Completed --Timer K--> Terminated
//  Trying|Proceeding --Timer F or transport error--> Terminated (failure to the TU)
//  Timer E retransmits: doubling to T2 in Trying, every T2 in Proceeding (§17.1.2.2).
import type { SipRequest, SipResponse } from './message.ts';
import { GuardedState } from './state-machine.ts';
import { TimerSlot, backoff } from './timers.ts';
import type { ClientTransaction, ClientTransactionHandlers, TransactionContext } from './transaction.ts';

export type NonInviteClientState = 'trying' | 'proceeding' | 'completed' | 'terminated';

const edges = {
  trying: ['proceeding', 'completed', 'terminated'],
  proceeding: ['completed', 'terminated'],
  completed: ['terminated'],
  terminated: [],
} as const satisfies Record<NonInviteClientState, readonly NonInviteClientState[]>;

export class NonInviteClientTransaction implements ClientTransaction {
  private readonly machine = new GuardedState<NonInviteClientState>('non-invite-client', edges, 'trying');
  private readonly timerE: TimerSlot;
  private readonly timerF: TimerSlot;
  private readonly timerK: TimerSlot;
  private interval: number;

  constructor(
    readonly request: SipRequest,
    private readonly context: TransactionContext,
    private readonly handlers: ClientTransactionHandlers,
  ) {
    this.timerE = new TimerSlot(context.scheduler);
    this.timerF = new TimerSlot(context.scheduler);
    this.timerK = new TimerSlot(context.scheduler);
    this.interval = context.timers.E;
    if (!this.sendRequest()) return;
    if (!context.channel.reliable) this.armTimerE();
    this.timerF.start(context.timers.F, () => this.fail('timeout'));
  }

  get state(): NonInviteClientState {
    return this.machine.state;
  }

  receiveResponse(response: SipResponse): void {
    if (!this.machine.is('trying', 'proceeding')) return; // Completed absorbs retransmitted finals.
    if (response.status < 200) {
      if (this.machine.is('trying')) this.transition('proceeding');
    } else {
      this.transition('completed');
    }
    this.handlers.onResponse(response);
  }

  terminate(): void {
    if (!this.machine.is('terminated')) this.transition('terminated');
  }

  private sendRequest(): boolean {
    if (this.context.channel.send(this.request)) return true;
    this.fail('transport-error');
    return false;
  }

  private fail(end: 'timeout' | 'transport-error'): void {
    if (this.machine.is('terminated')) return;
    this.transition('terminated', end);
    this.handlers.onFailure(end);
  }

  private armTimerE(): void {
    this.timerE.start(this.interval, () => {
      if (!this.sendRequest()) return;
      const { T2 } = this.context.timers;
      this.interval = this.machine.is('proceeding') ? T2 : backoff(this.interval, T2);
      this.armTimerE();
    });
  }

  private transition(to: NonInviteClientState, end: 'normal' | 'timeout' | 'transport-error' = 'normal'): void {
    this.machine.move(to);
    switch (to) {
      case 'proceeding':
        break; // Timer E keeps running, now at T2 (§17.1.2.2).
      case 'completed':
        this.timerE.stop();
        this.timerF.stop();
        this.timerK.start(this.context.timers.K, () => this.transition('terminated'));
        break;
      case 'terminated':
        for (const timer of [this.timerE, this.timerF, this.timerK]) timer.stop();
        this.context.onTerminated(end);
        break;
      case 'trying':
        break;
    }
  }
}
