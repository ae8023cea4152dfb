// The transport interface shared by UDP, TCP and TLS (RFC 3261 §18), and the logger shape
// the SIP layer logs through.

export type TransportKind = 'udp' | 'tcp' | 'tls';

/** Where a message came from: the packet's source, and for streams the connection it rode. */
export interface Source {
  readonly kind: TransportKind;
  readonly address: string;
  readonly port: number;
  /** Stream connection id; responses reuse it (§18.2.2). */
  readonly connectionId?: number;
}

/** Where to send: an address, and for streams preferably an existing connection. */
export interface Target {
  readonly address: string;
  readonly port: number;
  readonly connectionId?: number;
}

/**
 * Inbound bytes: one datagram or one framed message. `framingError` is set when a stream lost
 * its framing and `data` is only the offending header section: answer 400 with that reason.
 */
export type InboundHandler = (data: Buffer, source: Source, framingError?: { readonly reason: string }) => void;

export interface Transport {
  readonly kind: TransportKind;
  /** §18: TCP and TLS are reliable, so the transaction layer stops retransmitting. */
  readonly reliable: boolean;
  /** The bound address, once listening. */
  readonly local: { readonly address: string; readonly port: number };
  /** Sends one serialized message; false when it cannot be sent at all (transport error, §18.4). */
  send(target: Target, data: Buffer): boolean;
  /** Stops listening and closes every connection; safe to call twice. */
  close(): Promise<void>;
}

/** pino-compatible logger; the SIP layer never logs message contents above trace. */
export interface SipLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  trace(obj: object, msg?: string): void;
}

export const silentLogger: SipLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
  trace: () => undefined,
};
