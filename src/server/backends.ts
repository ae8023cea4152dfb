// Builds the connectors a configuration names and gives each call a backend port that can
// reach only its application's backends (egress policy) and returns sensitive columns into
// that call's cell.
import type { Cell } from '../vault/cell.ts';
import { PostgresConnector } from '../connectors/postgres.ts';
import { HttpsJsonConnector } from '../connectors/https-json.ts';
import { HttpsPaymentGateway } from '../connectors/payment-gateway.ts';
import { EgressDeniedError } from '../connectors/errors.ts';
import type { ConnectorLogger } from '../connectors/types.ts';
import type { BackendPort, PaymentPort, BackendParam } from '../flow/ports.ts';
import type { TracelessConfig } from './config-schema.ts';
import { configPath, type LoadedConfig } from './config-load.ts';

type ClientTls = { caFile: string; certFile: string; keyFile: string; serverName?: string | undefined };

export interface Backends {
  readonly postgres: ReadonlyMap<string, PostgresConnector>;
  readonly https: ReadonlyMap<string, HttpsJsonConnector>;
  readonly payment: HttpsPaymentGateway | null;
  /** Opens the warm connections; a backend that is down is reported by health, not fatal. */
  warm(): Promise<void>;
  /** Per-backend reachability for /health/ready. */
  health(): Array<{ name: string; reachable: boolean }>;
  close(): Promise<void>;
}

function tlsFiles(loaded: LoadedConfig, tls: ClientTls) {
  return {
    ca: configPath(loaded, tls.caFile),
    cert: configPath(loaded, tls.certFile),
    key: configPath(loaded, tls.keyFile),
    ...(tls.serverName ? { servername: tls.serverName } : {}),
  };
}

export function buildBackends(loaded: LoadedConfig, logger: ConnectorLogger): Backends {
  const { config } = loaded;
  const postgres = new Map<string, PostgresConnector>();
  const https = new Map<string, HttpsJsonConnector>();
  for (const [name, backend] of Object.entries(config.backends)) {
    if (backend.type === 'postgres') {
      postgres.set(
        name,
        new PostgresConnector(
          {
            name,
            host: backend.host,
            port: backend.port,
            database: backend.database,
            user: backend.user,
            ...(backend.tls ? { tls: tlsFiles(loaded, backend.tls) } : { insecureDevelopment: config.insecureDevelopment }),
            poolSize: backend.poolSize,
            connectTimeoutMs: backend.connectTimeoutMs,
            queryTimeoutMs: backend.queryTimeoutMs,
            statementTimeoutMs: backend.statementTimeoutMs,
            operations: Object.fromEntries(
              Object.entries(backend.operations).map(([operation, spec]) => [
                operation,
                { sql: spec.sql, ...(spec.params ? { params: spec.params } : {}), ...(spec.sensitiveColumns ? { sensitiveColumns: spec.sensitiveColumns } : {}) },
              ]),
            ),
          },
          logger,
        ),
      );
    } else {
      https.set(
        name,
        new HttpsJsonConnector(
          {
            name,
            allowedHosts: backend.allowedHosts,
            endpoints: backend.endpoints,
            tls: tlsFiles(loaded, backend.tls),
            connectTimeoutMs: backend.connectTimeoutMs,
            requestTimeoutMs: backend.requestTimeoutMs,
          },
          logger,
        ),
      );
    }
  }
  const payment = config.payment ? paymentGateway(loaded, config.payment, logger) : null;
  return {
    postgres,
    https,
    payment: payment?.gateway ?? null,
    async warm() {
      await Promise.all([...postgres.values()].map((connector) => connector.warm()));
    },
    health() {
      return [...postgres.values()].map((connector) => ({ name: connector.name, reachable: connector.health().reachable }));
    },
    async close() {
      await Promise.allSettled([
        ...[...postgres.values()].map((connector) => connector.close()),
        ...[...https.values()].map((connector) => connector.close()),
        payment?.connector.close(),
      ]);
    },
  };
}

function paymentGateway(loaded: LoadedConfig, payment: NonNullable<TracelessConfig['payment']>, logger: ConnectorLogger) {
  const url = new URL(payment.chargeUrl);
  const connector = new HttpsJsonConnector(
    {
      name: 'payment',
      allowedHosts: [url.hostname],
      endpoints: { charge: { method: 'POST', url: payment.chargeUrl } },
      tls: tlsFiles(loaded, payment.tls),
      connectTimeoutMs: payment.connectTimeoutMs,
      requestTimeoutMs: payment.requestTimeoutMs,
    },
    logger,
  );
  return { connector, gateway: new HttpsPaymentGateway(connector, logger) };
}

/** The backend port one call's flow gets: its app's backends only, results into its cell. */
export function backendPortFor(backends: Backends, allowed: readonly string[], cell: Cell): BackendPort {
  return {
    async query(backend: string, operation: string, params: Record<string, BackendParam>) {
      if (!allowed.includes(backend)) throw new EgressDeniedError(backend, 'access from this application');
      const connector = backends.postgres.get(backend);
      if (!connector) throw new EgressDeniedError(backend, 'a database backend');
      const result = await connector.run(operation, params, { cell });
      return { rows: result.rows };
    },
  };
}

/** Payment for apps that enabled it; others get a port that refuses. */
export function paymentPortFor(backends: Backends, enabled: boolean): PaymentPort {
  return {
    async charge(request) {
      if (!enabled || !backends.payment) return { approved: false, reason: 'unavailable' };
      return backends.payment.charge(request);
    },
  };
}
