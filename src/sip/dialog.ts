// A dialog as the UAS sees it (RFC 3261 §12): identified by Call-ID + local tag + remote tag,
// created from the INVITE when the UAS answers (§12.1.1), and the factory for every request
// the IVR sends inside it (§12.2.1.1: BYE, REFER, UPDATE).
import type { HeaderField, SipRequest } from './message.ts';
import { firstHeader, headerValues, parseCSeq, parseNameAddr, fromTag } from './headers.ts';
import { GuardedState } from './state-machine.ts';
import { randomToken } from './token.ts';
import { isIP } from 'node:net';
import { parseSipUri, uriScheme } from './uri.ts';
import type { TransportKind } from './transport.ts';

export type DialogState = 'early' | 'confirmed' | 'terminated';

const edges = {
  early: ['confirmed', 'terminated'],
  confirmed: ['terminated'],
  terminated: [],
} as const satisfies Record<DialogState, readonly DialogState[]>;

export function dialogKey(callId: string, localTag: string, remoteTag: string): string {
  return `${callId}\n${localTag}\n${remoteTag}`;
}

/** Where this side of the dialog can be reached and how requests leave it. */
export interface LocalEndpoint {
  readonly kind: TransportKind;
  /** Host and port advertised in Via and Contact. */
  readonly host: string;
  readonly port: number;
}

export class Dialog {
  private readonly machine = new GuardedState<DialogState>('dialog', edges, 'early');
  readonly callId: string;
  readonly localTag = randomToken();
  readonly remoteTag: string;
  /** Our To (with our tag) and their From, as they go in requests we send (§12.2.1.1). */
  readonly localParty: string;
  readonly remoteParty: string;
  /** Contact of the INVITE (§12.1.1), updated by target-refresh requests (§12.2.2). */
  remoteTarget: string;
  /** Record-Route of the INVITE in order (§12.1.1); loose routing assumed (RFC 3261 §16.12). */
  readonly routeSet: readonly string[];
  /** The INVITE asked for SIPS end to end (§19.1). */
  readonly secure: boolean;
  /** Methods the peer listed in Allow (§20.5; names are case-sensitive, §7.1); undefined while it has listed none. */
  private remoteAllow: ReadonlySet<string> | undefined;
  private localSeq = 1;
  private remoteSeq: number;

  constructor(
    invite: SipRequest,
    readonly local: LocalEndpoint,
  ) {
    this.callId = firstHeader(invite, 'Call-ID') ?? '';
    this.secure = uriScheme(invite.uri) === 'sips';
    this.remoteTag = fromTag(invite) ?? '';
    this.localParty = `${firstHeader(invite, 'To') ?? ''};tag=${this.localTag}`;
    this.remoteParty = firstHeader(invite, 'From') ?? '';
    const contact = firstHeader(invite, 'Contact');
    this.remoteTarget = (contact === undefined ? undefined : parseNameAddr(contact)?.uri) ?? invite.uri;
    this.routeSet = headerValues(invite, 'Record-Route');
    this.remoteSeq = parseCSeq(firstHeader(invite, 'CSeq') ?? '')?.seq ?? 0;
    this.learnAllow(invite);
  }

  get key(): string {
    return dialogKey(this.callId, this.localTag, this.remoteTag);
  }

  get state(): DialogState {
    return this.machine.state;
  }

  /**
   * The Contact we put in 2xx and in our requests (§12.1.1): a SIPS URI when the INVITE's
   * Request-URI was SIPS (§8.1.1.8, §12.1.1), else a SIP URI naming the transport it came on.
   */
  get contact(): string {
    const { kind, host, port } = this.local;
    if (this.secure) return `<sips:${host}:${port}>`;
    return `<sip:${host}:${port}${kind === 'udp' ? '' : `;transport=${kind}`}>`;
  }

  /** Whether the peer said it takes `method` (§20.5: a missing Allow says nothing, so no). */
  remoteAllows(method: string): boolean {
    return this.remoteAllow?.has(method) ?? false;
  }

  confirm(): void {
    if (this.machine.is('early')) this.machine.move('confirmed');
  }

  terminate(): void {
    if (!this.machine.is('terminated')) this.machine.move('terminated');
  }

  /**
   * §12.2.2: a remote in-dialog request with a CSeq lower than the last one is out of order
   * (answered 500); otherwise the remote sequence advances.
   */
  acceptRemoteSequence(request: SipRequest): boolean {
    const seq = parseCSeq(firstHeader(request, 'CSeq') ?? '')?.seq;
    if (seq === undefined || seq <= this.remoteSeq) return false;
    this.remoteSeq = seq;
    if (request.method === 'INVITE' || request.method === 'UPDATE') {
      const contact = firstHeader(request, 'Contact');
      const uri = contact === undefined ? undefined : parseNameAddr(contact)?.uri;
      if (uri !== undefined) this.remoteTarget = uri; // target refresh (§12.2.2)
      this.learnAllow(request);
    }
    return true;
  }

  /**
   * Where a request inside this dialog goes first (§12.2.1.1, §8.1.2): the first route of the
   * route set (loose routing, §16.12), or with no route set the remote target. Undefined when
   * that hop is not an IP literal: we do no RFC 3263 DNS, and the caller keeps the INVITE's path.
   */
  nextHop(): { address: string; port: number } | undefined {
    const first = this.routeSet[0];
    const uri = parseSipUri(first === undefined ? this.remoteTarget : (parseNameAddr(first)?.uri ?? ''));
    if (uri === undefined) return undefined;
    const address = uri.host.startsWith('[') ? uri.host.slice(1, -1) : uri.host;
    if (isIP(address) === 0) return undefined;
    return { address, port: uri.port ?? (uri.scheme === 'sips' ? 5061 : 5060) };
  }

  /** A request inside this dialog (§12.2.1.1) with a fresh branch, ready for a client transaction. */
  request(method: string, extra: readonly HeaderField[] = [], body: Buffer = Buffer.alloc(0), contentType?: string): SipRequest {
    return this.build(method, ++this.localSeq, extra, body, contentType);
  }

  /** §13.2.2.4: the ACK for a 2xx to our re-INVITE carries that INVITE's CSeq number and its own branch. */
  ack(inviteSeq: number): SipRequest {
    return this.build('ACK', inviteSeq, [], Buffer.alloc(0));
  }

  private build(method: string, seq: number, extra: readonly HeaderField[], body: Buffer, contentType?: string): SipRequest {
    const { kind, host, port } = this.local;
    const headers: HeaderField[] = [
      { name: 'Via', value: `SIP/2.0/${kind.toUpperCase()} ${host}:${port};branch=z9hG4bK${randomToken()};rport` },
      ...this.routeSet.map((value) => ({ name: 'Route', value })),
      { name: 'Max-Forwards', value: '70' },
      { name: 'From', value: this.localParty },
      { name: 'To', value: this.remoteParty },
      { name: 'Call-ID', value: this.callId },
      { name: 'CSeq', value: `${seq} ${method}` },
      { name: 'Contact', value: this.contact },
      ...extra,
    ];
    if (contentType !== undefined) headers.push({ name: 'Content-Type', value: contentType });
    return { kind: 'request', method, uri: this.remoteTarget, headers, body };
  }

  private learnAllow(request: SipRequest): void {
    const allow = headerValues(request, 'Allow');
    if (allow.length > 0) this.remoteAllow = new Set(allow.map((method) => method.trim()));
  }
}
