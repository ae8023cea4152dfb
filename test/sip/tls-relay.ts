// Test-only relay: plain TCP in, TLS out. Debian's sipp has no TLS (built without OpenSSL), so
// the sipp interop reaches our TLS listener through this: each TCP connection gets its own TLS
// connection (verified against the test CA) and bytes are copied both ways unchanged. sipp's
// Via still says TCP; our stack sees a TLS flow and answers and sends BYE on it.
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { connect } from 'node:tls';
import { once } from 'node:events';

export interface TlsRelay {
  readonly port: number;
  close(): Promise<void>;
}

export async function startTlsRelay(target: { port: number; ca: Buffer }): Promise<TlsRelay> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((plain) => {
    const secure = connect({ host: '127.0.0.1', port: target.port, ca: target.ca });
    for (const socket of [plain, secure]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined); // the other side's close ends the pair
    }
    plain.pipe(secure).pipe(plain);
    plain.on('close', () => secure.destroy());
    secure.on('close', () => plain.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('relay did not bind');
  return {
    port: address.port,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
