// Against a real PostgreSQL (the demo's city database, its own process) over mutual TLS.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { createPki } from '../../apps/parking/certs.ts';
import type { Pki } from '../../apps/parking/certs.ts';
import { startCityDbProcess } from '../../apps/parking/demo-stack.ts';
import type { CityDbInfo, ReadyProcess } from '../../apps/parking/demo-stack.ts';
import { PostgresConnector } from '../../src/connectors/postgres.ts';
import type { PostgresBackendConfig } from '../../src/connectors/postgres.ts';
import { BackendUnavailableError, ConnectorConfigError, EgressDeniedError } from '../../src/connectors/errors.ts';
import { silentLogger } from '../../src/connectors/types.ts';
import type { ConnectorLogger } from '../../src/connectors/types.ts';
import { RecordingCell, secretDigits, testSecret } from './cells.ts';
import { silentServer, tlsFront } from './servers.ts';

let pki: Pki;
let db: ReadyProcess<CityDbInfo>;
const open: PostgresConnector[] = [];

before(async () => {
  pki = createPki({ negativeVariants: true });
  db = await startCityDbProcess(pki);
});

after(async () => {
  await Promise.all(open.map((connector) => connector.close()));
  await db?.stop();
  pki?.remove();
});

const operations = {
  ticketByCitation: { sql: 'SELECT id, violation, issued_on, amount_cents, status FROM tickets WHERE citation = $1' },
  unpaidByPlate: {
    sql: "SELECT id, citation, violation, issued_on, amount_cents FROM tickets WHERE plate_keypad = $1 AND state = $2 AND status = 'unpaid' ORDER BY issued_on",
    sensitiveColumns: { citation: 'account' as const },
  },
  ticketById: { sql: 'SELECT id FROM tickets WHERE id = $1' },
  slow: { sql: 'SELECT pg_sleep(30)' },
};

function config(overrides: Partial<PostgresBackendConfig> = {}): PostgresBackendConfig {
  return {
    name: 'city',
    host: 'localhost',
    port: db.info.port,
    database: 'city',
    user: 'traceless',
    tls: { ca: pki.ca, cert: pki.client.cert, key: pki.client.key },
    poolSize: 1,
    connectTimeoutMs: 2000,
    operations,
    ...overrides,
  };
}

function connector(overrides: Partial<PostgresBackendConfig> = {}, logger: ConnectorLogger = silentLogger): PostgresConnector {
  const made = new PostgresConnector(config(overrides), logger);
  open.push(made);
  return made;
}

async function refused(promise: Promise<unknown>, reason?: string): Promise<BackendUnavailableError> {
  const error = await promise.then(
    () => assert.fail('expected the backend to be refused'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof BackendUnavailableError, `got ${String(error)}`);
  if (reason) assert.equal(error.reason, reason);
  return error;
}

test('warm pool over verified mTLS; seeded citation found with a Secret-bound parameter', async () => {
  const city = connector({ poolSize: 2 });
  assert.equal(await city.warm(), true);
  assert.deepEqual({ ...city.health(), idle: undefined }, { backend: 'city', kind: 'postgres', reachable: true, insecureDevelopment: false, connections: 2, idle: undefined, waiting: 0 });
  const result = await city.run('ticketByCitation', [testSecret('account', '12345678')]);
  assert.deepEqual(result.rows, [{ id: 1, violation: 'expired meter', issued_on: '2026-10-03', amount_cents: 6500, status: 'unpaid' }]);
  const paid = await city.run('ticketByCitation', [testSecret('account', '34567890')]);
  assert.equal(paid.rows[0]!.status, 'paid');
  const unknown = await city.run('ticketByCitation', [testSecret('account', '99999999')]);
  assert.equal(unknown.rowCount, 0);
});

test('keypad plate lookup returns the sensitive citation column as Secrets in the cell', async () => {
  const city = connector();
  const cell = new RecordingCell();
  const result = await city.run('unpaidByPlate', [testSecret('digits', '7222123'), 'CA'], { cell });
  assert.equal(result.rowCount, 2);
  assert.deepEqual(result.rows.map((row) => [row.violation, row.amount_cents, secretDigits(row.citation)]), [
    ['expired meter', 6500, '12345678'],
    ['street cleaning', 6500, '23456789'],
  ]);
  assert.equal(cell.imported.length, 2);
  for (const source of cell.sources) assert.ok(source.every((byte) => byte === 0), 'staging buffer zeroed');
  // The Texas plate has no unpaid tickets.
  assert.equal((await city.run('unpaidByPlate', [testSecret('digits', '4999789'), 'TX'], { cell })).rowCount, 0);
});

test('parameters by name, when the operation names them', async () => {
  const city = connector({ operations: { ...operations, byPlate: { ...operations.unpaidByPlate, params: ['plate', 'state'] } } });
  const cell = new RecordingCell();
  const result = await city.run('byPlate', { state: 'CA', plate: testSecret('digits', '7222123') }, { cell });
  assert.deepEqual(result.rows.map((row) => secretDigits(row.citation)), ['12345678', '23456789']);
  await assert.rejects(city.run('byPlate', { plate: testSecret('digits', '7222123') }, { cell }), ConnectorConfigError);
  await assert.rejects(city.run('byPlate', { plate: 'x', state: 'CA', extra: 1 }, { cell }), ConnectorConfigError);
  await assert.rejects(city.run('ticketById', { id: 1 }), ConnectorConfigError);
  assert.throws(() => connector({ operations: { bad: { sql: 'SELECT $1, $2', params: ['only'] } } }), ConnectorConfigError);
});

test('a declared sensitive column missing from the result (renamed by the SQL) refuses the result', async () => {
  const renamed = { sql: 'SELECT citation AS ref FROM tickets WHERE citation = $1', sensitiveColumns: { citation: 'account' as const } };
  const city = connector({ operations: { ...operations, renamed } });
  await assert.rejects(
    city.run('renamed', [testSecret('account', '12345678')], { cell: new RecordingCell() }),
    (error: unknown) => error instanceof ConnectorConfigError && error.path === 'backends.city.operations.renamed.sensitiveColumns.citation',
  );
});

test('a sensitive operation without a cell is refused before anything is sent', async () => {
  const city = connector();
  await assert.rejects(city.run('unpaidByPlate', [testSecret('digits', '7222123'), 'CA']), ConnectorConfigError);
});

test('egress policy: only configured operations, with their parameter count', async () => {
  const city = connector();
  await assert.rejects(city.run('DROP TABLE tickets', []), EgressDeniedError);
  await assert.rejects(city.run('ticketByCitation', []), ConnectorConfigError);
});

test('a server error keeps only its SQLSTATE; the bound value never reaches the message', async () => {
  const city = connector();
  const error = await refused(city.run('ticketById', [testSecret('account', '4111111111111111')]), 'rejected');
  assert.equal(error.detail, '22P03'); // binary int4 must be 4 bytes
  assert.ok(!error.message.includes('4111'));
  // The connection stays usable after a server-side error.
  assert.equal((await city.run('ticketByCitation', [testSecret('account', '12345678')])).rowCount, 1);
});

test('statement_timeout ends a slow statement as BackendUnavailableError(timeout)', async () => {
  const city = connector({ statementTimeoutMs: 100 });
  const error = await refused(city.run('slow', []), 'timeout');
  assert.equal(error.detail, '57014');
});

test('client-side query timeout drops the connection', async () => {
  const city = connector({ statementTimeoutMs: 60_000, queryTimeoutMs: 150 });
  await refused(city.run('slow', []), 'timeout');
  assert.equal(city.health().connections, 0);
});

test('TLS is required unless insecureDevelopment is set, and insecure mode is loud', async () => {
  assert.throws(() => new PostgresConnector({ ...config(), tls: undefined }, silentLogger), (error: unknown) => error instanceof ConnectorConfigError && error.path === 'backends.city.tls');
  assert.throws(() => new PostgresConnector({ ...config(), tls: { ca: pki.ca, cert: '', key: pki.client.key } }, silentLogger), ConnectorConfigError);
  assert.throws(() => new PostgresConnector({ ...config(), insecureDevelopment: true }, silentLogger), ConnectorConfigError);
  const warnings: object[] = [];
  const logger = { ...silentLogger, warn: (obj: object, msg?: string) => warnings.push({ ...obj, msg }) };
  const insecure = connector({ tls: undefined, insecureDevelopment: true }, logger);
  assert.equal(insecure.health().insecureDevelopment, true);
  // The city database accepts TLS only (hostssl), so plaintext is refused by the server too.
  await refused(insecure.run('ticketByCitation', [testSecret('account', '12345678')]), 'rejected');
  assert.ok(warnings.some((warning) => (warning as { msg?: string }).msg?.startsWith('INSECURE')));
});

test('refused: a CA other than the pinned one', async () => {
  await refused(connector({ tls: { ca: pki.variants!.otherCa, cert: pki.client.cert, key: pki.client.key } }).run('ticketById', [1]), 'tls');
});

test('refused: a server certificate for another host name', async () => {
  const front = await tlsFront({ server: pki.variants!.wrongHostServer, postgres: true });
  try {
    const error = await refused(connector({ port: front.port }).run('ticketById', [1]), 'tls');
    assert.equal(error.detail, 'ERR_TLS_CERT_ALTNAME_INVALID');
  } finally {
    await front.close();
  }
});

test('refused: an expired server certificate', async () => {
  const front = await tlsFront({ server: pki.variants!.expiredServer, postgres: true });
  try {
    const error = await refused(connector({ port: front.port }).run('ticketById', [1]), 'tls');
    assert.equal(error.detail, 'CERT_HAS_EXPIRED');
  } finally {
    await front.close();
  }
});

test('refused: a server that offers at most TLS 1.1', async () => {
  const front = await tlsFront({ server: pki.server, postgres: true, maxVersion: 'TLSv1.1' });
  try {
    const error = await refused(connector({ port: front.port }).run('ticketById', [1]), 'tls');
    assert.equal(error.detail, 'EPROTO'); // OpenSSL: "tlsv1 alert protocol version"
  } finally {
    await front.close();
  }
});

test('the city database refuses clients without a valid client certificate', async () => {
  const attempt = async (ssl: pg.ClientConfig['ssl']): Promise<void> => {
    // Bounded: a refusal that never reached pg must fail the test, not hang the suite.
    const client = new pg.Client({ host: 'localhost', port: db.info.port, database: 'city', user: 'traceless', ssl, connectionTimeoutMillis: 20_000 });
    client.on('error', () => undefined);
    await assert.rejects(client.connect());
    // Not awaited: end() after a failed connect can wait forever (node-postgres #2777).
    client.end().catch(() => undefined);
  };
  const ca = [readFileSync(pki.ca)];
  await attempt({ ca }); // no client certificate
  await attempt({ ca, cert: readFileSync(pki.variants!.otherCaClient.cert), key: readFileSync(pki.variants!.otherCaClient.key) });
  await attempt({ ca, cert: readFileSync(pki.variants!.expiredClient.cert), key: readFileSync(pki.variants!.expiredClient.key) });
  await attempt(false); // plaintext
  // …and the connector reports such a refusal as unavailable.
  const otherClient = connector({ tls: { ca: pki.ca, cert: pki.variants!.otherCaClient.cert, key: pki.variants!.otherCaClient.key } });
  await refused(otherClient.run('ticketById', [1]));
});

test('a backend that accepts and never answers times out; a closed port is a connect failure', async () => {
  const silent = await silentServer();
  try {
    await refused(connector({ port: silent.port, connectTimeoutMs: 200 }).run('ticketById', [1]), 'timeout');
  } finally {
    await silent.close();
  }
  const closedPort = silent.port;
  const error = await refused(connector({ port: closedPort }).run('ticketById', [1]), 'connect');
  assert.equal(error.detail, 'ECONNREFUSED');
});

test('warm() reports an unreachable backend without throwing', async () => {
  const silent = await silentServer();
  try {
    const city = connector({ port: silent.port, connectTimeoutMs: 100 });
    assert.equal(await city.warm(), false);
    assert.equal(city.health().reachable, false);
  } finally {
    await silent.close();
  }
});

test('the Secret parameter travels in a write of its own', async () => {
  // A writev would be concatenated by node's TLS layer into a native buffer freed without
  // zeroing; a single write is encrypted straight from the connector's buffer.
  const city = connector();
  await city.warm();
  const citation = Buffer.from('12345678');
  const seen: Array<{ pieces: number; secret: boolean }> = [];
  const prototype = Socket.prototype as unknown as {
    _write(chunk: Buffer, encoding: BufferEncoding, callback: () => void): void;
    _writev(chunks: Array<{ chunk: Buffer }>, callback: () => void): void;
  };
  const { _write: write, _writev: writev } = prototype;
  prototype._write = function (chunk, encoding, callback) {
    if (this instanceof TLSSocket) seen.push({ pieces: 1, secret: chunk.includes(citation) });
    write.call(this, chunk, encoding, callback);
  };
  prototype._writev = function (chunks, callback) {
    if (this instanceof TLSSocket) seen.push({ pieces: chunks.length, secret: chunks.some(({ chunk }) => Buffer.from(chunk).includes(citation)) });
    writev.call(this, chunks, callback);
  };
  try {
    assert.equal((await city.run('ticketByCitation', [testSecret('account', '12345678')])).rowCount, 1);
  } finally {
    prototype._write = write;
    prototype._writev = writev;
  }
  assert.deepEqual(seen, [{ pieces: 1, secret: true }]);
});
