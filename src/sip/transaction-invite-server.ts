// INVITE server transaction, RFC 3261 §17.2.1 with the Accepted state of RFC 6026 §7.1.
//
//  Proceeding --1xx--> Proceeding
//  Proceeding --2xx--> Accepted   --Timer L--> Terminated   (2xx retransmitted by the TU, §13.3.1.4)
//  Proceeding --3xx-6xx--> Completed --ACK--> Confirmed --Timer I--> Terminated
//                          Completed --Timer H--> Terminated (no ACK: timeout to the TU)
import type { SipRequest, SipResponse } from './message.ts';
import { buildResponse } from './serializer.ts';
import { GuardedState } from './state-machine.ts';
import { TimerSlot, backoff } from './timers.ts';
import type { ServerTransaction, TransactionContext, TransactionEnd } from './transaction.ts';

export type InviteServerState = 'proceeding' | 'accepted' | 'completed' | 'confirmed' | 'terminated';

const edges = {
  proceeding: ['accepted', 'completed', 'terminated'],
  accepted: ['terminated'],
  completed: ['confirmed', 'terminated'],
  confirmed: ['terminated'],
  terminated: [],
} as const satisfies Record<InviteServerState, readonly InviteServerState[]>;

export class InviteServerTransaction implements ServerTransaction {
  private readonly machine = new GuardedState<InviteServerState>('invite-server', edges, 'proceeding');
  private lastResponse: SipResponse | undefined;
  private readonly timerG: TimerSlot;
  private readonly timerH: TimerSlot;
  private readonly timerI: TimerSlot;
  private readonly timerL: TimerSlot;
  private retransmitInterval: number;

  constructor(
    readonly request: SipRequest,
    private readonly context: TransactionContext,
  ) {
    const { scheduler, timers } = context;
    this.timerG = new TimerSlot(scheduler);
    this.timerH = new TimerSlot(scheduler);
    this.timerI = new TimerSlot(scheduler);
    this.timerL = new TimerSlot(scheduler);
    this.retransmitInterval = timers.G;
    // §17.2.1: the server transaction sends 100 Trying itself unless the TU answers within
    // 200 ms; we cannot know that, so it is sent at once (always allowed).
    const trying = buildResponse(request, 100, 'Trying');
    if (this.send(trying)) this.lastResponse = trying;
  }

  get state(): InviteServerState {
    return this.machine.state;
  }

  respond(response: SipResponse): void {
    if (!this.machine.is('proceeding', 'accepted')) return;
    if (this.machine.is('accepted')) {
      // RFC 6026 §7.1: 2xx retransmissions from the TU pass through in Accepted.
      if (response.status >= 200 && response.status < 300) this.send(response);
      return;
    }
    if (!this.send(response)) return;
    this.lastResponse = response;
    if (response.status < 200) return;
    this.transition(response.status < 300 ? 'accepted' : 'completed');
  }

  receiveRequest(request: SipRequest): void {
    if (request.method === 'ACK') {
      if (this.machine.is('completed')) this.transition('confirmed');
      return; // Confirmed absorbs ACK retransmissions; Accepted ACKs are routed to the TU by the layer.
    }
    // A retransmitted INVITE gets the most recent response again (§17.2.1); Accepted absorbs it.
    if (this.machine.is('proceeding', 'completed') && this.lastResponse !== undefined) this.send(this.lastResponse);
  }

  terminate(): void {
    if (!this.machine.is('terminated')) this.transition('terminated', 'normal');
  }

  private send(response: SipResponse): boolean {
    if (this.context.channel.send(response)) return true;
    // §17.2.4: a transport failure terminates the transaction and is reported to the TU.
    if (!this.machine.is('terminated')) this.transition('terminated', 'transport-error');
    return false;
  }

  /** The one transition function: guard, leave-actions (all timers off), entry actions. */
  private transition(to: InviteServerState, end: TransactionEnd = 'normal'): void {
    this.machine.move(to);
    for (const timer of [this.timerG, this.timerH, this.timerI, this.timerL]) timer.stop();
    const { timers } = this.context;
    switch (to) {
      case 'accepted':
        this.timerL.start(timers.L, () => this.transition('terminated'));
        break;
      case 'completed':
        if (!this.context.channel.reliable) this.armTimerG();
        this.timerH.start(timers.H, () => this.transition('terminated', 'timeout'));
        break;
      case 'confirmed':
        this.timerI.start(timers.I, () => this.transition('terminated'));
        break;
      case 'terminated':
        this.context.onTerminated(end);
        break;
      case 'proceeding':
        break;
    }
  }

  private armTimerG(): void {
    this.timerG.start(this.retransmitInterval, () => {
      if (this.lastResponse !== undefined && !this.send(this.lastResponse)) return;
      this.retransmitInterval = backoff(this.retransmitInterval, this.context.timers.T2);
      this.armTimerG();
    });
  }
}
