// TLS transport (RFC 3261 §18, §26.2.1): the TCP stream machinery over TLS 1.2 or later,
// certificate, key and CA from configuration, optional client-certificate verification (mTLS).
import { createServer } from 'node:tls';
import type { InboundHandler } from './transport.ts';
import { StreamTransport } from './transport-tcp.ts';
import type { StreamTransportOptions } from './transport-tcp.ts';

export interface TlsTransportOptions extends StreamTransportOptions {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** Trust anchors for client certificates; required when verifyClients is on. */
  readonly ca?: Buffer;
  /** Ask for and verify a client certificate; the handshake fails without a valid one. */
  readonly verifyClients?: boolean;
  /** Handshake must finish within this time (default 10 s), so half-open handshakes cost little. */
  readonly handshakeTimeoutMs?: number;
}

export class TlsTransport extends StreamTransport {
  static async listen(options: TlsTransportOptions, onMessage: InboundHandler): Promise<TlsTransport> {
    if (options.verifyClients === true && options.ca === undefined) {
      throw new TypeError('sip.tls: verifyClients needs a ca');
    }
    const server = createServer({
      cert: options.cert,
      key: options.key,
      ...(options.ca === undefined ? {} : { ca: options.ca }),
      minVersion: 'TLSv1.2',
      requestCert: options.verifyClients === true,
      // Only meaningful with requestCert; true makes an unverified client fail the handshake.
      rejectUnauthorized: true,
      handshakeTimeout: options.handshakeTimeoutMs ?? 10_000,
    });
    server.on('tlsClientError', (error) => options.logger?.debug({ err: error.message }, 'sip.tls.handshake-failed'));
    return StreamTransport.start(new TlsTransport('tls', server, options, onMessage), 'secureConnection');
  }
}
