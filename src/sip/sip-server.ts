// Composition of the SIP stack: transports → transport layer → transaction layer → UAS core.
// The server (src/server) starts one SipServer and receives IncomingCalls from it.
import type { SipLimits } from './limits.ts';
import { DEFAULT_SIP_LIMITS } from './limits.ts';
import type { IncomingCall } from './incoming-call.ts';
import type { LocalEndpoint } from './dialog.ts';
import { randomToken } from './token.ts';
import type { HeaderField, SipRequest } from './message.ts';
import { UserAgentServer } from './user-agent-server.ts';
import type { AdmissionHook, RoutingHook, StackRejection } from './user-agent-server.ts';
import { TransportLayer } from './transport-layer.ts';
import type { SipTraceHook } from './transport-layer.ts';
import { UdpTransport } from './transport-udp.ts';
import { TcpTransport } from './transport-tcp.ts';
import type { StreamTransportOptions } from './transport-tcp.ts';
import { TlsTransport } from './transport-tls.ts';
import type { TlsTransportOptions } from './transport-tls.ts';
import type { Scheduler, TimerBase } from './timers.ts';
import type { SipLogger, TransportKind } from './transport.ts';
import { silentLogger } from './transport.ts';

type ListenerOptions<T> = Omit<T, 'maxMessageBytes' | 'logger' | 'scheduler'>;

export interface SipServerConfig {
  readonly udp?: { readonly host: string; readonly port: number };
  readonly tcp?: ListenerOptions<StreamTransportOptions>;
  readonly tls?: ListenerOptions<TlsTransportOptions>;
  /** Host put in Via and Contact (default: each listener's bound address). */
  readonly advertisedHost?: string;
  readonly limits?: SipLimits;
  /** Receives every call that passed admission; answer with call.accept(sdp) or call.reject(...). */
  readonly onCall: (call: IncomingCall) => void;
  readonly admission?: AdmissionHook;
  /** A new INVITE the stack refused by itself (see UserAgentServerOptions.onReject). */
  readonly onReject?: (rejection: StackRejection) => void;
  readonly routing?: RoutingHook;
  readonly minSessionExpires?: number;
  readonly transferTimeoutMs?: number;
  readonly answerTimeoutMs?: number;
  readonly maxTransactions?: number;
  readonly scheduler?: Scheduler;
  readonly timerBase?: TimerBase;
  readonly logger?: SipLogger;
  /** Raw bytes of every message in and out, for trace logging; leave unset unless tracing. */
  readonly onTrace?: SipTraceHook;
}

export class SipServer {
  private closed = false;

  private constructor(
    readonly uas: UserAgentServer,
    private readonly transports: TransportLayer,
    private readonly local: (kind: TransportKind) => LocalEndpoint,
  ) {}

  static async start(config: SipServerConfig): Promise<SipServer> {
    const logger = config.logger ?? silentLogger;
    const limits = config.limits ?? DEFAULT_SIP_LIMITS;
    let layer: TransportLayer | undefined;
    const local = (kind: TransportKind): LocalEndpoint => {
      const bound = layer?.transport(kind)?.local ?? { address: '127.0.0.1', port: 5060 };
      const host = config.advertisedHost ?? bound.address;
      return { kind, host: host.includes(':') && !host.startsWith('[') ? `[${host}]` : host, port: bound.port };
    };
    const uas = new UserAgentServer({
      local,
      onCall: config.onCall,
      channelTo: (kind, target) => layer?.channelTo(kind, target),
      logger,
      ...pick(config, ['admission', 'onReject', 'routing', 'minSessionExpires', 'transferTimeoutMs', 'answerTimeoutMs', 'maxTransactions', 'scheduler', 'timerBase']),
    });
    layer = new TransportLayer(uas, { limits, logger, ...(config.onTrace ? { onTrace: config.onTrace } : {}) });
    const receive = layer.receive.bind(layer);
    const shared = { maxMessageBytes: limits.maxMessageBytes, logger };
    const streams = { ...shared, ...(config.scheduler === undefined ? {} : { scheduler: config.scheduler }) };
    const server = new SipServer(uas, layer, local);
    try {
      if (config.udp === undefined && config.tcp === undefined && config.tls === undefined) {
        throw new TypeError('sip: no listener configured (udp, tcp or tls)');
      }
      // Each listener joins the layer as soon as it is bound, so a later bind failure closes it too.
      if (config.udp !== undefined) layer.add(await UdpTransport.listen({ ...config.udp, ...shared }, receive));
      if (config.tcp !== undefined) layer.add(await TcpTransport.listen({ ...config.tcp, ...streams }, receive));
      if (config.tls !== undefined) layer.add(await TlsTransport.listen({ ...config.tls, ...streams }, receive));
    } catch (error) {
      await server.close();
      throw error;
    }
    return server;
  }

  /** The bound address of a listener (port 0 in config → the real port here). */
  address(kind: TransportKind): { address: string; port: number } | undefined {
    return this.transports.transport(kind)?.local;
  }

  get activeCalls(): number {
    return this.uas.activeCalls;
  }

  /**
   * OPTIONS keep-alive / health probe to a peer (§11.1) in a non-INVITE client transaction:
   * resolves with the final status, or 'timeout' (Timer F) / 'transport-error'. Over TCP/TLS it
   * uses an existing connection to the peer only.
   */
  options(kind: TransportKind, target: { address: string; port: number }): Promise<number | 'timeout' | 'transport-error'> {
    const channel = this.transports.channelTo(kind, target);
    if (channel === undefined) return Promise.resolve('transport-error');
    const local = this.local(kind);
    const host = target.address.includes(':') ? `[${target.address}]` : target.address;
    const headers: HeaderField[] = [
      { name: 'Via', value: `SIP/2.0/${kind.toUpperCase()} ${local.host}:${local.port};branch=z9hG4bK${randomToken()};rport` },
      { name: 'Max-Forwards', value: '70' },
      { name: 'From', value: `<sip:traceless@${local.host}>;tag=${randomToken()}` },
      { name: 'To', value: `<sip:${host}:${target.port}>` },
      { name: 'Call-ID', value: `${randomToken()}@${local.host}` },
      { name: 'CSeq', value: '1 OPTIONS' },
      { name: 'Accept', value: 'application/sdp' },
    ];
    const request: SipRequest = { kind: 'request', method: 'OPTIONS', uri: `sip:${host}:${target.port}`, headers, body: Buffer.alloc(0) };
    return new Promise((resolve) => {
      this.uas.transactions.sendRequest(request, channel, {
        onResponse: (response) => {
          if (response.status >= 200) resolve(response.status);
        },
        onFailure: resolve,
      });
    });
  }

  /** Ends every call, stops the transactions and closes every socket; safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.uas.close();
    await this.transports.close();
  }
}

function pick<T extends object, K extends keyof T>(object: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (object[key] !== undefined) out[key] = object[key];
  return out;
}
