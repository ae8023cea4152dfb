// PostgreSQL connector on `pg`: a warm pool per backend over verified mutual TLS, named
// operations only (egress policy), secret parameters bound in binary from the arena, and
// sensitive result columns delivered into the cell's arena as Secrets (see pg-wire.ts).
import pg from 'pg';
import type { PoolClient } from 'pg';
import type { Socket } from 'node:net';
import type { Secret, SecretKind } from '../vault/types.ts';
import { BackendUnavailableError, ConnectorConfigError, EgressDeniedError, classifyNetworkError } from './errors.ts';
import type { UnavailableReason } from './errors.ts';
import { ResultTap, writeExtendedQuery } from './pg-wire.ts';
import type { WireParam } from './pg-wire.ts';
import { clientTlsOptions, loadTlsMaterial } from './tls.ts';
import type { ConnectorLogger, SecretImporter, TlsFiles } from './types.ts';

export type { WireParam } from './pg-wire.ts';

export interface PostgresOperation {
  /** SQL with $1…$n placeholders. Only configured operations can run. */
  sql: string;
  /** Column name → secret kind: these come back as Secrets in the caller's cell. */
  sensitiveColumns?: Record<string, SecretKind>;
  /** Names for $1…$n, in order, so callers can pass parameters by name (the flow's ports do). */
  params?: string[];
}

export interface PostgresBackendConfig {
  /** The backend's name in configuration (used in logs, errors and health). */
  name: string;
  host: string;
  port: number;
  database: string;
  /** Database role; with client-certificate login it must equal the certificate's CN. */
  user: string;
  /** Required unless insecureDevelopment is set. */
  tls?: TlsFiles;
  /**
   * Plaintext, unverified connections for local development only. Loud: a warning on
   * every new connection and `insecureDevelopment: true` in health.
   */
  insecureDevelopment?: boolean;
  /** Connections opened at start and kept open (default 4). */
  poolSize?: number;
  /** TCP + TLS + authentication deadline (default 3000 ms). */
  connectTimeoutMs?: number;
  /** Client-side deadline for one operation, from checkout to result (default 5000 ms). */
  queryTimeoutMs?: number;
  /** Server-side `statement_timeout` (default 2000 ms). */
  statementTimeoutMs?: number;
  /** Longest value a sensitive column may carry (default 64 bytes). */
  maxSecretBytes?: number;
  operations: Record<string, PostgresOperation>;
}

/**
 * One result row. Integer and floating-point columns (int2, int4, float4, float8) are
 * numbers; every other type keeps PostgreSQL's text form (dates as YYYY-MM-DD, int8 and
 * numeric as digits, booleans as t/f); sensitive columns are Secrets.
 */
export type Row = Record<string, string | number | null | Secret>;

export interface OperationResult {
  rows: Row[];
  /** Rows affected or returned, from the server's CommandComplete tag. */
  rowCount: number;
}

export interface RunOptions {
  /** Where sensitive columns go; required when the operation declares any. */
  cell?: SecretImporter;
}

export interface PostgresHealth {
  backend: string;
  kind: 'postgres';
  /** True when the last connection attempt or operation reached the server. */
  reachable: boolean;
  insecureDevelopment: boolean;
  connections: number;
  idle: number;
  waiting: number;
}

interface CompiledOperation {
  sql: string;
  parameterCount: number;
  parameterNames: readonly string[] | undefined;
  sensitiveColumns: ReadonlyMap<string, SecretKind>;
}

const DEFAULTS = {
  poolSize: 4,
  connectTimeoutMs: 3000,
  queryTimeoutMs: 5000,
  statementTimeoutMs: 2000,
  maxSecretBytes: 64,
};

/** int2, int4, oid, float4, float8: safe to hand over as JS numbers. */
const NUMERIC_TYPES = new Set([21, 23, 26, 700, 701]);

function highestPlaceholder(sql: string): number {
  let highest = 0;
  for (const match of sql.matchAll(/\$(\d+)/g)) highest = Math.max(highest, Number(match[1]));
  return highest;
}

function compileOperations(config: PostgresBackendConfig, path: string): Map<string, CompiledOperation> {
  const compiled = new Map<string, CompiledOperation>();
  if (!config.operations || typeof config.operations !== 'object') {
    throw new ConnectorConfigError(`${path}.operations`, 'at least one named operation is required');
  }
  for (const [name, operation] of Object.entries(config.operations)) {
    if (typeof operation?.sql !== 'string' || operation.sql.trim() === '') {
      throw new ConnectorConfigError(`${path}.operations.${name}.sql`, 'SQL text is required');
    }
    const parameterCount = highestPlaceholder(operation.sql);
    const names = operation.params;
    if (names !== undefined && (!Array.isArray(names) || names.length !== parameterCount || new Set(names).size !== names.length)) {
      throw new ConnectorConfigError(`${path}.operations.${name}.params`, `must name each of the ${parameterCount} parameters once, in $n order`);
    }
    compiled.set(name, {
      sql: operation.sql,
      parameterCount,
      parameterNames: names,
      sensitiveColumns: new Map(Object.entries(operation.sensitiveColumns ?? {})),
    });
  }
  return compiled;
}

function positive(value: number | undefined, fallback: number, path: string): number {
  const result = value ?? fallback;
  if (!Number.isInteger(result) || result <= 0) throw new ConnectorConfigError(path, 'must be a positive integer');
  return result;
}

export class PostgresConnector {
  readonly name: string;
  private readonly pool: pg.Pool;
  private readonly operations: Map<string, CompiledOperation>;
  private readonly insecure: boolean;
  private readonly poolSize: number;
  private readonly queryTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly maxSecretBytes: number;
  private reachable = false;
  private closed = false;

  /** Validates the config and reads the TLS files; throws ConnectorConfigError naming the key. */
  constructor(
    config: PostgresBackendConfig,
    private readonly logger: ConnectorLogger,
    path = `backends.${config.name}`,
  ) {
    this.name = config.name;
    this.insecure = config.insecureDevelopment === true;
    if (config.tls && this.insecure) {
      throw new ConnectorConfigError(`${path}.insecureDevelopment`, 'cannot be combined with tls; remove one');
    }
    const ssl = this.insecure ? false : clientTlsOptions(loadTlsMaterial(config.tls, `${path}.tls`));
    this.operations = compileOperations(config, path);
    this.poolSize = positive(config.poolSize, DEFAULTS.poolSize, `${path}.poolSize`);
    this.connectTimeoutMs = positive(config.connectTimeoutMs, DEFAULTS.connectTimeoutMs, `${path}.connectTimeoutMs`);
    this.queryTimeoutMs = positive(config.queryTimeoutMs, DEFAULTS.queryTimeoutMs, `${path}.queryTimeoutMs`);
    this.maxSecretBytes = positive(config.maxSecretBytes, DEFAULTS.maxSecretBytes, `${path}.maxSecretBytes`);
    const statementTimeout = positive(config.statementTimeoutMs, DEFAULTS.statementTimeoutMs, `${path}.statementTimeoutMs`);
    const warnInsecure = (): void =>
      this.logger.warn({ backend: this.name }, 'INSECURE plaintext database connection (insecureDevelopment)');
    if (this.insecure) warnInsecure();
    this.pool = new pg.Pool({
      // Every new connection in insecure mode is announced, whether or not it succeeds.
      Client: this.insecure
        ? class InsecureClient extends pg.Client {
            constructor(clientConfig?: string | pg.ClientConfig) {
              super(clientConfig);
              warnInsecure();
            }
          }
        : pg.Client,
      host: config.host,
      port: config.port,
      database: config.database,
      user: config.user,
      ssl,
      max: this.poolSize,
      min: this.poolSize,
      idleTimeoutMillis: 0, // warm: never close idle connections
      connectionTimeoutMillis: this.connectTimeoutMs,
      statement_timeout: statementTimeout,
      application_name: 'traceless',
    });
    // An idle connection that dies is dropped by the pool; record it, never crash.
    this.pool.on('error', (error) => {
      this.reachable = false;
      this.logger.warn({ backend: this.name, reason: classifyNetworkError(error).reason }, 'backend connection lost');
    });
  }

  /** Opens the warm connections. Never throws: an unreachable backend shows in health(). */
  async warm(): Promise<boolean> {
    const clients: PoolClient[] = [];
    try {
      for (let index = 0; index < this.poolSize; index += 1) clients.push(await this.checkout());
      return true;
    } catch (error) {
      this.logger.warn({ backend: this.name, reason: (error as BackendUnavailableError).reason }, 'backend not reachable at start');
      return false;
    } finally {
      for (const client of clients) client.release();
    }
  }

  /**
   * Runs a configured operation. Secret parameters are bound in binary straight from the
   * arena; sensitive columns arrive in `options.cell`. Any failure is a BackendUnavailableError
   * (nothing is retried or queued); an unconfigured operation is an EgressDeniedError.
   */
  async run(
    operationName: string,
    namedOrPositional: readonly WireParam[] | Readonly<Record<string, WireParam>>,
    options: RunOptions = {},
  ): Promise<OperationResult> {
    const operation = this.operations.get(operationName);
    if (!operation) throw new EgressDeniedError(this.name, `operation ${JSON.stringify(operationName)}`);
    const params = this.positional(operationName, operation, namedOrPositional);
    if (params.length !== operation.parameterCount) {
      throw new ConnectorConfigError(`backends.${this.name}.operations.${operationName}`, `expects ${operation.parameterCount} parameters, got ${params.length}`);
    }
    if (operation.sensitiveColumns.size > 0 && !options.cell) {
      throw new ConnectorConfigError(`backends.${this.name}.operations.${operationName}`, 'has sensitive columns: run it with a cell');
    }
    if (this.closed) throw new BackendUnavailableError(this.name, 'closed');
    const client = await this.checkout();
    const query = new TappedQuery(this.name, operationName, operation, params, {
      importer: options.cell,
      maxSecretBytes: this.maxSecretBytes,
      timeoutMs: this.queryTimeoutMs,
    });
    let healthy = false;
    const started = process.hrtime.bigint();
    const elapsedMs = (): number => Number(process.hrtime.bigint() - started) / 1e6;
    try {
      // pg's Submittable type names its internal Connection class; ours uses its stream only.
      client.query(query as unknown as pg.Submittable);
      const result = await query.done;
      if (operation.sensitiveColumns.size > 0) await scrubClearOut(this.name, client, query.replyBytes);
      this.reachable = true;
      healthy = true;
      this.logger.debug({ backend: this.name, operation: operationName, rows: result.rowCount, latencyMs: elapsedMs() }, 'backend query');
      return result;
    } catch (error) {
      if (error instanceof BackendUnavailableError) {
        // A server-side error leaves the connection usable; anything else does not.
        healthy = error.reason === 'rejected';
        this.reachable = healthy;
        this.logger.warn(
          { backend: this.name, operation: operationName, reason: error.reason, detail: error.detail, latencyMs: elapsedMs() },
          'backend query failed',
        );
      }
      throw error;
    } finally {
      client.release(!healthy);
    }
  }

  private positional(
    operationName: string,
    operation: CompiledOperation,
    params: readonly WireParam[] | Readonly<Record<string, WireParam>>,
  ): readonly WireParam[] {
    if (Array.isArray(params)) return params;
    const at = `backends.${this.name}.operations.${operationName}`;
    const names = operation.parameterNames;
    if (!names) throw new ConnectorConfigError(`${at}.params`, 'name the parameters to pass them by name');
    const byName = params as Readonly<Record<string, WireParam>>;
    for (const key of Object.keys(byName)) {
      if (!names.includes(key)) throw new ConnectorConfigError(at, `has no parameter ${JSON.stringify(key)}`);
    }
    return names.map((name) => {
      const value = byName[name];
      if (value === undefined) throw new ConnectorConfigError(at, `parameter ${JSON.stringify(name)} is missing`);
      return value;
    });
  }

  health(): PostgresHealth {
    return {
      backend: this.name,
      kind: 'postgres',
      reachable: this.reachable,
      insecureDevelopment: this.insecure,
      connections: this.pool.totalCount,
      idle: this.pool.idleCount,
      waiting: this.pool.waitingCount,
    };
  }

  /** Closes every connection; safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  private async checkout(): Promise<PoolClient> {
    if (this.closed) throw new BackendUnavailableError(this.name, 'closed');
    try {
      const client = await this.pool.connect();
      this.reachable = true;
      return client;
    } catch (error) {
      this.reachable = false;
      throw connectFailure(this.name, error);
    }
  }
}

/** node's TLS layer decrypts records into a 16 KiB buffer on the native stack (TLSWrap::ClearOut). */
const CLEAR_OUT_CHUNK = 16 * 1024;

/**
 * The reply that carried sensitive columns was decrypted into node's native stack buffer,
 * out of JavaScript's reach, where it stays until another record overwrites it. One more
 * round trip whose reply is at least as long makes the next decryption overwrite it.
 * (Verified by test/connectors/residue.test.ts; a mitigation, not a guarantee.)
 */
async function scrubClearOut(backend: string, client: PoolClient, replyBytes: number): Promise<void> {
  const length = Math.min(replyBytes, CLEAR_OUT_CHUNK) + 64;
  try {
    await client.query('SELECT repeat(\' \', $1::int)', [length]);
  } catch (error) {
    throw connectFailure(backend, error);
  }
}

function connectFailure(backend: string, error: unknown): BackendUnavailableError {
  if (error instanceof pg.DatabaseError) return new BackendUnavailableError(backend, 'rejected', error.code);
  const { reason, detail } = classifyNetworkError(error);
  // pg reports its own connect deadline without a code.
  if (reason === 'connect' && detail === undefined && error instanceof Error && /timeout/i.test(error.message)) {
    return new BackendUnavailableError(backend, 'timeout');
  }
  return new BackendUnavailableError(backend, reason, detail);
}

interface PgConnection {
  stream: Socket;
}

interface PgField {
  name: string;
  dataTypeID: number;
}

/**
 * A pg "submittable" (the interface pg-cursor uses): pg hands it the connection when it is
 * this query's turn and forwards the parsed replies to its handle* methods.
 */
class TappedQuery {
  readonly done: Promise<OperationResult>;
  private resolve!: (result: OperationResult) => void;
  private reject!: (error: Error) => void;
  private settled = false;
  private stream: Socket | undefined;
  private readonly tap: ResultTap;
  private fields: PgField[] = [];
  private numeric: boolean[] = [];
  private readonly rows: Row[] = [];
  private rowCount = 0;
  private timer: NodeJS.Timeout | undefined;
  private missingSensitive: string | undefined;
  /** Bytes of the reply seen by the tap (the scrub after sensitive results is sized by it). */
  replyBytes = 0;

  constructor(
    private readonly backend: string,
    private readonly operationName: string,
    private readonly operation: CompiledOperation,
    private readonly params: readonly WireParam[],
    private readonly options: { importer: SecretImporter | undefined; maxSecretBytes: number; timeoutMs: number },
  ) {
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.tap = new ResultTap({
      sensitiveColumns: operation.sensitiveColumns,
      maxSecretBytes: options.maxSecretBytes,
      importer: options.importer,
    });
    this.timer = setTimeout(() => this.abort('timeout'), options.timeoutMs);
  }

  submit(connection: PgConnection): void {
    this.stream = connection.stream;
    this.stream.prependListener('data', this.onData);
    // The socket is past its TLS handshake (pg only submits on a ready connection), so the
    // write is encrypted from the locked buffer rather than copied; it is zeroed and goes back
    // to the pool once the write has gone.
    writeExtendedQuery(this.stream, this.operation.sql, this.params);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.replyBytes += chunk.length;
    this.tap.feed(chunk);
    if (this.tap.failure === 'desync') {
      this.abort('protocol', 'desync');
      return;
    }
    if (this.tap.finished) this.stream?.removeListener('data', this.onData);
  };

  handleRowDescription(message: { fields: PgField[] }): void {
    this.fields = message.fields;
    this.numeric = message.fields.map((field) => NUMERIC_TYPES.has(field.dataTypeID));
    // A declared sensitive column that is not in the result usually means the SQL renamed
    // it (AS …), and the value would arrive as a plain string: refuse the whole result.
    for (const name of this.operation.sensitiveColumns.keys()) {
      if (!message.fields.some((field) => field.name === name)) this.missingSensitive ??= name;
    }
  }

  handleDataRow(message: { fields: Array<string | null> }): void {
    if (this.missingSensitive !== undefined) return;
    const secrets = this.tap.rows[this.rows.length];
    const row: Row = {};
    message.fields.forEach((text, index) => {
      const field = this.fields[index];
      if (!field) return;
      const secret: Secret | undefined = secrets?.get(index);
      if (secret) row[field.name] = secret;
      else if (this.operation.sensitiveColumns.has(field.name)) row[field.name] = text === null ? null : '';
      else row[field.name] = text === null ? null : this.numeric[index] ? Number(text) : text;
    });
    this.rows.push(row);
  }

  handleCommandComplete(message: { rowCount?: number | null }): void {
    this.rowCount = message.rowCount ?? this.rows.length;
  }

  handleEmptyQuery(): void {}

  handlePortalSuspended(): void {
    this.abort('protocol', 'portal');
  }

  handleCopyInResponse(): void {
    this.abort('protocol', 'copy');
  }

  handleCopyData(): void {
    this.abort('protocol', 'copy');
  }

  handleError(error: unknown): void {
    if (error instanceof pg.DatabaseError) {
      // A server-side error: the tap kept only its SQLSTATE (the texts were zeroed).
      // 57014 is query_canceled, which is how statement_timeout ends a statement.
      const sqlState = this.tap.sqlState;
      this.settle(new BackendUnavailableError(this.backend, sqlState === '57014' ? 'timeout' : 'rejected', sqlState));
      return;
    }
    const { reason, detail } = classifyNetworkError(error);
    this.settle(new BackendUnavailableError(this.backend, reason, detail));
  }

  handleReadyForQuery(): void {
    const failure = this.tap.failure;
    if (this.missingSensitive !== undefined) {
      const path = `backends.${this.backend}.operations.${this.operationName}.sensitiveColumns.${this.missingSensitive}`;
      this.settle(new ConnectorConfigError(path, 'is not a column of the result'));
    } else if (failure) this.settle(new BackendUnavailableError(this.backend, 'protocol', failure));
    else this.settle({ rows: this.rows, rowCount: this.rowCount });
  }

  private abort(reason: UnavailableReason, detail?: string): void {
    if (this.settled) return;
    // The exchange cannot be resumed: drop the connection so nothing arrives later.
    this.stream?.destroy();
    this.settle(new BackendUnavailableError(this.backend, reason, detail));
  }

  private settle(outcome: OperationResult | BackendUnavailableError | ConnectorConfigError): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.tap.discard();
    if (!this.tap.finished) this.stream?.removeListener('data', this.onData);
    if (outcome instanceof Error) this.reject(outcome);
    else this.resolve(outcome);
  }
}
