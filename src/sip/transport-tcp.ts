// TCP transport (RFC 3261 §18) and the stream machinery TLS shares: Content-Length framing,
// RFC 5626 §4.4.1 CRLF keep-alive (a CRLFCRLF ping is answered with a CRLF pong), global and
// per-source-IP connection limits, idle timeouts, and responses over the same connection.
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { StreamFramer } from './stream-framer.ts';
import { TimerSlot, systemScheduler } from './timers.ts';
import type { Scheduler } from './timers.ts';
import type { InboundHandler, SipLogger, Target, Transport, TransportKind } from './transport.ts';
import { silentLogger } from './transport.ts';

export interface StreamTransportOptions {
  readonly host: string;
  readonly port: number;
  /** All connections on this listener (default 1024). */
  readonly maxConnections?: number;
  /** Connections from one source IP (default 64). */
  readonly maxConnectionsPerIp?: number;
  /** A connection that sends nothing this long is closed (default 5 minutes; RFC 5626 keep-alives reset it). */
  readonly idleTimeoutMs?: number;
  /** Clock for the idle timeout (tests use a fake one). */
  readonly scheduler?: Scheduler;
  /** Largest message the framer accepts before closing the connection (default 64 KiB). */
  readonly maxMessageBytes?: number;
  readonly logger?: SipLogger;
}

interface Connection {
  readonly socket: Socket;
  readonly address: string;
  readonly port: number;
}

const CRLF = Buffer.from('\r\n');

export class StreamTransport implements Transport {
  readonly reliable = true;
  private readonly connections = new Map<number, Connection>();
  private readonly perIp = new Map<string, number>();
  private nextId = 1;
  private closed = false;
  private bound = { address: '', port: 0 };
  private readonly logger: SipLogger;

  protected constructor(
    readonly kind: TransportKind,
    private readonly server: Server,
    private readonly options: StreamTransportOptions,
    private readonly onMessage: InboundHandler,
  ) {
    this.logger = options.logger ?? silentLogger;
  }

  /** Wires `server` (net or tls) and starts listening; `event` is when a socket is ready for SIP. */
  protected static async start<T extends StreamTransport>(transport: T, event: 'connection' | 'secureConnection'): Promise<T> {
    transport.server.on(event, (socket: Socket) => transport.accept(socket));
    transport.server.on('error', (error) => transport.logger.warn({ err: error.message }, 'sip.stream.error'));
    await new Promise<void>((resolve, reject) => {
      transport.server.once('error', reject);
      transport.server.listen(transport.options.port, transport.options.host, () => {
        transport.server.off('error', reject);
        resolve();
      });
    });
    const address = transport.server.address();
    if (address !== null && typeof address === 'object') transport.bound = { address: address.address, port: address.port };
    return transport;
  }

  get local() {
    return this.bound;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  send(target: Target, data: Buffer): boolean {
    const connection = this.find(target);
    if (connection === undefined || connection.socket.destroyed || !connection.socket.writable) return false;
    connection.socket.write(data);
    return true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const { socket } of this.connections.values()) socket.destroy();
    await stopped;
  }

  /** §18.2.2: a response goes back over the connection its request came on; else any open one to the peer. */
  private find(target: Target): Connection | undefined {
    if (target.connectionId !== undefined) {
      const exact = this.connections.get(target.connectionId);
      if (exact !== undefined) return exact;
    }
    for (const connection of this.connections.values()) {
      if (connection.address === target.address && connection.port === target.port) return connection;
    }
    return undefined;
  }

  private accept(socket: Socket): void {
    const address = socket.remoteAddress;
    const port = socket.remotePort;
    const ipCount = address === undefined ? 0 : (this.perIp.get(address) ?? 0);
    if (
      this.closed ||
      address === undefined ||
      port === undefined ||
      this.connections.size >= (this.options.maxConnections ?? 1024) ||
      ipCount >= (this.options.maxConnectionsPerIp ?? 64)
    ) {
      this.logger.debug({ transport: this.kind }, 'sip.stream.connection-refused');
      socket.destroy();
      return;
    }
    const id = this.nextId++;
    this.connections.set(id, { socket, address, port });
    this.perIp.set(address, ipCount + 1);
    const framer = new StreamFramer({ maxMessageBytes: this.options.maxMessageBytes ?? 64 * 1024 });
    // Idle means nothing received: a peer's keep-alives (even a lone CRLF) keep the flow open.
    const idle = new TimerSlot(this.options.scheduler ?? systemScheduler);
    const idleTimeoutMs = this.options.idleTimeoutMs ?? 300_000;
    const armIdle = () => idle.start(idleTimeoutMs, () => socket.destroy());
    armIdle();
    socket.on('error', (error) => this.logger.debug({ err: error.message, transport: this.kind }, 'sip.stream.socket-error'));
    socket.on('close', () => {
      idle.stop();
      framer.close();
      this.connections.delete(id);
      const left = (this.perIp.get(address) ?? 1) - 1;
      if (left > 0) this.perIp.set(address, left);
      else this.perIp.delete(address);
    });
    socket.on('data', (chunk: Buffer) => {
      armIdle();
      const result = framer.push(chunk);
      // The framer copied the bytes; like every framed message below once handled, the chunk
      // is zeroed because an INFO body can carry a key (RFC 6086).
      chunk.fill(0);
      // RFC 5626 §4.4.1: each CRLFCRLF ping is answered with one CRLF pong.
      for (let ping = 0; ping < result.pings; ping++) socket.write(CRLF);
      const source = { kind: this.kind, address, port, connectionId: id };
      for (const message of result.messages) {
        this.onMessage(message, source);
        message.fill(0);
      }
      if (result.error !== undefined) {
        this.logger.debug({ code: result.error.code, transport: this.kind }, 'sip.stream.framing-error');
        // The header section alone lets the layer above answer 400 (RFC 4475 §3.1.2.3) before the
        // close; framing is lost, so the stream cannot be resynchronised and is closed once flushed.
        if (result.error.headerSection !== undefined) this.onMessage(result.error.headerSection, source, result.error);
        socket.destroySoon();
      }
    });
  }
}

export class TcpTransport extends StreamTransport {
  static async listen(options: StreamTransportOptions, onMessage: InboundHandler): Promise<TcpTransport> {
    return StreamTransport.start(new TcpTransport('tcp', createServer(), options, onMessage), 'connection');
  }
}
