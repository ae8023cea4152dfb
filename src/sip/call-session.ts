// One call as the UAS core runs it (RFC 3261 §12–15, RFC 4028, RFC 3515): answer with a
// dialog, retransmit the 2xx until ACK (§13.3.1.4), BYE either way, CANCEL → 487, offers
// inside the dialog (re-INVITE §14, UPDATE RFC 3311), INFO, session expiry, blind transfer.
//
//  offered --accept--> answered --ACK--> confirmed
//  offered|answered|confirmed --(reject, CANCEL, BYE, timers, transfer...)--> ended
import { randomInt } from 'node:crypto';
import type { HeaderField, SipRequest, SipResponse } from './message.ts';
import { buildResponse } from './serializer.ts';
import { firstHeader, parseCSeq, parseNameAddr } from './headers.ts';
import { Dialog } from './dialog.ts';
import type { LocalEndpoint } from './dialog.ts';
import { GuardedState } from './state-machine.ts';
import { TimerSlot, backoff } from './timers.ts';
import type { Scheduler, TimerValues } from './timers.ts';
import { expiryMs, negotiateSessionTimer, refreshMs } from './session-timer.ts';
import type { SessionTimer } from './session-timer.ts';
import { IncomingCall } from './incoming-call.ts';
import type { CallControl, EndCause, IncomingCallInfo, InfoRefusal, TransferResult } from './incoming-call.ts';
import type { MessageChannel, ServerTransaction, TransactionEnd } from './transaction.ts';
import type { Target, TransportKind } from './transport.ts';
import type { TransactionLayer } from './transaction-layer.ts';

export type CallState = 'offered' | 'answered' | 'confirmed' | 'ended';

const edges = {
  offered: ['answered', 'ended'],
  answered: ['confirmed', 'ended'],
  confirmed: ['ended'],
  ended: [],
} as const satisfies Record<CallState, readonly CallState[]>;

/** What a session needs from the UAS core. */
export interface SessionHost {
  readonly transactions: TransactionLayer;
  readonly scheduler: Scheduler;
  readonly timers: TimerValues;
  readonly minSessionExpires: number;
  readonly transferTimeoutMs: number;
  /** How long the application may take to answer an INVITE or an offer before we answer for it. */
  readonly answerTimeoutMs: number;
  /** Allow / Supported / Accept advertised in 2xx to INVITE and OPTIONS (§13.3.1.4, §11.2). */
  readonly capabilities: readonly HeaderField[];
  registerDialog(session: CallSession): void;
  /** A channel to another hop on a listener of `kind` (undefined: none). */
  channelTo(kind: TransportKind, target: Target): MessageChannel | undefined;
  forget(session: CallSession): void;
}

const cseqNumber = (message: SipRequest | SipResponse): number | undefined => parseCSeq(firstHeader(message, 'CSeq') ?? '')?.seq;

export class CallSession implements CallControl {
  private readonly machine = new GuardedState<CallState>('call', edges, 'offered');
  readonly dialog: Dialog;
  readonly call: IncomingCall;
  private sessionTimer: SessionTimer | undefined;
  private lastLocalSdp = '';
  /** The peer's offer waiting for the application's answer (one at a time, §14.2). */
  private pendingOffer: { readonly request: SipRequest; readonly transaction: ServerTransaction; readonly guard: TimerSlot } | undefined;
  /** Our refresh re-INVITE (an offer) waits for its final response. */
  private localOfferPending = false;
  /** A refresh fell due while the peer's offer was pending; sent once that offer is refused. */
  private refreshWaiting = false;
  /** The 2xx being retransmitted until its ACK (§13.3.1.4), by CSeq number. */
  private unacknowledged: { response: SipResponse; cseq: number | undefined; interval: number } | undefined;
  private transferring: ((result: TransferResult) => void) | undefined;
  private readonly retransmit2xx: TimerSlot;
  private readonly ackTimeout: TimerSlot;
  private readonly expiry: TimerSlot;
  private readonly refresh: TimerSlot;
  private readonly transferTimeout: TimerSlot;
  private readonly answerTimeout: TimerSlot;

  constructor(
    private readonly host: SessionHost,
    readonly invite: SipRequest,
    readonly inviteTransaction: ServerTransaction,
    /** The flow the INVITE came on; responses use it, and our in-dialog requests unless routed elsewhere. */
    private readonly channel: MessageChannel,
    local: LocalEndpoint,
    info: Omit<IncomingCallInfo, 'callId'>,
    private readonly initialTimer: SessionTimer | undefined,
    private readonly timerHeaders: readonly HeaderField[],
  ) {
    this.dialog = new Dialog(invite, local);
    this.call = new IncomingCall({ ...info, callId: this.dialog.callId }, this);
    const scheduler = host.scheduler;
    this.retransmit2xx = new TimerSlot(scheduler);
    this.ackTimeout = new TimerSlot(scheduler);
    this.expiry = new TimerSlot(scheduler);
    this.refresh = new TimerSlot(scheduler);
    this.transferTimeout = new TimerSlot(scheduler);
    this.answerTimeout = new TimerSlot(scheduler);
    // An application that never answers must not hold the call (and its transaction) forever.
    this.answerTimeout.start(host.answerTimeoutMs, () => {
      if (!this.machine.is('offered')) return;
      this.inviteTransaction.respond(buildResponse(this.invite, 480, 'Temporarily Unavailable', [], this.dialog.localTag));
      this.end('timeout');
    });
  }

  get state(): CallState {
    return this.machine.state;
  }

  get ended(): boolean {
    return this.machine.is('ended');
  }

  // ---- the application's side (CallControl) ----

  accept(localSdp: string): boolean {
    if (!this.machine.is('offered')) return false;
    this.machine.move('answered');
    this.answerTimeout.stop();
    this.host.registerDialog(this);
    this.lastLocalSdp = localSdp;
    const ok = this.answer(this.invite, localSdp, this.timerHeaders);
    this.inviteTransaction.respond(ok);
    this.awaitAck(ok);
    this.startSessionTimer(this.initialTimer);
    return true;
  }

  reject(status: number, reason: string, headers: readonly HeaderField[]): boolean {
    if (!Number.isInteger(status) || status < 300 || status > 699) throw new RangeError('reject status must be 300-699');
    if (!this.machine.is('offered')) return false;
    this.inviteTransaction.respond(buildResponse(this.invite, status, reason, headers, this.dialog.localTag));
    this.end('rejected');
    return true;
  }

  hangup(): void {
    if (this.machine.is('offered')) {
      this.inviteTransaction.respond(buildResponse(this.invite, 480, 'Temporarily Unavailable', [], this.dialog.localTag));
    } else if (!this.machine.is('ended')) {
      this.sendBye();
    }
    this.end('local-bye');
  }

  transfer(referTo: string, extraHeaders: readonly HeaderField[]): Promise<TransferResult> {
    if (!this.machine.is('confirmed') || this.transferring !== undefined) return Promise.resolve('failed');
    return new Promise((resolve) => {
      this.transferring = resolve;
      const target = referTo.startsWith('<') ? referTo : `<${referTo}>`;
      const self = parseNameAddr(this.dialog.localParty)?.uri ?? '';
      const refer = this.dialog.request('REFER', [
        { name: 'Refer-To', value: target },
        { name: 'Referred-By', value: `<${self}>` },
        ...extraHeaders,
      ]);
      this.transferTimeout.start(this.host.transferTimeoutMs, () => this.settleTransfer('failed'));
      this.host.transactions.sendRequest(refer, this.requestChannel(), {
        // RFC 3515 §2.4.2: a 2xx (normally 202) means the transferee will try; NOTIFYs say how it went.
        onResponse: (response) => {
          if (response.status >= 300) this.settleTransfer('failed');
        },
        onFailure: () => this.settleTransfer('failed'),
      });
    });
  }

  // ---- the network's side (called by the UAS core) ----

  /** CANCEL of the INVITE (§9.2): 487 when still unanswered. */
  cancel(): void {
    if (!this.machine.is('offered')) return;
    this.inviteTransaction.respond(buildResponse(this.invite, 487, 'Request Terminated', [], this.dialog.localTag));
    this.end('cancel');
  }

  onAck(ack: SipRequest): void {
    if (this.unacknowledged === undefined || this.unacknowledged.cseq !== cseqNumber(ack)) return;
    this.unacknowledged = undefined;
    this.retransmit2xx.stop();
    this.ackTimeout.stop();
    if (this.machine.is('answered')) {
      this.machine.move('confirmed');
      this.dialog.confirm();
    }
    if (ack.body.length > 0) this.call.emit('answer', ack.body.toString('utf8'));
  }

  onInviteTransactionEnd(end: TransactionEnd): void {
    if (end === 'transport-error') this.end('transport-error');
  }

  onBye(request: SipRequest, transaction: ServerTransaction): void {
    transaction.respond(buildResponse(request, 200, 'OK'));
    this.end('remote-bye');
  }

  onInfo(request: SipRequest, transaction: ServerTransaction): void {
    let refusal: InfoRefusal | undefined;
    this.call.emit('info', {
      contentType: firstHeader(request, 'Content-Type') ?? '',
      body: request.body,
      refuse: (reason) => (refusal = reason),
    });
    if (refusal === undefined) transaction.respond(buildResponse(request, 200, 'OK'));
    else if (refusal.status === 415) transaction.respond(buildResponse(request, 415, 'Unsupported Media Type', [{ name: 'Accept', value: refusal.accept }]));
    else transaction.respond(buildResponse(request, 400, 'Bad Request'));
  }

  /** NOTIFY for our REFER's implicit subscription (RFC 3515 §2.4.4), body message/sipfrag. */
  onNotify(request: SipRequest, transaction: ServerTransaction): void {
    transaction.respond(buildResponse(request, 200, 'OK'));
    if (this.transferring === undefined || !(firstHeader(request, 'Event') ?? '').trim().toLowerCase().startsWith('refer')) return;
    // The sipfrag is a status line from the transfer target; no caller data in it.
    const status = /^SIP\/2\.0\s+(\d{3})/.exec(request.body.toString('latin1', 0, Math.min(request.body.length, 64)));
    const code = status?.[1] === undefined ? undefined : Number(status[1]);
    if (code !== undefined && code >= 200) this.settleTransfer(code < 300 ? 'accepted' : 'failed');
    else if ((firstHeader(request, 'Subscription-State') ?? '').trim().toLowerCase().startsWith('terminated')) this.settleTransfer('failed');
  }

  /** re-INVITE (§14.2) or UPDATE (RFC 3311): an offer for the app, or a session refresh. */
  onOffer(request: SipRequest, transaction: ServerTransaction): void {
    const isInvite = request.method === 'INVITE';
    if (this.localOfferPending && (isInvite || request.body.length > 0)) {
      // §14.2, RFC 3311 §5.2: offers crossed (glare); the peer retries after a random wait.
      transaction.respond(buildResponse(request, 491, 'Request Pending'));
      return;
    }
    if (this.pendingOffer !== undefined) {
      // §14.2: an offer while another is in progress → 500 with a random Retry-After (0–10 s).
      transaction.respond(buildResponse(request, 500, 'Server Internal Error', [{ name: 'Retry-After', value: String(randomInt(0, 11)) }]));
      return;
    }
    const negotiated = negotiateSessionTimer(request, this.host.minSessionExpires);
    if (!negotiated.ok) {
      transaction.respond(buildResponse(request, negotiated.status, 'Session Interval Too Small', negotiated.headers));
      return;
    }
    const succeed = (localSdp: string | undefined) => {
      const response = localSdp === undefined
        ? buildResponse(request, 200, 'OK', [{ name: 'Contact', value: this.dialog.contact }, ...negotiated.headers])
        : this.answer(request, localSdp, negotiated.headers);
      transaction.respond(response);
      if (isInvite) this.awaitAck(response);
      this.startSessionTimer(negotiated.timer);
    };
    if (request.body.length === 0) {
      // Offerless re-INVITE: our current SDP is the offer, the ACK answers (§14.2). UPDATE: refresh only.
      succeed(isInvite ? this.lastLocalSdp : undefined);
      return;
    }
    if (this.call.listenerCount('reinvite') === 0) {
      transaction.respond(buildResponse(request, 488, 'Not Acceptable Here'));
      return;
    }
    const pending = { request, transaction, guard: new TimerSlot(this.host.scheduler) };
    this.pendingOffer = pending;
    const settle = (fn: () => void) => {
      if (this.pendingOffer !== pending) return; // answered already, or the call ended (487)
      this.pendingOffer = undefined;
      pending.guard.stop();
      fn();
      // A successful answer restarted the session timer; after a refusal the due refresh goes out now.
      if (this.refreshWaiting && this.sessionTimer !== undefined) this.sendRefresh(this.sessionTimer);
    };
    const refuse = () => settle(() => transaction.respond(buildResponse(request, 488, 'Not Acceptable Here')));
    // An offer the application never answers is refused, leaving the session as it was (§14.2).
    pending.guard.start(this.host.answerTimeoutMs, refuse);
    this.call.emit('reinvite', {
      sdp: request.body.toString('utf8'),
      method: isInvite ? 'INVITE' : 'UPDATE',
      answer: (localSdp) => settle(() => {
        this.lastLocalSdp = localSdp;
        succeed(localSdp);
      }),
      // §14.2: a rejected offer leaves the session as it was.
      reject: refuse,
    });
  }

  // ---- internals ----

  /**
   * The channel our in-dialog requests take (§12.2.1.1, §8.1.2): towards the dialog's next hop.
   * Over TCP/TLS the INVITE's connection is reused (often the only way back through NAT), and so
   * is the INVITE's path when the hop is where the INVITE came from or cannot be addressed.
   */
  private requestChannel(): MessageChannel {
    if (this.channel.reliable) return this.channel;
    const hop = this.dialog.nextHop();
    const peer = this.channel.peer;
    if (hop === undefined || (hop.address === peer.address && hop.port === peer.port)) return this.channel;
    return this.host.channelTo(peer.kind, hop) ?? this.channel;
  }

  private answer(request: SipRequest, localSdp: string, extra: readonly HeaderField[]): SipResponse {
    const response = buildResponse(
      request,
      200,
      'OK',
      [
        // §12.1.1: the UAS MUST copy every Record-Route value into its 2xx, in order.
        ...request.headers.filter((field) => field.name === 'Record-Route'),
        { name: 'Contact', value: this.dialog.contact },
        ...this.host.capabilities,
        ...extra,
        { name: 'Content-Type', value: 'application/sdp' },
      ],
      this.dialog.localTag,
    );
    response.body = Buffer.from(localSdp, 'utf8');
    return response;
  }

  /** §13.3.1.4: resend the 2xx from T1 doubling to T2 until the ACK; none within 64*T1 → BYE. */
  private awaitAck(response: SipResponse): void {
    const { T1, T2 } = this.host.timers;
    this.unacknowledged = { response, cseq: cseqNumber(response), interval: T1 };
    const resend = () => {
      const pending = this.unacknowledged;
      if (pending === undefined) return;
      if (!this.channel.send(pending.response)) {
        this.end('transport-error'); // §18.4: the flow is gone (e.g. the TCP connection closed)
        return;
      }
      pending.interval = backoff(pending.interval, T2);
      this.retransmit2xx.start(pending.interval, resend);
    };
    this.retransmit2xx.start(T1, resend);
    this.ackTimeout.start(64 * T1, () => {
      this.sendBye();
      this.end('timeout');
    });
  }

  private startSessionTimer(timer: SessionTimer | undefined): void {
    this.expiry.stop();
    this.refresh.stop();
    this.refreshWaiting = false;
    this.sessionTimer = timer;
    if (timer === undefined) return;
    this.expiry.start(expiryMs(timer), () => {
      this.sendBye();
      this.end('session-timer');
    });
    if (timer.refresher === 'uas') this.refresh.start(refreshMs(timer), () => this.sendRefresh(timer));
  }

  /**
   * RFC 4028 §10 refresh as the refresher: a body-less UPDATE (RFC 3311) when the peer's Allow
   * lists UPDATE, else a re-INVITE. The expiry timer ends the call if no refresh succeeds.
   */
  private sendRefresh(timer: SessionTimer): void {
    const sessionExpires: HeaderField = { name: 'Session-Expires', value: `${timer.interval};refresher=uas` };
    const refreshed = (response: SipResponse) => {
      if (response.status >= 200 && response.status < 300 && this.sessionTimer === timer && !this.machine.is('ended')) this.startSessionTimer(timer);
    };
    if (this.dialog.remoteAllows('UPDATE')) {
      const update = this.dialog.request('UPDATE', [sessionExpires, { name: 'Supported', value: 'timer' }]);
      this.host.transactions.sendRequest(update, this.requestChannel(), { onResponse: refreshed, onFailure: () => undefined });
      return;
    }
    if (this.pendingOffer !== undefined) {
      this.refreshWaiting = true; // a re-INVITE now would cross the peer's offer (§14.2)
      return;
    }
    this.sendRefreshInvite(sessionExpires, refreshed);
  }

  /**
   * The re-INVITE refresh offers our current SDP unchanged (RFC 4028 §10 allows a refresh that
   * changes nothing; RFC 3264 §8 keeps the o= version for an unchanged description). We ACK
   * its 2xx and every retransmission of it ourselves (§13.2.2.4); the transaction ACKs failures.
   */
  private sendRefreshInvite(sessionExpires: HeaderField, refreshed: (response: SipResponse) => void): void {
    const invite = this.dialog.request('INVITE', [sessionExpires, ...this.host.capabilities], Buffer.from(this.lastLocalSdp, 'utf8'), 'application/sdp');
    const seq = cseqNumber(invite) ?? 0;
    let ack: SipRequest | undefined;
    this.localOfferPending = true;
    const channel = this.requestChannel();
    this.host.transactions.sendRequest(invite, channel, {
      onResponse: (response) => {
        if (response.status < 200) return;
        if (response.status >= 300) {
          this.localOfferPending = false;
          return;
        }
        const first = ack === undefined;
        ack ??= this.dialog.ack(seq);
        channel.send(ack); // the 2xx's ACK follows the INVITE's route (§13.2.2.4)
        if (!first) return;
        this.localOfferPending = false;
        refreshed(response);
        if (response.body.length > 0 && !this.machine.is('ended')) this.call.emit('answer', response.body.toString('utf8'));
      },
      onFailure: () => {
        this.localOfferPending = false;
      },
    });
  }

  private sendBye(): void {
    this.host.transactions.sendRequest(this.dialog.request('BYE'), this.requestChannel(), {
      onResponse: () => undefined,
      onFailure: () => undefined,
    });
  }

  private settleTransfer(result: TransferResult): void {
    const resolve = this.transferring;
    if (resolve === undefined) return;
    this.transferring = undefined;
    this.transferTimeout.stop();
    if (result === 'accepted' && !this.machine.is('ended')) {
      // RFC 5589 §6.1: the transferor leaves once the transfer succeeded.
      this.sendBye();
      this.end('transfer');
    }
    resolve(result);
  }

  /** The one way out: idempotent, stops every timer, settles a pending transfer, emits 'ended' once. */
  private end(cause: EndCause): void {
    if (this.machine.is('ended')) return;
    this.machine.move('ended');
    for (const slot of [this.retransmit2xx, this.ackTimeout, this.expiry, this.refresh, this.answerTimeout]) slot.stop();
    const offer = this.pendingOffer;
    this.pendingOffer = undefined;
    if (offer !== undefined) {
      // §15.1.2: a request still pending when the dialog ends is answered 487.
      offer.guard.stop();
      offer.transaction.respond(buildResponse(offer.request, 487, 'Request Terminated'));
    }
    this.unacknowledged = undefined;
    this.dialog.terminate();
    this.host.forget(this);
    this.settleTransfer('failed');
    this.call.emit('ended', cause);
  }
}
