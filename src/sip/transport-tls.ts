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
  /** Oldest TLS version accepted (default TLSv1.2); nothing older than 1.2 can be configured. */
  readonly minVersion?: 'TLSv1.2' | 'TLSv1.3';
}

const MIN_VERSIONS = new Set(['TLSv1.2', 'TLSv1.3']);

export class TlsTransport extends StreamTransport {
  static async listen(options: TlsTransportOptions, onMessage: InboundHandler): Promise<TlsTransport> {
    if (options.verifyClients === true && options.ca === undefined) {
      throw new TypeError('sip.tls: verifyClients needs a ca');
    }
    const minVersion = options.minVersion ?? 'TLSv1.2';
    if (!MIN_VERSIONS.has(minVersion)) throw new RangeError('sip.tls: minVersion must be TLSv1.2 or TLSv1.3');
    const server = createServer({
      cert: options.cert,
      key: options.key,
      ...(options.ca === undefined ? {} : { ca: options.ca }),
      // Set here, not left to Node's default, which --tls-min-v1.0 or tls.DEFAULT_MIN_VERSION can lower.
      minVersion,
      requestCert: options.verifyClients === true,
      // Only meaningful with requestCert; true makes an unverified client fail the handshake.
      rejectUnauthorized: true,
      handshakeTimeout: options.handshakeTimeoutMs ?? 10_000,
    });
    server.on('tlsClientError', (error) => options.logger?.debug({ err: error.message }, 'sip.tls.handshake-failed'));
    return StreamTransport.start(new TlsTransport('tls', server, options, onMessage), 'secureConnection');
  }
}
