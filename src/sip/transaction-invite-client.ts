// INVITE client transaction, RFC 3261 §17.1.1 with the Accepted state of RFC 6026 §7.2.
//
//  Calling --1xx--> Proceeding
//  Calling|Proceeding --2xx--> Accepted --Timer M--> Terminated (2xx retransmissions go to the TU)
//  Calling|Proceeding --300-699--> Completed (ACK sent here, §17.1.1.3) --Timer D--> Terminated
//  Calling --Timer B or transport error--> Terminated (failure to the TU)
import type { HeaderField, SipRequest, SipResponse } from './message.ts';
import { GuardedState } from './state-machine.ts';
import { TimerSlot, backoff } from './timers.ts';
import type { ClientTransaction, ClientTransactionHandlers, TransactionContext } from './transaction.ts';

export type InviteClientState = 'calling' | 'proceeding' | 'accepted' | 'completed' | 'terminated';

const edges = {
  calling: ['proceeding', 'accepted', 'completed', 'terminated'],
  proceeding: ['accepted', 'completed', 'terminated'],
  accepted: ['terminated'],
  completed: ['terminated'],
  terminated: [],
} as const satisfies Record<InviteClientState, readonly InviteClientState[]>;

/**
 * The ACK for a non-2xx final response (§17.1.1.3): same Request-URI, Call-ID, From, CSeq
 * number and top Via as the INVITE, To from the response, Route headers from the INVITE.
 */
export function ackForFailure(invite: SipRequest, response: SipResponse): SipRequest {
  const pick = (message: { headers: HeaderField[] }, name: string) => message.headers.filter((h) => h.name === name);
  const cseq = pick(invite, 'CSeq')[0]?.value.trim().split(/\s+/)[0] ?? '1';
  const headers: HeaderField[] = [
    ...pick(invite, 'Via').slice(0, 1),
    ...pick(invite, 'Route'),
    { name: 'Max-Forwards', value: '70' },
    ...pick(invite, 'From'),
    ...pick(response, 'To'),
    ...pick(invite, 'Call-ID'),
    { name: 'CSeq', value: `${cseq} ACK` },
  ];
  return { kind: 'request', method: 'ACK', uri: invite.uri, headers, body: Buffer.alloc(0) };
}

export class InviteClientTransaction implements ClientTransaction {
  private readonly machine = new GuardedState<InviteClientState>('invite-client', edges, 'calling');
  private readonly timerA: TimerSlot;
  private readonly timerB: TimerSlot;
  private readonly timerD: TimerSlot;
  private readonly timerM: TimerSlot;
  private interval: number;
  private ack: SipRequest | undefined;

  constructor(
    readonly request: SipRequest,
    private readonly context: TransactionContext,
    private readonly handlers: ClientTransactionHandlers,
  ) {
    this.timerA = new TimerSlot(context.scheduler);
    this.timerB = new TimerSlot(context.scheduler);
    this.timerD = new TimerSlot(context.scheduler);
    this.timerM = new TimerSlot(context.scheduler);
    this.interval = context.timers.A;
    if (!this.send(request)) return;
    if (!context.channel.reliable) this.armTimerA();
    this.timerB.start(context.timers.B, () => this.fail('timeout'));
  }

  get state(): InviteClientState {
    return this.machine.state;
  }

  receiveResponse(response: SipResponse): void {
    const { status } = response;
    switch (this.machine.state) {
      case 'calling':
      case 'proceeding':
        if (status < 200) {
          if (this.machine.is('calling')) this.transition('proceeding');
        } else if (status < 300) {
          this.transition('accepted');
        } else {
          this.ack = ackForFailure(this.request, response);
          this.transition('completed');
          if (!this.send(this.ack)) return;
        }
        this.handlers.onResponse(response);
        return;
      case 'accepted':
        if (status >= 200 && status < 300) this.handlers.onResponse(response);
        return;
      case 'completed':
        // A retransmitted final response gets the ACK again, and is not passed up.
        if (status >= 300 && this.ack !== undefined) this.send(this.ack);
        return;
      case 'terminated':
        return;
    }
  }

  terminate(): void {
    if (!this.machine.is('terminated')) this.transition('terminated');
  }

  private send(message: SipRequest): boolean {
    if (this.context.channel.send(message)) return true;
    this.fail('transport-error');
    return false;
  }

  private fail(end: 'timeout' | 'transport-error'): void {
    if (this.machine.is('terminated')) return;
    const waiting = this.machine.is('calling', 'proceeding');
    this.transition('terminated', end);
    if (waiting) this.handlers.onFailure(end);
  }

  private armTimerA(): void {
    this.timerA.start(this.interval, () => {
      if (!this.send(this.request)) return;
      this.interval = backoff(this.interval); // §17.1.1.2: Timer A doubles, uncapped.
      this.armTimerA();
    });
  }

  private transition(to: InviteClientState, end: 'normal' | 'timeout' | 'transport-error' = 'normal'): void {
    this.machine.move(to);
    // §17.1.1.2: retransmission (A) and the timeout (B) only matter in Calling.
    this.timerA.stop();
    this.timerB.stop();
    const { timers } = this.context;
    switch (to) {
      case 'accepted':
        this.timerM.start(timers.M, () => this.transition('terminated'));
        break;
      case 'completed':
        this.timerD.start(timers.D, () => this.transition('terminated'));
        break;
      case 'terminated':
        for (const timer of [this.timerD, this.timerM]) timer.stop();
        this.context.onTerminated(end);
        break;
      case 'calling':
      case 'proceeding':
        break;
    }
  }
}
