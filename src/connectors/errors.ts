// Coded errors of the connector layer. Messages are fixed texts: they never carry data
// from a request or a response (a database error text can quote a bound value), only
// the backend's configured name and a reason code, so they are safe to log and to show.

/** Why a backend could not serve a request; the flow treats every reason the same way. */
export type UnavailableReason =
  | 'connect' // TCP refused, reset or DNS failure
  | 'tls' // certificate, host name, protocol version or client-certificate refusal
  | 'timeout' // connect, query or statement timeout
  | 'protocol' // the peer spoke something we do not accept (bad status, bad JSON, desync)
  | 'rejected' // the backend answered with an error (SQLSTATE or HTTP status kept as `detail`)
  | 'closed'; // the connector was closed

/**
 * The backend cannot answer now. The flow plays "temporarily unavailable" and offers an
 * agent; the connector never queues, caches or retries the request later.
 */
export class BackendUnavailableError extends Error {
  readonly code = 'TL_BACKEND_UNAVAILABLE';
  constructor(
    readonly backend: string,
    readonly reason: UnavailableReason,
    /** A non-sensitive code for operators: an SQLSTATE, an HTTP status or a TLS error code. */
    readonly detail?: string,
  ) {
    super(`backend ${backend} unavailable (${reason}${detail ? ` ${detail}` : ''})`);
    this.name = 'BackendUnavailableError';
  }
}

/** A connector's configuration is unusable; `path` names the offending key. */
export class ConnectorConfigError extends Error {
  readonly code = 'TL_CONNECTOR_CONFIG';
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`${path}: ${problem}`);
    this.name = 'ConnectorConfigError';
  }
}

/** Egress policy: a flow asked for an operation or host its configuration does not name. */
export class EgressDeniedError extends Error {
  readonly code = 'TL_EGRESS_DENIED';
  constructor(
    readonly backend: string,
    what: string,
  ) {
    super(`backend ${backend}: ${what} is not configured`);
    this.name = 'EgressDeniedError';
  }
}

/** TLS failure codes node reports while verifying a peer or negotiating a version. */
const TLS_CODES = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|ERR_OSSL_)/;

/** Maps a socket-level error to a reason without keeping its message. */
export function classifyNetworkError(error: unknown): { reason: UnavailableReason; detail?: string } {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
  // EPROTO is how node reports an OpenSSL handshake failure such as a protocol-version alert.
  if (code && (TLS_CODES.test(code) || code === 'EPROTO')) return { reason: 'tls', detail: code };
  if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return { reason: 'timeout', detail: code };
  }
  if (code) return { reason: 'connect', detail: code };
  return { reason: 'connect' };
}
