// Between the sockets and the transaction layer (RFC 3261 §18): parses what arrives, answers
// unparseable requests with 400/505 when it can (§8.2, §18.3) and drops the rest, stamps
// `received`/`rport` on the top Via of requests (§18.2.1, RFC 3581 §4), and builds the channel
// responses take back per §18.2.2.
import type { SipRequest, SipResponse } from './message.ts';
import { parseMessage } from './parser.ts';
import { serializeMessage, buildResponse } from './serializer.ts';
import { randomToken } from './token.ts';
import { parseVia } from './headers.ts';
import type { Via } from './headers.ts';
import { splitTopLevel } from './syntax.ts';
import { DEFAULT_SIP_LIMITS } from './limits.ts';
import type { SipLimits } from './limits.ts';
import type { MessageChannel } from './transaction.ts';
import type { SipLogger, Source, Target, Transport, TransportKind } from './transport.ts';
import { silentLogger } from './transport.ts';

export interface MessageSink {
  receiveRequest(request: SipRequest, channel: MessageChannel): void;
  receiveResponse(response: SipResponse): void;
}

const bare = (host: string): string => (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host);

/**
 * Adds `received` (when the sent-by host is not the packet's source, §18.2.1, or when rport
 * was asked for, RFC 3581 §4) and fills in a valueless `rport`, on the request's top Via.
 * Returns the stamped Via, or undefined when the top Via does not parse.
 */
export function stampVia(request: SipRequest, source: Source): Via | undefined {
  const index = request.headers.findIndex((field) => field.name === 'Via');
  const field = request.headers[index];
  if (field === undefined) return undefined;
  const [top = '', ...rest] = splitTopLevel(field.value, 0x2c);
  const via = parseVia(top);
  if (via === undefined) return undefined;
  const askedRport = via.rport === true;
  if (!askedRport && bare(via.host) === source.address && via.received === undefined) return via;
  let value = top.replace(/;\s*received\s*=\s*[^;]*/i, '');
  if (askedRport) value = value.replace(/;\s*rport(?=\s*(;|$))/i, '');
  value += `;received=${source.address}`;
  if (askedRport) value += `;rport=${source.port}`;
  request.headers[index] = { name: field.name, value: [value, ...rest].join(', ') };
  return parseVia(value);
}

/**
 * §18.2.2: over a stream the response goes back on the request's connection; over UDP to
 * `received` (or the sent-by host) at the `rport` port (RFC 3581 §4), else the sent-by port.
 * maddr (multicast) is not supported and ignored.
 */
export function responseTarget(via: Via, source: Source): Target {
  if (source.kind !== 'udp') {
    return { address: source.address, port: source.port, ...(source.connectionId === undefined ? {} : { connectionId: source.connectionId }) };
  }
  const port = typeof via.rport === 'number' ? via.rport : (via.port ?? 5060);
  return { address: via.received ?? bare(via.host), port };
}

/** Sees every message's raw bytes in and out, for trace logging (which must redact them). */
export type SipTraceHook = (direction: 'in' | 'out', transport: TransportKind, bytes: Buffer) => void;

export interface TransportLayerOptions {
  readonly limits?: SipLimits;
  readonly logger?: SipLogger;
  /** Only set when tracing is on: without it the hot path does nothing extra. */
  readonly onTrace?: SipTraceHook;
}

export class TransportLayer {
  private readonly transports = new Map<TransportKind, Transport>();
  private readonly limits: SipLimits;
  private readonly logger: SipLogger;
  private readonly onTrace: SipTraceHook | undefined;

  constructor(
    private readonly sink: MessageSink,
    options: TransportLayerOptions = {},
  ) {
    this.limits = options.limits ?? DEFAULT_SIP_LIMITS;
    this.logger = options.logger ?? silentLogger;
    this.onTrace = options.onTrace;
  }

  add(transport: Transport): void {
    this.transports.set(transport.kind, transport);
  }

  transport(kind: TransportKind): Transport | undefined {
    return this.transports.get(kind);
  }

  /** A channel to `target` on the listener of `kind`, for requests we start; undefined without one. */
  channelTo(kind: TransportKind, target: Target): MessageChannel | undefined {
    const transport = this.transports.get(kind);
    return transport === undefined ? undefined : this.channel(transport, target, { kind, ...target });
  }

  /** Entry point for every transport's inbound bytes. Never throws: one bad message or a throwing listener affects no other call. */
  receive(data: Buffer, source: Source, framingError?: { readonly reason: string }): void {
    try {
      this.dispatch(data, source, framingError);
    } catch (error) {
      this.logger.error({ err: (error as Error).name, code: (error as { code?: string }).code, transport: source.kind }, 'sip.dispatch-failed');
    }
  }

  private dispatch(data: Buffer, source: Source, framingError: { readonly reason: string } | undefined): void {
    const transport = this.transports.get(source.kind);
    if (transport === undefined) return;
    this.onTrace?.('in', source.kind, data);
    // On TCP/TLS Content-Length is mandatory (RFC 3261 §18.3): a message without it is a 400.
    const result = parseMessage(data, this.limits, transport.reliable ? 'stream' : 'datagram');
    if (!result.ok) {
      const { error } = result;
      this.logger.debug({ code: error.code, transport: source.kind }, 'sip.parse-error');
      // A stream's framing error is the real fault (e.g. too large); the header section alone
      // then fails to parse for a lesser reason (its body is missing).
      const reason = framingError?.reason ?? error.reason;
      const partial = error.canRespond ? error.partial : undefined;
      const via = partial === undefined ? undefined : stampVia(partial, source);
      if (partial !== undefined && via !== undefined && partial.method !== 'ACK') {
        this.channel(transport, responseTarget(via, source), source).send(
          buildResponse(partial, framingError === undefined ? (error.status ?? 400) : 400, reason, [], randomToken()),
        );
      }
      return;
    }
    const message = result.message;
    if (message.kind === 'response') {
      this.sink.receiveResponse(message);
      return;
    }
    const via = stampVia(message, source);
    if (via === undefined) return;
    this.sink.receiveRequest(message, this.channel(transport, responseTarget(via, source), source));
  }

  /** A channel that serializes onto `transport` towards `target`. */
  channel(transport: Transport, target: Target, peer: Source): MessageChannel {
    const logger = this.logger;
    const onTrace = this.onTrace;
    return {
      reliable: transport.reliable,
      peer,
      send(message) {
        let bytes: Buffer;
        try {
          bytes = serializeMessage(message);
        } catch (error) {
          logger.error({ code: (error as { code?: string }).code }, 'sip.serialize-failed');
          return false;
        }
        onTrace?.('out', transport.kind, bytes);
        return transport.send(target, bytes);
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.transports.values()].map((transport) => transport.close()));
  }
}
