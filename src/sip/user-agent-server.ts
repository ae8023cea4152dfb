// The UAS core (RFC 3261 §8.2, §12–15): what every request gets before and after it reaches a
// call. Request-URIs we cannot serve get 416; new INVITEs pass media-type, admission,
// session-timer and routing checks and become IncomingCalls; in-dialog requests find their call
// or get 481; OPTIONS is answered with our capabilities; methods we know but do not serve get
// 405, the rest 501.
import type { HeaderField, SipRequest, SipResponse } from './message.ts';
import { buildResponse } from './serializer.ts';
import { firstHeader, headerValues, toTag, fromTag } from './headers.ts';
import { uriScheme, userPart } from './uri.ts';
import { parseNameAddr } from './name-addr.ts';
import { dialogKey } from './dialog.ts';
import { randomToken } from './token.ts';
import type { LocalEndpoint } from './dialog.ts';
import { CallSession } from './call-session.ts';
import type { SessionHost } from './call-session.ts';
import type { IncomingCall } from './incoming-call.ts';
import { negotiateSessionTimer, MIN_SE_FLOOR } from './session-timer.ts';
import { TransactionLayer } from './transaction-layer.ts';
import type { TransactionUser } from './transaction-layer.ts';
import type { MessageChannel, ServerTransaction, TransactionEnd } from './transaction.ts';
import type { MessageSink } from './transport-layer.ts';
import { timerValues, systemScheduler } from './timers.ts';
import type { Scheduler, TimerBase, TimerValues } from './timers.ts';
import type { SipLogger, Source, Target, TransportKind } from './transport.ts';
import { silentLogger } from './transport.ts';

export type AdmissionDecision =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly status: number;
      readonly reason?: string;
      /** Seconds, sent as Retry-After (e.g. with 503 when the server is full). */
      readonly retryAfter?: number;
      /** e.g. WWW-Authenticate for a 401 digest challenge. */
      readonly headers?: readonly HeaderField[];
    };

/** Consulted for every new INVITE before a call exists (max calls, rate limits, trust, auth). */
export type AdmissionHook = (invite: SipRequest, source: Source) => AdmissionDecision;

/**
 * Maps the dialled number to an application. It returns an application for EVERY number: an
 * unknown number must be routed to a fallback application (e.g. "not in service" prompt) that
 * answers exactly like a known one, so callers cannot enumerate numbers by response or timing.
 * The SIP layer never rejects on routing.
 */
export type RoutingHook = (dialled: string, invite: SipRequest) => string;

export interface StackRejection {
  readonly method: 'INVITE';
  readonly status: number;
  readonly reason: 'unsupported-uri-scheme' | 'bad-extension' | 'not-acceptable' | 'unsupported-media-type' | 'session-interval-too-small';
  readonly transport: TransportKind;
  readonly invite: SipRequest;
}

export interface UserAgentServerOptions {
  /** Our host/port per transport, for Contact and Via (the advertised address). */
  readonly local: (kind: TransportKind) => LocalEndpoint;
  readonly onCall: (call: IncomingCall) => void;
  /**
   * A new INVITE the stack itself refused with a final response (416, 420, 406, 415, 422), once,
   * after the response went out; `reason` is a log id. Admission refusals are the admission
   * hook's own to report.
   */
  readonly onReject?: (rejection: StackRejection) => void;
  /** A channel towards another hop, for in-dialog requests that must not follow the INVITE's path back (§12.2.1.1). */
  readonly channelTo?: (kind: TransportKind, target: Target) => MessageChannel | undefined;
  readonly admission?: AdmissionHook;
  readonly routing?: RoutingHook;
  /** Our Min-SE in seconds (RFC 4028; at least 90). */
  readonly minSessionExpires?: number;
  /** How long a transfer waits for its final NOTIFY (default 64*T1). */
  readonly transferTimeoutMs?: number;
  /** The application must answer an INVITE (or an offer) within this time, else 480 (or 488); default 60 s. */
  readonly answerTimeoutMs?: number;
  readonly scheduler?: Scheduler;
  readonly timerBase?: TimerBase;
  readonly maxTransactions?: number;
  readonly logger?: SipLogger;
}

const ALLOWED = ['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS', 'INFO', 'UPDATE', 'NOTIFY'];
/** Known methods we do not serve as a UAS (§21.4.6: 405 with Allow). */
const NOT_SERVED = new Set(['REGISTER', 'SUBSCRIBE', 'PUBLISH', 'MESSAGE', 'REFER']);
/** Methods that only make sense inside a dialog (§12.2.2: 481 without one). PRACK: we never send reliable 1xx. */
const IN_DIALOG = new Set(['BYE', 'INFO', 'UPDATE', 'NOTIFY', 'PRACK']);
const SUPPORTED_EXTENSIONS = new Set(['timer']);

const SDP_RANGES = new Set(['application/sdp', 'application/*', '*/*']);

/**
 * §20.1: without Accept the peer takes application/sdp; otherwise a media range must cover it
 * with a q above 0 (an empty Accept takes nothing). Our 2xx to an offer carries SDP.
 */
function acceptsSdp(request: SipRequest): boolean {
  if (!request.headers.some((field) => field.name === 'Accept')) return true;
  return headerValues(request, 'Accept').some((range) => {
    const [type = '', ...params] = range.split(';');
    const q = params.map((param) => param.trim().toLowerCase()).find((param) => param.startsWith('q='));
    if (q !== undefined && Number(q.slice(2)) === 0) return false;
    return SDP_RANGES.has(type.trim().toLowerCase());
  });
}

/**
 * §8.2.2.1: we serve sip: and sips: Request-URIs only (RFC 4475 §3.3.2, §3.3.3). A sips: one
 * promises TLS on every hop (§26.2.2; RFC 5630 removed the last-hop exception), so one that
 * reached us over UDP or TCP is refused the same way rather than answered on a plain flow.
 */
function servesRequestUri(request: SipRequest, transport: TransportKind): boolean {
  const scheme = uriScheme(request.uri);
  return scheme === 'sip' || (scheme === 'sips' && transport === 'tls');
}

export const CAPABILITIES: readonly HeaderField[] = [
  { name: 'Allow', value: ALLOWED.join(', ') },
  { name: 'Supported', value: [...SUPPORTED_EXTENSIONS].join(', ') },
];

export class UserAgentServer implements TransactionUser, MessageSink, SessionHost {
  readonly transactions: TransactionLayer;
  readonly scheduler: Scheduler;
  readonly timers: TimerValues;
  readonly minSessionExpires: number;
  readonly transferTimeoutMs: number;
  readonly answerTimeoutMs: number;
  readonly capabilities = CAPABILITIES;
  private readonly sessions = new Set<CallSession>();
  private readonly dialogs = new Map<string, CallSession>();
  private readonly byInvite = new Map<ServerTransaction, CallSession>();
  private readonly logger: SipLogger;

  constructor(private readonly options: UserAgentServerOptions) {
    this.scheduler = options.scheduler ?? systemScheduler;
    this.timers = timerValues(false, options.timerBase);
    this.minSessionExpires = Math.max(options.minSessionExpires ?? MIN_SE_FLOOR, MIN_SE_FLOOR);
    this.transferTimeoutMs = options.transferTimeoutMs ?? this.timers.F;
    this.answerTimeoutMs = options.answerTimeoutMs ?? 60_000;
    this.logger = options.logger ?? silentLogger;
    this.transactions = new TransactionLayer({
      user: this,
      scheduler: this.scheduler,
      ...(options.timerBase === undefined ? {} : { timerBase: options.timerBase }),
      ...(options.maxTransactions === undefined ? {} : { maxTransactions: options.maxTransactions }),
    });
  }

  /** Calls that have not ended (offered, answered or confirmed). */
  get activeCalls(): number {
    return this.sessions.size;
  }

  // ---- MessageSink: from the transport layer ----

  receiveRequest(request: SipRequest, channel: MessageChannel): void {
    this.transactions.receiveRequest(request, channel);
  }

  receiveResponse(response: SipResponse): void {
    this.transactions.receiveResponse(response);
  }

  // ---- TransactionUser: from the transaction layer ----

  onRequest(request: SipRequest, transaction: ServerTransaction, channel: MessageChannel): void {
    const reply = (status: number, reason: string, headers: readonly HeaderField[] = []) =>
      transaction.respond(buildResponse(request, status, reason, headers, toTag(request) === undefined ? randomToken() : undefined));
    const method = request.method;
    const refuse = (status: number, reason: string, id: StackRejection['reason'], headers: readonly HeaderField[] = []) => {
      reply(status, reason, headers);
      if (method === 'INVITE' && toTag(request) === undefined) this.rejected(request, status, id, channel.peer.kind);
    };
    if (!servesRequestUri(request, channel.peer.kind)) return refuse(416, 'Unsupported URI Scheme', 'unsupported-uri-scheme');
    if (method === 'CANCEL') return this.cancel(request, transaction);
    // §8.2.2.3: an extension we do not support in Require → 420 listing it in Unsupported.
    const unsupported = headerValues(request, 'Require').filter((tag) => !SUPPORTED_EXTENSIONS.has(tag.trim().toLowerCase()));
    if (unsupported.length > 0) return refuse(420, 'Bad Extension', 'bad-extension', [{ name: 'Unsupported', value: unsupported.join(', ') }]);
    if (method === 'OPTIONS') {
      // §11.2: what we can do; the Accept list covers SDP, INFO DTMF relay and NOTIFY sipfrag.
      return reply(200, 'OK', [...CAPABILITIES, { name: 'Accept', value: 'application/sdp, application/dtmf-relay, application/dtmf, message/sipfrag' }]);
    }
    // §21.4.7, RFC 4475 §3.3.15: our answer to an offer is SDP, which this peer says it cannot take.
    if ((method === 'INVITE' || (method === 'UPDATE' && request.body.length > 0)) && !acceptsSdp(request)) {
      return refuse(406, 'Not Acceptable', 'not-acceptable', [{ name: 'Accept', value: 'application/sdp' }]);
    }
    if (method === 'INVITE' && toTag(request) === undefined) return this.newCall(request, transaction, channel);
    if (method === 'INVITE' || IN_DIALOG.has(method)) {
      const session = this.dialogs.get(this.dialogOf(request));
      if (session === undefined) return reply(481, 'Call/Transaction Does Not Exist');
      // §12.2.2: an in-dialog request with a CSeq below the last one is out of order.
      if (!session.dialog.acceptRemoteSequence(request)) return reply(500, 'CSeq Out of Order');
      if (method === 'BYE') return session.onBye(request, transaction);
      if (method === 'INFO') return session.onInfo(request, transaction);
      if (method === 'NOTIFY') return session.onNotify(request, transaction);
      if (method === 'INVITE' || method === 'UPDATE') return session.onOffer(request, transaction);
      return reply(481, 'Call/Transaction Does Not Exist'); // PRACK: no reliable provisional exists
    }
    if (NOT_SERVED.has(method)) return reply(405, 'Method Not Allowed', [CAPABILITIES[0]!]);
    return reply(501, 'Not Implemented', [CAPABILITIES[0]!]);
  }

  onAck(ack: SipRequest): void {
    this.dialogs.get(this.dialogOf(ack))?.onAck(ack);
  }

  onServerTransactionEnd(transaction: ServerTransaction, end: TransactionEnd): void {
    const session = this.byInvite.get(transaction);
    if (session === undefined) return;
    this.byInvite.delete(transaction);
    session.onInviteTransactionEnd(end);
  }

  // ---- SessionHost ----

  registerDialog(session: CallSession): void {
    this.dialogs.set(session.dialog.key, session);
  }

  channelTo(kind: TransportKind, target: Target): MessageChannel | undefined {
    return this.options.channelTo?.(kind, target);
  }

  forget(session: CallSession): void {
    this.sessions.delete(session);
    this.dialogs.delete(session.dialog.key);
  }

  /** Ends every call (BYE or 480) and drops all transactions; safe to call twice. */
  close(): void {
    for (const session of [...this.sessions]) session.hangup();
    this.transactions.close();
  }

  // ---- internals ----

  private rejected(invite: SipRequest, status: number, reason: StackRejection['reason'], transport: TransportKind): void {
    this.options.onReject?.({ method: 'INVITE', status, reason, transport, invite });
  }

  /** A request we receive names our tag in To and the peer's in From. */
  private dialogOf(request: SipRequest): string {
    return dialogKey(firstHeader(request, 'Call-ID') ?? '', toTag(request) ?? '', fromTag(request) ?? '');
  }

  private cancel(cancel: SipRequest, transaction: ServerTransaction): void {
    const invite = this.transactions.inviteFor(cancel);
    const session = invite === undefined ? undefined : this.byInvite.get(invite);
    if (session === undefined) {
      transaction.respond(buildResponse(cancel, 481, 'Call/Transaction Does Not Exist', [], randomToken()));
      return;
    }
    // §9.2: 200 to the CANCEL (same To tag as the INVITE's responses), then 487 to the INVITE.
    transaction.respond(buildResponse(cancel, 200, 'OK', [], session.dialog.localTag));
    session.cancel();
  }

  private newCall(invite: SipRequest, transaction: ServerTransaction, channel: MessageChannel): void {
    const tag = randomToken();
    const reply = (status: number, reason: string, headers: readonly HeaderField[] = []) =>
      transaction.respond(buildResponse(invite, status, reason, headers, tag));
    const source = channel.peer;
    const contentType = firstHeader(invite, 'Content-Type');
    if (invite.body.length > 0 && (contentType ?? '').split(';')[0]?.trim().toLowerCase() !== 'application/sdp') {
      reply(415, 'Unsupported Media Type', [{ name: 'Accept', value: 'application/sdp' }]);
      return this.rejected(invite, 415, 'unsupported-media-type', source.kind);
    }
    const admission = this.options.admission?.(invite, source) ?? { ok: true };
    if (!admission.ok) {
      const retry = admission.retryAfter === undefined ? [] : [{ name: 'Retry-After', value: String(admission.retryAfter) }];
      return reply(admission.status, admission.reason ?? 'Rejected', [...retry, ...(admission.headers ?? [])]);
    }
    const negotiated = negotiateSessionTimer(invite, this.minSessionExpires);
    if (!negotiated.ok) {
      reply(negotiated.status, 'Session Interval Too Small', negotiated.headers);
      return this.rejected(invite, negotiated.status, 'session-interval-too-small', source.kind);
    }
    const dialled = userPart(invite.uri) ?? '';
    const from = firstHeader(invite, 'From');
    const callerUri = from === undefined ? undefined : parseNameAddr(from)?.uri;
    const caller = (callerUri === undefined ? undefined : userPart(callerUri)) ?? '';
    const application = this.options.routing?.(dialled, invite) ?? 'default';
    const local = this.options.local(source.kind);
    const session = new CallSession(
      this,
      invite,
      transaction,
      channel,
      local,
      {
        dialled,
        caller,
        application,
        remote: { address: source.address, port: source.port },
        transport: source.kind,
        remoteSdp: invite.body.toString('utf8'),
      },
      negotiated.timer,
      negotiated.headers,
    );
    this.sessions.add(session);
    this.byInvite.set(transaction, session);
    this.options.onCall(session.call);
  }
}
