// Binds a call's RTP/RTCP socket pair on a port pair from the pool. A pair another process holds
// (EADDRINUSE) goes back to the pool and the next one is tried, a few times, before giving up with
// the same coded 503 as an exhausted pool.
import { createSocket, type Socket, type SocketType } from 'node:dgram';
import { isIP } from 'node:net';
import type { PortLease, PortPool } from './port-pool.ts';

export interface BoundPorts {
  readonly lease: PortLease;
  readonly rtp: Socket;
  readonly rtcp: Socket;
  readonly address: string;
}

export type BindError = { code: 'media-ports-exhausted' | 'media-bind-failed'; status: 503 };
export type BindResult = { ok: true; ports: BoundPorts } | { ok: false; error: BindError };

export type SocketFactory = (type: SocketType) => Socket;
const defaultFactory: SocketFactory = (type) => createSocket({ type, reuseAddr: false });

function bindOne(socket: Socket, port: number, address: string): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    const onError = (error: NodeJS.ErrnoException) => {
      socket.off('listening', onListening);
      resolve(error);
    };
    const onListening = () => {
      socket.off('error', onError);
      resolve(null);
    };
    socket.once('error', onError);
    socket.once('listening', onListening);
    socket.bind({ port, address, exclusive: true });
  });
}

function closeQuietly(socket: Socket): void {
  try {
    socket.close();
  } catch {
    // already closed
  }
}

export interface BindOptions {
  socketFactory?: SocketFactory;
  /** Port pairs to try when one is taken by another process (default 4). */
  attempts?: number;
}

export async function bindRtpPorts(pool: PortPool, address: string, options: BindOptions = {}): Promise<BindResult> {
  const family = isIP(address);
  if (family === 0) throw new RangeError('media bind address must be an IP literal');
  const type: SocketType = family === 6 ? 'udp6' : 'udp4';
  const factory = options.socketFactory ?? defaultFactory;
  const attempts = options.attempts ?? 4;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const acquired = pool.acquire();
    if (!acquired.ok) return { ok: false, error: acquired.error };
    const { lease } = acquired;
    const rtp = factory(type);
    const rtcp = factory(type);
    const rtpError = await bindOne(rtp, lease.rtpPort, address);
    const rtcpError = rtpError ? null : await bindOne(rtcp, lease.rtcpPort, address);
    if (!rtpError && !rtcpError) return { ok: true, ports: { lease, rtp, rtcp, address } };
    closeQuietly(rtp);
    closeQuietly(rtcp);
    lease.release();
    const error = rtpError ?? rtcpError;
    if (error?.code !== 'EADDRINUSE') return { ok: false, error: { code: 'media-bind-failed', status: 503 } };
  }
  return { ok: false, error: { code: 'media-bind-failed', status: 503 } };
}

/**
 * Where one bound socket sends, and whether it is connect()ed there. A connected UDP socket skips
 * Node's per-packet address lookup (a dns.lookup and a process.nextTick before every send) and the
 * kernel's per-packet route lookup, and the kernel drops datagrams from any other source before
 * they reach us (RTP-bleed protection below JavaScript). It also reports ICMP port-unreachable as
 * ECONNREFUSED on the socket's 'error' event, which the owner counts.
 *
 * Node's connect() is asynchronous (it resolves the address on the next tick, so it completes
 * before any timer — the media clock — runs again). A datagram sent with an address while the
 * connect is pending would fail with EISCONN once it lands, so none is sent then; it is counted
 * instead (only code driving time by hand, i.e. tests, can get there: they await settled()).
 * When the target is not to be connected (same-ip latching before the port is known, or a
 * failed connect), sends carry the address. A socket cannot be disconnected mid-connect, so a
 * target that moves meanwhile is re-synced when the pending connect completes. A target whose
 * connect failed is not retried until the target moves.
 */
export class PeerLink {
  private address = '';
  private port = 0;
  private wantConnected = false;
  private connectedAddress: string | null = null;
  private connectedPort = 0;
  private connecting = false;
  private failedAddress: string | null = null;
  private failedPort = 0;
  private closed = false;
  private readonly waiters: Array<() => void> = [];

  constructor(
    private readonly socket: Socket,
    private readonly onError: () => void,
  ) {}

  /** Sets the destination; `connect` asks for the socket to be connected to it (else disconnected). */
  aim(address: string, port: number, connect: boolean): void {
    if (address !== this.address || port !== this.port) this.failedAddress = null;
    this.address = address;
    this.port = port;
    this.wantConnected = connect && port > 0;
    this.sync();
  }

  /** True while the socket is connected to the current destination. */
  get connected(): boolean {
    return this.connectedAddress !== null;
  }

  /** Resolves once no connect is pending. */
  settled(): Promise<void> {
    if (!this.connecting || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /**
   * Sends `datagram` (all of it: given no offset and length, Node makes no view of its own) to
   * the destination; a failure is counted, never thrown.
   */
  send(datagram: Buffer): void {
    if (this.connecting) {
      this.onError();
      return;
    }
    try {
      if (this.connectedAddress !== null) this.socket.send(datagram);
      else this.socket.send(datagram, this.port, this.address);
    } catch {
      this.onError();
    }
  }

  /** The owner is closing the socket: no more connects or callbacks. Safe to call twice. */
  close(): void {
    this.closed = true;
    this.wake();
  }

  private wake(): void {
    for (const resolve of this.waiters.splice(0)) resolve();
  }

  private sync(): void {
    if (this.connecting || this.closed) return;
    if (this.connectedAddress !== null) {
      if (this.wantConnected && this.connectedAddress === this.address && this.connectedPort === this.port) return;
      this.connectedAddress = null;
      try {
        this.socket.disconnect();
      } catch {
        this.onError();
      }
    }
    if (!this.wantConnected || (this.failedAddress === this.address && this.failedPort === this.port)) return;
    const { address, port } = this;
    this.connecting = true;
    try {
      this.socket.connect(port, address, (error?: Error) => {
        this.connecting = false;
        if (this.closed) return this.wake();
        if (error) {
          this.failedAddress = address;
          this.failedPort = port;
          this.onError();
        } else {
          this.connectedAddress = address;
          this.connectedPort = port;
        }
        this.sync(); // the target may have moved while connecting
        if (!this.connecting) this.wake();
      });
    } catch {
      this.connecting = false;
      this.failedAddress = address;
      this.failedPort = port;
      this.onError();
    }
  }
}
