// What every transaction (RFC 3261 §17) shares: the channel it sends on and how it reports its end.
import type { SipMessage, SipRequest, SipResponse } from './message.ts';
import type { Scheduler, TimerValues } from './timers.ts';
import type { Source } from './transport.ts';

/** Where a transaction sends: bound by the transport layer to one destination (§18). */
export interface MessageChannel {
  /** Reliable transports (TCP, TLS) switch off retransmissions (§17.1.1.2, §17.2.1). */
  readonly reliable: boolean;
  /** The other end: a request's source for server transactions, the destination for client ones. */
  readonly peer: Source;
  /** Returns false when the transport could not send (§17.1.4, §17.2.4: transport error). */
  send(message: SipMessage): boolean;
}

export type TransactionEnd = 'normal' | 'timeout' | 'transport-error';

export interface TransactionContext {
  readonly channel: MessageChannel;
  readonly scheduler: Scheduler;
  readonly timers: TimerValues;
  /** Called exactly once, when the transaction enters Terminated. */
  readonly onTerminated: (end: TransactionEnd) => void;
}

export interface ServerTransaction {
  readonly request: SipRequest;
  readonly state: string;
  /** The TU's response (§17.2.1, §17.2.2). */
  respond(response: SipResponse): void;
  /** A retransmission (or, for INVITE, an ACK to a non-2xx) matched to this transaction. */
  receiveRequest(request: SipRequest): void;
  /** Abandon without sending anything (shutdown). */
  terminate(): void;
}

export interface ClientTransactionHandlers {
  /** Each response passed up to the TU (provisional, final, and 2xx retransmissions for INVITE). */
  onResponse(response: SipResponse): void;
  /** Timer B/F or a transport error, before any final response. */
  onFailure(end: 'timeout' | 'transport-error'): void;
}

export interface ClientTransaction {
  readonly request: SipRequest;
  readonly state: string;
  receiveResponse(response: SipResponse): void;
  terminate(): void;
}
