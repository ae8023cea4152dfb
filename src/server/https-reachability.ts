// Reachability of an HTTPS backend or payment gateway for /health/ready. HTTPS connections
// open on demand, so nothing is known until something has talked to the service: at start a
// TLS probe (TCP connect plus a full handshake with the pinned CA and the client certificate,
// then close — no HTTP request is sent) gives a first answer, and from then on the outcome of
// the last real request replaces it.
import { isIP } from 'node:net';
import { connect, type ConnectionOptions } from 'node:tls';
import { HttpsJsonConnector, type HttpsJsonBackendConfig, type HttpsJsonResponse, type HttpsRequestOptions, type JsonBodyValue } from '../connectors/https-json.ts';
import { BackendUnavailableError } from '../connectors/errors.ts';
import { clientTlsOptions, loadTlsMaterial } from '../connectors/tls.ts';
import type { ConnectorLogger } from '../connectors/types.ts';

interface ProbeTarget {
  host: string;
  port: number;
}

/** True when a TLS handshake with these options completes within the deadline. */
export function tlsHandshakeSucceeds(target: ProbeTarget, tls: ConnectionOptions, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const servername = tls.servername ?? (isIP(target.host) === 0 ? target.host : undefined);
    const socket = connect({ ...tls, host: target.host, port: target.port, ...(servername ? { servername } : {}) });
    const finish = (reachable: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(reachable);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once('secureConnect', () => finish(true));
    socket.once('error', () => finish(false));
    socket.once('close', () => finish(false));
  });
}

/** URL hostnames keep IPv6 brackets; connect options do not. */
function hostOf(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/** An HTTPS JSON connector that also knows whether its service is reachable: null = not yet known. */
export class ObservedHttpsConnector extends HttpsJsonConnector {
  #reachable: boolean | null = null;
  readonly #targets: ProbeTarget[];
  readonly #probeTls: ConnectionOptions;
  readonly #connectTimeoutMs: number;

  constructor(config: HttpsJsonBackendConfig, logger: ConnectorLogger, path = `backends.${config.name}`) {
    super(config, logger, path);
    const origins = new Map<string, ProbeTarget>();
    for (const endpoint of Object.values(config.endpoints)) {
      const url = new URL(endpoint.url);
      origins.set(url.origin, { host: hostOf(url), port: Number(url.port || 443) });
    }
    this.#targets = [...origins.values()];
    this.#probeTls = clientTlsOptions(loadTlsMaterial(config.tls, `${path}.tls`));
    this.#connectTimeoutMs = config.connectTimeoutMs ?? 3000;
  }

  override async request(endpointName: string, body?: JsonBodyValue, options?: HttpsRequestOptions): Promise<HttpsJsonResponse> {
    try {
      const response = await super.request(endpointName, body, options);
      this.#reachable = true;
      return response;
    } catch (error) {
      // A network or TLS failure marks the service unreachable; a 5xx or a malformed reply
      // came from a reachable service (the connector's own flag says which). An operation
      // refused before anything was sent, or a closed connector, tells nothing.
      if (error instanceof BackendUnavailableError && error.reason !== 'closed') this.#reachable = super.health().reachable;
      throw error;
    }
  }

  /** The start-up probe: every origin the endpoints name must complete a handshake. */
  async probe(): Promise<boolean> {
    const results = await Promise.all(this.#targets.map((target) => tlsHandshakeSucceeds(target, this.#probeTls, this.#connectTimeoutMs)));
    const reachable = results.every(Boolean);
    // A real request that finished while the probe ran is the better answer; keep it.
    this.#reachable ??= reachable;
    return reachable;
  }

  /** Last known reachability: the start-up probe, then the last request's outcome. */
  lastKnownReachable(): boolean | null {
    return this.#reachable;
  }
}
