// The hand-off from SIP to the rest of the system: one IncomingCall per accepted-for-routing
// INVITE. It carries what the media side needs (the remote SDP offer, the dialled number,
// the peer) and takes the local SDP answer; every wire action is done by the call session.
import { EventEmitter } from 'node:events';
import type { HeaderField } from './message.ts';
import type { TransportKind } from './transport.ts';

export type EndCause =
  | 'remote-bye'
  | 'cancel'
  | 'local-bye'
  | 'session-timer'
  | 'transfer'
  | 'transport-error'
  | 'timeout'
  | 'rejected';

export type TransferResult = 'accepted' | 'failed';

/** A new SDP offer inside the call (re-INVITE or UPDATE): answer it, or reject (488). */
export interface SdpOffer {
  readonly sdp: string;
  readonly method: 'INVITE' | 'UPDATE';
  answer(localSdp: string): void;
  reject(): void;
}

/** How the application turns an INFO down (RFC 6086 §4.2.2 for INFO without an Info Package). */
export type InfoRefusal =
  /** A body type it does not take; `accept` lists the ones it does (§21.4.13, §20.1). */
  | { readonly status: 415; readonly accept: string }
  /** A body of a type it takes that does not parse. */
  | { readonly status: 400 };

/** An INFO request's body, e.g. application/dtmf-relay, kept as bytes (never a string). */
export interface InfoMessage {
  readonly contentType: string;
  readonly body: Buffer;
  /** Called while the event is handled: the INFO is answered with the refusal instead of 200. */
  refuse(refusal: InfoRefusal): void;
}

export interface IncomingCallEvents {
  reinvite: [offer: SdpOffer];
  info: [info: InfoMessage];
  /**
   * The peer's answer to an offer of ours: after a delayed offer (§13.2.1, §14.2) the ACK's SDP;
   * after our session-refresh re-INVITE (RFC 4028 §10) the SDP of its 2xx.
   */
  answer: [sdp: string];
  /** Emitted exactly once. */
  ended: [cause: EndCause];
}

export interface IncomingCallInfo {
  readonly callId: string;
  /** Request-URI user part: the number the caller dialled. */
  readonly dialled: string;
  /** From URI user part: the caller's number as they presented it (mask it before logging). */
  readonly caller: string;
  /** What the routing hook chose for this number (the same kind of answer for unknown numbers). */
  readonly application: string;
  readonly remote: { readonly address: string; readonly port: number };
  readonly transport: TransportKind;
  /** The SDP offer of the INVITE ('' for an offerless INVITE). */
  readonly remoteSdp: string;
}

/** What the call asks of the SIP side; implemented by the call session. */
export interface CallControl {
  accept(localSdp: string): boolean;
  reject(status: number, reason: string, headers: readonly HeaderField[]): boolean;
  hangup(): void;
  transfer(referTo: string, extraHeaders: readonly HeaderField[]): Promise<TransferResult>;
  readonly ended: boolean;
}

/** The call carries every IncomingCallInfo field (declaration merging; the constructor copies them). */
export interface IncomingCall extends IncomingCallInfo {}

export class IncomingCall extends EventEmitter<IncomingCallEvents> {
  constructor(
    info: IncomingCallInfo,
    private readonly control: CallControl,
  ) {
    super();
    Object.assign(this, info);
  }

  get ended(): boolean {
    return this.control.ended;
  }

  /** Sends 200 OK with this SDP answer; false when the call is no longer waiting (e.g. CANCELled). */
  accept(localSdp: string): boolean {
    return this.control.accept(localSdp);
  }

  /** Final failure response (300–699); false when the call is no longer waiting. */
  reject(status: number, reason: string, headers: readonly HeaderField[] = []): boolean {
    return this.control.reject(status, reason, headers);
  }

  /** BYE once answered, 480 before; no-op once ended. */
  hangup(): void {
    this.control.hangup();
  }

  /** Blind transfer (RFC 3515): REFER, then NOTIFY sipfrag decides. On success the call ends ('transfer'). */
  transfer(referTo: string, extraHeaders: readonly HeaderField[] = []): Promise<TransferResult> {
    return this.control.transfer(referTo, extraHeaders);
  }

  /** Ends the call if it is live; safe to call any number of times. */
  close(): void {
    this.control.hangup();
  }
}
