// Where one of a call's RTP/RTCP sockets sends, and whether it is connect()ed there.
import type { Socket } from 'node:dgram';

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
