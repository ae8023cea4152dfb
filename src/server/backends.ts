// Builds the connectors a configuration names and gives each call a backend port that can
// reach only its application's backends (egress policy) — PostgreSQL operations and HTTPS
// endpoints alike — and returns sensitive columns into that call's cell.
import type { Cell } from '../vault/cell.ts';
import { PostgresConnector } from '../connectors/postgres.ts';
import { HttpsPaymentGateway, type PaymentGateway } from '../connectors/payment-gateway.ts';
import { EgressDeniedError } from '../connectors/errors.ts';
import type { ConnectorLogger } from '../connectors/types.ts';
import type { BackendPort, PaymentPort, BackendParam } from '../flow/ports.ts';
import type { TracelessConfig } from './config-schema.ts';
import { configPath, type LoadedConfig } from './config-load.ts';
import { HttpsBackend } from './https-backend.ts';
import { ObservedHttpsConnector } from './https-reachability.ts';

type ClientTls = { caFile: string; certFile: string; keyFile: string; serverName?: string | undefined };

/** One line of /health/ready's backend checks. */
export interface BackendHealth {
  /** The backend's configured name; the payment gateway is "payment". */
  readonly name: string;
  readonly kind: 'postgres' | 'https' | 'payment';
  /** null: not yet known (before the start-up probe or warm-up has finished). */
  readonly reachable: boolean | null;
  /** Plaintext, unverified connections (insecureDevelopment); only a database can be in this mode. */
  readonly insecure: boolean;
}

export interface Backends {
  readonly postgres: ReadonlyMap<string, PostgresConnector>;
  readonly https: ReadonlyMap<string, HttpsBackend>;
  readonly payment: PaymentGateway | null;
  /**
   * Opens the databases' warm connections and probes each HTTPS service and the payment
   * gateway with a TLS handshake; a backend that is down is reported by health, not fatal.
   */
  warm(): Promise<void>;
  /** Every backend and the payment gateway, for /health/ready. */
  health(): BackendHealth[];
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
  const https = new Map<string, HttpsBackend>();
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
      const connector = new ObservedHttpsConnector(
        {
          name,
          allowedHosts: backend.allowedHosts,
          endpoints: Object.fromEntries(Object.entries(backend.endpoints).map(([endpoint, spec]) => [endpoint, { method: spec.method, url: spec.url }])),
          tls: tlsFiles(loaded, backend.tls),
          connectTimeoutMs: backend.connectTimeoutMs,
          requestTimeoutMs: backend.requestTimeoutMs,
        },
        logger,
      );
      https.set(name, new HttpsBackend(connector, new Map(Object.entries(backend.endpoints))));
    }
  }
  const payment = config.payment ? paymentGateway(loaded, config.payment, logger) : null;
  // A database's reachability means something only once warm-up has tried it.
  let warmed = false;
  return {
    postgres,
    https,
    payment: payment?.gateway ?? null,
    async warm() {
      await Promise.all([
        ...[...postgres.values()].map((connector) => connector.warm()),
        ...[...https.values()].map((backend) => backend.connector.probe()),
        payment?.connector.probe(),
      ]);
      warmed = true;
    },
    health() {
      return [
        ...[...postgres.values()].map((connector): BackendHealth => {
          const health = connector.health();
          return { name: connector.name, kind: 'postgres', reachable: warmed ? health.reachable : null, insecure: health.insecureDevelopment };
        }),
        ...[...https.values()].map((backend): BackendHealth => ({ name: backend.name, kind: 'https', reachable: backend.connector.lastKnownReachable(), insecure: false })),
        ...(payment ? [{ name: payment.connector.name, kind: 'payment', reachable: payment.connector.lastKnownReachable(), insecure: false } satisfies BackendHealth] : []),
      ];
    },
    async close() {
      await Promise.allSettled([
        ...[...postgres.values()].map((connector) => connector.close()),
        ...[...https.values()].map((backend) => backend.connector.close()),
        payment?.connector.close(),
      ]);
    },
  };
}

function paymentGateway(loaded: LoadedConfig, payment: NonNullable<TracelessConfig['payment']>, logger: ConnectorLogger) {
  const url = new URL(payment.chargeUrl);
  const connector = new ObservedHttpsConnector(
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
      const database = backends.postgres.get(backend);
      if (database) return { rows: (await database.run(operation, params, { cell })).rows };
      const https = backends.https.get(backend);
      if (https) return https.query(operation, params);
      throw new EgressDeniedError(backend, 'a backend');
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
