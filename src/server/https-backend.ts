// An HTTPS JSON backend as a flow sees it: the config's endpoints are named operations, called
// through the same BackendPort as a database. The flow's parameters go out by name as the
// fields of the JSON request body (a Secret is written into it from the arena, never turned
// into a string), and the JSON reply comes back as rows.
import { BackendUnavailableError, ConnectorConfigError, EgressDeniedError } from '../connectors/errors.ts';
import type { JsonBodyValue } from '../connectors/json-body.ts';
import type { BackendCell, BackendParam, BackendResult } from '../flow/ports.ts';
import type { ObservedHttpsConnector } from './https-reachability.ts';

export interface HttpsOperation {
  method: 'GET' | 'POST' | 'PUT';
  /** Parameter names, each a top-level field of the request body (POST and PUT only). */
  params: readonly string[];
  /** Field of the response object holding the rows; absent: the body itself. */
  rows?: string | undefined;
}

type Row = Record<string, BackendCell>;

/** HTTP 404 from a lookup means "no such record": no rows, not an outage. */
const NOT_FOUND = 404;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Scalars are kept (booleans as "true"/"false", as rows have no boolean); nested values are left out. */
function rowOf(value: Record<string, unknown>): Row {
  const row: Row = {};
  for (const [key, field] of Object.entries(value)) {
    if (typeof field === 'string' || field === null) row[key] = field;
    else if (typeof field === 'number' && Number.isFinite(field)) row[key] = field;
    else if (typeof field === 'boolean') row[key] = field ? 'true' : 'false';
  }
  return row;
}

export class HttpsBackend {
  readonly name: string;

  constructor(
    readonly connector: ObservedHttpsConnector,
    private readonly operations: ReadonlyMap<string, HttpsOperation>,
  ) {
    this.name = connector.name;
  }

  /**
   * Calls one configured operation. An unknown operation is an EgressDeniedError, a parameter
   * the config does not name (or one it names but the flow left out) a ConnectorConfigError;
   * the connector's failures (network, TLS, timeout, 5xx, malformed JSON) and any other status
   * than 2xx or 404 are BackendUnavailableError. Nothing is retried.
   */
  async query(operationName: string, params: Readonly<Record<string, BackendParam>>): Promise<BackendResult> {
    const operation = this.operations.get(operationName);
    if (!operation) throw new EgressDeniedError(this.name, `operation ${JSON.stringify(operationName)}`);
    const body = this.body(operationName, operation, params);
    const response = await this.connector.request(operationName, body);
    if (response.status === NOT_FOUND) return { rows: [] };
    if (response.status < 200 || response.status > 299) throw new BackendUnavailableError(this.name, 'rejected', String(response.status));
    return { rows: this.rows(response.json, operation) };
  }

  private body(operationName: string, operation: HttpsOperation, params: Readonly<Record<string, BackendParam>>): JsonBodyValue | undefined {
    const at = `backends.${this.name}.endpoints.${operationName}`;
    for (const key of Object.keys(params)) {
      if (!operation.params.includes(key)) throw new ConnectorConfigError(`${at}.params`, `has no parameter ${JSON.stringify(key)}`);
    }
    if (operation.method === 'GET') return undefined;
    const body: Record<string, JsonBodyValue> = {};
    for (const name of operation.params) {
      const value = params[name];
      if (value === undefined) throw new ConnectorConfigError(`${at}.params`, `parameter ${JSON.stringify(name)} is missing`);
      body[name] = value;
    }
    return body;
  }

  private rows(json: unknown, operation: HttpsOperation): Row[] {
    let value = json;
    if (operation.rows !== undefined) {
      if (!isObject(json)) throw new BackendUnavailableError(this.name, 'protocol', 'reply-not-an-object');
      if (!Object.hasOwn(json, operation.rows)) throw new BackendUnavailableError(this.name, 'protocol', 'reply-without-rows');
      value = json[operation.rows];
    }
    if (value === null) return [];
    if (isObject(value)) return [rowOf(value)];
    if (Array.isArray(value) && value.every(isObject)) return value.map(rowOf);
    throw new BackendUnavailableError(this.name, 'protocol', 'reply-not-rows');
  }
}
