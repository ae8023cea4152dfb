// HTTPS JSON connector on undici: mutual TLS with a pinned CA, named endpoints on an
// allowlist of hosts (egress policy), timeouts, and request bodies that may carry Secrets
// assembled in a buffer we own and zero once the exchange is over.
//
// Keeping the body out of copies we cannot zero:
//  - undici's connector hands a socket over only after 'secureConnect', so the body is never
//    queued in node's pre-handshake cleartext buffer.
//  - undici corks the head and a Buffer body into one writev, and node's TLS layer then
//    concatenates the pieces into a fresh native buffer that is freed without zeroing. So the
//    body goes as an iterable of two chunks with an explicit content-length: the first byte
//    travels with the head, the rest (every secret byte) is written alone, which node hands
//    to SSL_write straight from our buffer.
import { Readable } from 'node:stream';
import { Agent, buildConnector } from 'undici';
import type { Dispatcher } from 'undici';
import { BackendUnavailableError, ConnectorConfigError, EgressDeniedError, classifyNetworkError } from './errors.ts';
import { leaseJsonBody } from './json-body.ts';
import type { JsonBodyValue } from './json-body.ts';
import { clientTlsOptions, loadTlsMaterial } from './tls.ts';
import type { ConnectorLogger, TlsFiles } from './types.ts';

export type { JsonBodyValue } from './json-body.ts';

export interface HttpsEndpoint {
  method: 'GET' | 'POST' | 'PUT';
  /** Absolute https URL; its host must be in allowedHosts. */
  url: string;
}

export interface HttpsJsonBackendConfig {
  name: string;
  /** Host names (or IP literals) this backend may reach; anything else is refused at connect. */
  allowedHosts: string[];
  /** Named endpoints: a flow can call only these. */
  endpoints: Record<string, HttpsEndpoint>;
  tls: TlsFiles;
  /** TCP + TLS deadline (default 3000 ms). */
  connectTimeoutMs?: number;
  /** Deadline for the response headers and again for the body (default 10000 ms). */
  requestTimeoutMs?: number;
  /** Largest response body accepted (default 64 KiB). */
  maxResponseBytes?: number;
}

export interface HttpsJsonResponse {
  status: number;
  /** The parsed body; responses must not carry sensitive values (they become JS strings). */
  json: unknown;
}

export interface HttpsRequestOptions {
  /** Sent as the Idempotency-Key header. */
  idempotencyKey?: string;
}

interface CompiledEndpoint {
  method: HttpsEndpoint['method'];
  origin: string;
  path: string;
}

const DEFAULTS = { connectTimeoutMs: 3000, requestTimeoutMs: 10_000, maxResponseBytes: 64 * 1024 };

function compileEndpoints(config: HttpsJsonBackendConfig, path: string, allowed: ReadonlySet<string>): Map<string, CompiledEndpoint> {
  const endpoints = new Map<string, CompiledEndpoint>();
  for (const [name, endpoint] of Object.entries(config.endpoints ?? {})) {
    const at = `${path}.endpoints.${name}.url`;
    let url: URL;
    try {
      url = new URL(endpoint.url);
    } catch {
      throw new ConnectorConfigError(at, 'not a valid URL');
    }
    if (url.protocol !== 'https:') throw new ConnectorConfigError(at, 'must be an https URL');
    if (!allowed.has(hostOf(url.hostname))) throw new ConnectorConfigError(at, `host ${url.hostname} is not in allowedHosts`);
    if (!['GET', 'POST', 'PUT'].includes(endpoint.method)) throw new ConnectorConfigError(`${path}.endpoints.${name}.method`, 'must be GET, POST or PUT');
    endpoints.set(name, { method: endpoint.method, origin: url.origin, path: `${url.pathname}${url.search}` });
  }
  if (endpoints.size === 0) throw new ConnectorConfigError(`${path}.endpoints`, 'at least one endpoint is required');
  return endpoints;
}

/** URL hostnames keep IPv6 brackets; connect options do not. */
function hostOf(hostname: string): string {
  return hostname.startsWith('[') ? hostname.slice(1, -1).toLowerCase() : hostname.toLowerCase();
}

function positive(value: number | undefined, fallback: number, path: string): number {
  const result = value ?? fallback;
  if (!Number.isInteger(result) || result <= 0) throw new ConnectorConfigError(path, 'must be a positive integer');
  return result;
}

/** See the header comment: the head and the secret-carrying bytes never share a write. */
async function* separateWrites(payload: Buffer): AsyncGenerator<Buffer> {
  yield payload.subarray(0, 1);
  if (payload.length > 1) yield payload.subarray(1);
}

export class HttpsJsonConnector {
  readonly name: string;
  private readonly agent: Agent;
  private readonly endpoints: Map<string, CompiledEndpoint>;
  private readonly maxResponseBytes: number;
  private reachable = false;
  private closed = false;

  constructor(
    config: HttpsJsonBackendConfig,
    private readonly logger: ConnectorLogger,
    path = `backends.${config.name}`,
  ) {
    this.name = config.name;
    if (!Array.isArray(config.allowedHosts) || config.allowedHosts.length === 0) {
      throw new ConnectorConfigError(`${path}.allowedHosts`, 'list the hosts this backend may reach');
    }
    const allowed = new Set(config.allowedHosts.map(hostOf));
    this.endpoints = compileEndpoints(config, path, allowed);
    const connectTimeout = positive(config.connectTimeoutMs, DEFAULTS.connectTimeoutMs, `${path}.connectTimeoutMs`);
    const requestTimeout = positive(config.requestTimeoutMs, DEFAULTS.requestTimeoutMs, `${path}.requestTimeoutMs`);
    this.maxResponseBytes = positive(config.maxResponseBytes, DEFAULTS.maxResponseBytes, `${path}.maxResponseBytes`);
    const tls = clientTlsOptions(loadTlsMaterial(config.tls, `${path}.tls`));
    const connectTls = buildConnector({ ...tls, timeout: connectTimeout });
    const backend = this.name;
    this.agent = new Agent({
      // Second line of the egress policy: even a URL that slipped past the endpoint table
      // cannot open a connection to a host outside the allowlist.
      connect: (options, callback) => {
        if (!allowed.has(hostOf(options.hostname))) {
          callback(new EgressDeniedError(backend, `host ${options.hostname}`), null);
          return;
        }
        connectTls(options, callback);
      },
      headersTimeout: requestTimeout,
      bodyTimeout: requestTimeout,
      connections: 8,
      pipelining: 1,
    });
  }

  /**
   * Sends one request to a named endpoint. A body containing Secrets is encoded into a
   * buffer zeroed when the exchange ends. Any response with a JSON body is returned (the
   * caller interprets the status); network, TLS, timeout, 5xx and malformed replies throw
   * BackendUnavailableError. Nothing is retried.
   */
  async request(endpointName: string, body?: JsonBodyValue, options: HttpsRequestOptions = {}): Promise<HttpsJsonResponse> {
    const endpoint = this.endpoints.get(endpointName);
    if (!endpoint) throw new EgressDeniedError(this.name, `endpoint ${JSON.stringify(endpointName)}`);
    if (this.closed) throw new BackendUnavailableError(this.name, 'closed');
    // Locked memory, zeroed and returned only once the exchange is over (finally below).
    const lease = body === undefined ? undefined : leaseJsonBody(body);
    const payload = lease?.bytes;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
    try {
      const response = await this.agent.request({
        origin: endpoint.origin,
        path: endpoint.path,
        method: endpoint.method,
        headers,
        body: payload ? Readable.from(separateWrites(payload)) : null,
      });
      this.reachable = true;
      return await this.readResponse(response);
    } catch (error) {
      if (error instanceof BackendUnavailableError || error instanceof EgressDeniedError) throw error;
      this.reachable = false;
      const { reason, detail } = classifyNetworkError(error);
      this.logger.warn({ backend: this.name, reason, detail }, 'backend request failed');
      throw new BackendUnavailableError(this.name, reason, detail);
    } finally {
      lease?.release();
    }
  }

  private async readResponse(response: Dispatcher.ResponseData): Promise<HttpsJsonResponse> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length;
      if (size > this.maxResponseBytes) {
        response.body.destroy();
        throw new BackendUnavailableError(this.name, 'protocol', 'response-too-large');
      }
      chunks.push(chunk as Buffer);
    }
    if (response.statusCode >= 500) throw new BackendUnavailableError(this.name, 'rejected', String(response.statusCode));
    const type = String(response.headers['content-type'] ?? '');
    if (!type.startsWith('application/json')) throw new BackendUnavailableError(this.name, 'protocol', `status-${response.statusCode}-not-json`);
    try {
      return { status: response.statusCode, json: JSON.parse(Buffer.concat(chunks, size).toString('utf8')) };
    } catch {
      throw new BackendUnavailableError(this.name, 'protocol', 'invalid-json');
    }
  }

  health(): { backend: string; kind: 'https-json'; reachable: boolean } {
    return { backend: this.name, kind: 'https-json', reachable: this.reachable };
  }

  /** Closes every connection; safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.agent.close();
  }
}
