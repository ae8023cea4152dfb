// The SIP message model shared by the parser, serializer, transports and transactions (RFC 3261 §7).

/** One header field line as received, after unfolding (§7.3.1); `name` is the long form in canonical case. */
export interface HeaderField {
  readonly name: string;
  readonly value: string;
}

interface MessageBase {
  /** Header fields in wire order; repeated and comma-joined forms are kept as they came. */
  readonly headers: HeaderField[];
  /** The body, as raw bytes (never decoded to a string: INFO bodies can carry secure DTMF). */
  body: Buffer;
}

export interface SipRequest extends MessageBase {
  readonly kind: 'request';
  readonly method: string;
  readonly uri: string;
}

export interface SipResponse extends MessageBase {
  readonly kind: 'response';
  readonly status: number;
  readonly reason: string;
}

export type SipMessage = SipRequest | SipResponse;
