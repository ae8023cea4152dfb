// UDP transport (RFC 3261 §18): one datagram is one message (§18.3, no stream framing).
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { InboundHandler, SipLogger, Target, Transport } from './transport.ts';
import { silentLogger } from './transport.ts';

export interface UdpTransportOptions {
  readonly host: string;
  readonly port: number;
  /** Datagrams larger than this are dropped before parsing. */
  readonly maxMessageBytes?: number;
  readonly logger?: SipLogger;
}

export class UdpTransport implements Transport {
  readonly kind = 'udp' as const;
  readonly reliable = false;
  private closed = false;
  private bound = { address: '', port: 0 };

  private constructor(
    private readonly socket: Socket,
    private readonly logger: SipLogger,
  ) {}

  static async listen(options: UdpTransportOptions, onMessage: InboundHandler): Promise<UdpTransport> {
    const socket = createSocket({ type: isIPv6(options.host) ? 'udp6' : 'udp4' });
    const logger = options.logger ?? silentLogger;
    const transport = new UdpTransport(socket, logger);
    const limit = options.maxMessageBytes ?? 64 * 1024;
    socket.on('message', (data, info) => {
      if (data.length > limit) {
        logger.debug({ bytes: data.length }, 'sip.udp.oversize');
        return;
      }
      // RFC 5626 §3.5.1: bare CRLF keep-alives on UDP carry no message.
      if (data.every((byte) => byte === 0x0d || byte === 0x0a)) return;
      onMessage(data, { kind: 'udp', address: info.address, port: info.port });
      // The parser copied what it keeps; an INFO body can carry a key (RFC 6086), so the
      // datagram is zeroed rather than left for the collector.
      data.fill(0);
    });
    socket.on('error', (error) => logger.warn({ err: error.message }, 'sip.udp.error'));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(options.port, options.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const address = socket.address();
    transport.bound = { address: address.address, port: address.port };
    return transport;
  }

  get local() {
    return this.bound;
  }

  send(target: Target, data: Buffer): boolean {
    if (this.closed) return false;
    this.socket.send(data, target.port, target.address, (error) => {
      if (error) this.logger.debug({ err: error.message }, 'sip.udp.send-failed');
    });
    return true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}
