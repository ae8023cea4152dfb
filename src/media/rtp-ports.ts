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
