// Non-INVITE server transaction, RFC 3261 §17.2.2.
//
//  Trying --1xx--> Proceeding --1xx--> Proceeding
//  Trying|Proceeding --200-699--> Completed --Timer J--> Terminated
import type { SipRequest, SipResponse } from './message.ts';
import { GuardedState } from './state-machine.ts';
import { TimerSlot } from './timers.ts';
import type { ServerTransaction, TransactionContext, TransactionEnd } from './transaction.ts';

export type NonInviteServerState = 'trying' | 'proceeding' | 'completed' | 'terminated';

const edges = {
  trying: ['proceeding', 'completed', 'terminated'],
  proceeding: ['completed', 'terminated'],
  completed: ['terminated'],
  terminated: [],
} as const satisfies Record<NonInviteServerState, readonly NonInviteServerState[]>;

export class NonInviteServerTransaction implements ServerTransaction {
  private readonly machine = new GuardedState<NonInviteServerState>('non-invite-server', edges, 'trying');
  private lastResponse: SipResponse | undefined;
  private readonly timerJ: TimerSlot;

  constructor(
    readonly request: SipRequest,
    private readonly context: TransactionContext,
  ) {
    this.timerJ = new TimerSlot(context.scheduler);
  }

  get state(): NonInviteServerState {
    return this.machine.state;
  }

  respond(response: SipResponse): void {
    if (!this.machine.is('trying', 'proceeding')) return;
    if (!this.context.channel.send(response)) {
      this.transition('terminated', 'transport-error');
      return;
    }
    this.lastResponse = response;
    if (response.status >= 200) this.transition('completed');
    else if (this.machine.is('trying')) this.transition('proceeding');
  }

  receiveRequest(_retransmission: SipRequest): void {
    // §17.2.2: Trying absorbs retransmissions; later states resend the latest response.
    if (this.machine.is('proceeding', 'completed') && this.lastResponse !== undefined) {
      if (!this.context.channel.send(this.lastResponse)) this.transition('terminated', 'transport-error');
    }
  }

  terminate(): void {
    if (!this.machine.is('terminated')) this.transition('terminated');
  }

  private transition(to: NonInviteServerState, end: TransactionEnd = 'normal'): void {
    this.machine.move(to);
    this.timerJ.stop();
    if (to === 'completed') this.timerJ.start(this.context.timers.J, () => this.transition('terminated'));
    if (to === 'terminated') this.context.onTerminated(end);
  }
}
