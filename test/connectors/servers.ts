// Hostile and broken peers for the connector tests, all on 127.0.0.1 with port 0.
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { TLSSocket } from 'node:tls';
import type { SecureVersion } from 'node:tls';
import type { CertFiles } from '../../apps/parking/certs.ts';

export interface Listening {
  port: number;
  close(): Promise<void>;
}

function listen(server: Server, sockets: Set<Socket>): Promise<Listening> {
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address ? address.port : 0,
        close: () =>
          new Promise((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

/** Accepts TCP connections and never sends a byte. */
export function silentServer(): Promise<Listening> {
  const sockets = new Set<Socket>();
  return listen(createServer(() => undefined), sockets);
}

export interface TlsFrontOptions {
  server: CertFiles;
  maxVersion?: SecureVersion;
  /** Answer PostgreSQL's SSLRequest with 'S' before the handshake (protocol §55.2.10). */
  postgres?: boolean;
}

/**
 * A TLS server that presents the given certificate (and, for PostgreSQL, first accepts
 * the SSLRequest). Nothing is served after the handshake: these peers exist to be refused.
 */
export function tlsFront(options: TlsFrontOptions): Promise<Listening> {
  const sockets = new Set<Socket>();
  const cert = readFileSync(options.server.cert);
  const key = readFileSync(options.server.key);
  const legacy = options.maxVersion === 'TLSv1.1' || options.maxVersion === 'TLSv1';
  const upgrade = (socket: Socket): void => {
    const secure = new TLSSocket(socket, {
      isServer: true,
      cert,
      key,
      ...(options.maxVersion ? { maxVersion: options.maxVersion, minVersion: legacy ? 'TLSv1' : 'TLSv1.2' } : {}),
      ...(legacy ? { ciphers: 'DEFAULT@SECLEVEL=0' } : {}),
    });
    secure.on('error', () => undefined);
  };
  const server = createServer((socket) => {
    if (!options.postgres) {
      upgrade(socket);
      return;
    }
    socket.once('data', () => {
      socket.write('S');
      upgrade(socket);
    });
  });
  return listen(server, sockets);
}
