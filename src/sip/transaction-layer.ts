// The transaction layer (RFC 3261 §17): matches requests and responses to transactions,
// creates server transactions for new requests, absorbs retransmissions, and detects
// merged requests (§8.2.2.2 → 482).
//
// Matching is the RFC 3261 rule only (§17.2.3: branch with the z9hG4bK magic cookie +
// sent-by + method, ACK matching its INVITE; §17.1.3: branch + CSeq method for responses).
// The RFC 2543 fallback (§17.2.3 second half) is deliberately not implemented: a request
// whose top Via branch lacks the cookie, or is the bare cookie with nothing after it
// (RFC 4475 §3.2.1 allows only 400 or the fallback for that), is answered 400.
import type { SipRequest, SipResponse } from './message.ts';
import { buildResponse } from './serializer.ts';
import { randomToken } from './token.ts';
import { firstHeader, parseCSeq, parseVia, headerValues, tagOf, toTag } from './headers.ts';
import { timerValues, systemScheduler } from './timers.ts';
import type { Scheduler, TimerBase } from './timers.ts';
import { InviteServerTransaction } from './transaction-invite-server.ts';
import { NonInviteServerTransaction } from './transaction-non-invite-server.ts';
import { InviteClientTransaction } from './transaction-invite-client.ts';
import { NonInviteClientTransaction } from './transaction-non-invite-client.ts';
import type {
  ClientTransaction,
  ClientTransactionHandlers,
  MessageChannel,
  ServerTransaction,
  TransactionEnd,
} from './transaction.ts';

export const MAGIC_COOKIE = 'z9hG4bK';

/** The transaction user (the UAS core) as the transaction layer sees it. */
export interface TransactionUser {
  /** A new request (not ACK) with the server transaction that will carry its responses. */
  onRequest(request: SipRequest, transaction: ServerTransaction, channel: MessageChannel): void;
  /** An ACK no transaction claimed: the ACK to a 2xx, which belongs to the dialog (§13.3.1.4, §17.2.3). */
  onAck(request: SipRequest, channel: MessageChannel): void;
  /** A server transaction ended; `timeout` on an INVITE means no ACK came for a failure (Timer H). */
  onServerTransactionEnd?(transaction: ServerTransaction, end: TransactionEnd): void;
}

export interface TransactionLayerOptions {
  readonly user: TransactionUser;
  readonly scheduler?: Scheduler;
  readonly timerBase?: TimerBase;
  /**
   * Upper bound on live transactions; beyond it new requests get a stateless 503 (bounded state).
   * Requests inside a dialog and CANCEL may use a reserve above it (see IN_DIALOG_RESERVE).
   */
  readonly maxTransactions?: number;
}

interface ServerEntry {
  readonly transaction: ServerTransaction;
  readonly mergeKey: string | undefined;
}

/**
 * Branch + sent-by of the top Via, or undefined when it has no RFC 3261 branch: the cookie
 * followed by at least one character that makes the branch unique (§8.1.1.7).
 */
function topViaKey(message: SipRequest | SipResponse): { branch: string; sentBy: string } | undefined {
  const top = headerValues(message, 'Via')[0];
  const via = top === undefined ? undefined : parseVia(top);
  const branch = via?.branch;
  if (via === undefined || branch === undefined || branch.length <= MAGIC_COOKIE.length || !branch.startsWith(MAGIC_COOKIE)) return undefined;
  return { branch, sentBy: `${via.host.toLowerCase()}:${via.port ?? ''}` };
}

function cseqOf(message: SipRequest | SipResponse) {
  const value = firstHeader(message, 'CSeq');
  return value === undefined ? undefined : parseCSeq(value);
}

/**
 * BYE, CANCEL and other requests inside an existing dialog end or steer calls that already hold
 * cells and ports; refusing them under load would keep those calls alive and make the overload
 * worse. They may go this fraction above the cap, so state stays bounded either way.
 */
const IN_DIALOG_RESERVE = 0.25;

/** §12.2: a To tag marks a request inside a dialog; CANCEL belongs to an INVITE already held. */
const usesReserve = (request: SipRequest): boolean => request.method === 'CANCEL' || toTag(request) !== undefined;

export class TransactionLayer {
  private readonly servers = new Map<string, ServerEntry>();
  private readonly merged = new Map<string, string>();
  private readonly clients = new Map<string, ClientTransaction>();
  private readonly user: TransactionUser;
  private readonly scheduler: Scheduler;
  private readonly timerBase: TimerBase | undefined;
  private readonly maxTransactions: number;
  private readonly maxWithReserve: number;

  constructor(options: TransactionLayerOptions) {
    this.user = options.user;
    this.scheduler = options.scheduler ?? systemScheduler;
    this.timerBase = options.timerBase;
    this.maxTransactions = options.maxTransactions ?? 10_000;
    this.maxWithReserve = Math.ceil(this.maxTransactions * (1 + IN_DIALOG_RESERVE));
  }

  get size(): number {
    return this.servers.size + this.clients.size;
  }

  receiveRequest(request: SipRequest, channel: MessageChannel): void {
    const via = topViaKey(request);
    if (via === undefined) {
      if (request.method !== 'ACK') channel.send(buildResponse(request, 400, 'Missing RFC 3261 Via Branch', [], randomToken()));
      return;
    }
    const method = request.method === 'ACK' ? 'INVITE' : request.method;
    const key = `${via.branch}\n${via.sentBy}\n${method}`;
    const existing = this.servers.get(key);
    if (existing !== undefined) {
      existing.transaction.receiveRequest(request);
      // RFC 6026 §7.1: an ACK matching an INVITE transaction in Accepted is the 2xx ACK.
      if (request.method === 'ACK' && existing.transaction.state === 'accepted') this.user.onAck(request, channel);
      return;
    }
    if (request.method === 'ACK') {
      this.user.onAck(request, channel);
      return;
    }
    const mergeKey = this.mergeKeyOf(request);
    if (mergeKey !== undefined) {
      const other = this.merged.get(mergeKey);
      if (other !== undefined && other !== key) {
        // §8.2.2.2: same request arriving by another path; answered statelessly.
        channel.send(buildResponse(request, 482, 'Loop Detected', [], randomToken()));
        return;
      }
    }
    if (this.size >= (usesReserve(request) ? this.maxWithReserve : this.maxTransactions)) {
      channel.send(buildResponse(request, 503, 'Service Unavailable', [{ name: 'Retry-After', value: '5' }], randomToken()));
      return;
    }
    const context = {
      channel,
      scheduler: this.scheduler,
      timers: timerValues(channel.reliable, this.timerBase),
      onTerminated: (end: TransactionEnd) => {
        this.servers.delete(key);
        if (mergeKey !== undefined && this.merged.get(mergeKey) === key) this.merged.delete(mergeKey);
        this.user.onServerTransactionEnd?.(transaction, end);
      },
    };
    const transaction: ServerTransaction =
      request.method === 'INVITE'
        ? new InviteServerTransaction(request, context)
        : new NonInviteServerTransaction(request, context);
    if (transaction.state === 'terminated') return; // 100 Trying could not be sent.
    this.servers.set(key, { transaction, mergeKey });
    if (mergeKey !== undefined) this.merged.set(mergeKey, key);
    this.user.onRequest(request, transaction, channel);
  }

  receiveResponse(response: SipResponse): void {
    const via = topViaKey(response);
    const cseq = cseqOf(response);
    if (via === undefined || cseq === undefined) return; // §18.1.2: unmatched responses are dropped.
    this.clients.get(`${via.branch}\n${cseq.method}`)?.receiveResponse(response);
  }

  /** Starts a client transaction; the request must carry a top Via with a fresh branch (§8.1.1.7). */
  sendRequest(request: SipRequest, channel: MessageChannel, handlers: ClientTransactionHandlers): ClientTransaction {
    const via = topViaKey(request);
    const cseq = cseqOf(request);
    if (via === undefined || cseq === undefined) throw new TypeError('outgoing request needs a z9hG4bK branch and a CSeq');
    const key = `${via.branch}\n${cseq.method}`;
    const context = {
      channel,
      scheduler: this.scheduler,
      timers: timerValues(channel.reliable, this.timerBase),
      onTerminated: () => {
        if (this.clients.get(key) === transaction) this.clients.delete(key);
      },
    };
    const transaction: ClientTransaction =
      request.method === 'INVITE'
        ? new InviteClientTransaction(request, context, handlers)
        : new NonInviteClientTransaction(request, context, handlers);
    if (transaction.state !== 'terminated') this.clients.set(key, transaction);
    return transaction;
  }

  /** The INVITE server transaction a CANCEL targets (§9.2: same branch and sent-by). */
  inviteFor(cancel: SipRequest): ServerTransaction | undefined {
    const via = topViaKey(cancel);
    if (via === undefined) return undefined;
    return this.servers.get(`${via.branch}\n${via.sentBy}\nINVITE`)?.transaction;
  }

  /** Drops every transaction without sending (shutdown). */
  close(): void {
    for (const { transaction } of [...this.servers.values()]) transaction.terminate();
    for (const transaction of [...this.clients.values()]) transaction.terminate();
  }

  /** §8.2.2.2 applies to requests outside a dialog: From tag + Call-ID + CSeq. */
  private mergeKeyOf(request: SipRequest): string | undefined {
    const to = firstHeader(request, 'To');
    if (to === undefined || tagOf(to) !== undefined) return undefined;
    const from = firstHeader(request, 'From');
    const callId = firstHeader(request, 'Call-ID');
    const cseq = firstHeader(request, 'CSeq');
    if (from === undefined || callId === undefined || cseq === undefined) return undefined;
    return `${tagOf(from) ?? ''}\n${callId}\n${cseq}`;
  }
}
