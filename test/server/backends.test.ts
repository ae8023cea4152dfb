// The backends a config names, as flows and /health/ready see them: HTTPS endpoints called
// through the same BackendPort as the database, the per-application egress rule, and one
// health line per backend and for the payment gateway. Real mutual TLS on 127.0.0.1.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createPki, type Pki } from '../../apps/parking/certs.ts';
import { configSchema } from '../../src/server/config-schema.ts';
import type { LoadedConfig } from '../../src/server/config-load.ts';
import { backendPortFor, buildBackends, type Backends } from '../../src/server/backends.ts';
import { BackendUnavailableError, ConnectorConfigError, EgressDeniedError } from '../../src/connectors/errors.ts';
import { silentLogger } from '../../src/connectors/types.ts';
import { acquireCell, testSecret } from '../connectors/cells.ts';
import { silentServer, tlsFront, type Listening } from '../connectors/servers.ts';

let pki: Pki;
let service: Server;
let servicePort: number;
let wrongCa: Listening;
let silent: Listening;
/** Every request the permits service received: method, path and the exact body bytes. */
const received: Array<{ method: string; path: string; body: Buffer }> = [];
let nextStatus: number | null = null;
/** The call cell every port here returns sensitive columns into (none of these return any). */
let cell: ReturnType<typeof acquireCell>;

before(async () => {
  pki = createPki({ negativeVariants: true });
  cell = acquireCell();
  // A permits service that requires our client certificate, as a real one would.
  service = createServer(
    { key: readFileSync(pki.server.key), cert: readFileSync(pki.server.cert), ca: readFileSync(pki.ca), requestCert: true, rejectUnauthorized: true },
    (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks);
        received.push({ method: request.method ?? '', path: request.url ?? '', body });
        const reply = (status: number, json: unknown): void => {
          response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
        };
        if (nextStatus !== null) {
          const status = nextStatus;
          nextStatus = null;
          return reply(status, { error: 'as asked' });
        }
        if (request.url === '/v1/lookup') {
          const { plate } = JSON.parse(body.toString()) as { plate: string };
          if (plate === 'NONE') return reply(404, { error: 'not found' });
          return reply(200, { results: [{ id: 7, permit: 'R-12', active: true, zone: null, holder: { name: 'x' } }, { id: 8, permit: 'R-13', active: false, zone: 'B' }] });
        }
        if (request.url === '/v1/status') return reply(200, { id: 1, status: 'open' });
        reply(404, {});
      });
    },
  );
  await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve));
  servicePort = (service.address() as AddressInfo).port;
  wrongCa = await tlsFront({ server: pki.variants!.otherCaServer });
  silent = await silentServer();
});

after(async () => {
  service?.closeAllConnections();
  await new Promise((resolve) => service?.close(resolve));
  await wrongCa?.close();
  await silent?.close();
  cell?.release('completed');
  pki?.remove();
});

function tls() {
  return { caFile: pki.ca, certFile: pki.client.cert, keyFile: pki.client.key };
}

function loaded(overrides: Record<string, unknown> = {}): LoadedConfig {
  const config = configSchema.parse({
    sip: { listeners: [{ transport: 'udp', address: '127.0.0.1', port: 0 }] },
    numbers: { '*': 'permits' },
    applications: { permits: { flow: 'flow.yaml', agentUri: 'sip:agent@127.0.0.1', backends: ['permits'], payment: true } },
    backends: {
      permits: {
        type: 'https',
        allowedHosts: ['localhost'],
        endpoints: {
          lookup: { method: 'POST', url: `https://localhost:${servicePort}/v1/lookup`, params: ['plate', 'pin'], rows: 'results' },
          status: { method: 'GET', url: `https://localhost:${servicePort}/v1/status` },
        },
        tls: tls(),
        connectTimeoutMs: 2000,
        requestTimeoutMs: 2000,
      },
      // Nothing answers TLS here: the start-up probe cannot complete a handshake.
      stalled: {
        type: 'https',
        allowedHosts: ['localhost'],
        endpoints: { ping: { method: 'GET', url: `https://localhost:${silent.port}/ping` } },
        tls: tls(),
        connectTimeoutMs: 300,
      },
      // The server's certificate comes from another CA than the pinned one.
      impostor: {
        type: 'https',
        allowedHosts: ['localhost'],
        endpoints: { ping: { method: 'GET', url: `https://localhost:${wrongCa.port}/ping` } },
        tls: tls(),
      },
      // A plaintext database on a port nobody listens on (insecure development mode).
      citydb: {
        type: 'postgres',
        host: '127.0.0.1',
        port: silent.port + 1,
        database: 'city',
        user: 'ivr',
        poolSize: 1,
        connectTimeoutMs: 500,
        operations: { ping: { sql: 'SELECT 1' } },
      },
    },
    payment: { type: 'https-gateway', chargeUrl: `https://localhost:${servicePort}/v1/charges`, tls: tls() },
    insecureDevelopment: true,
    ...overrides,
  });
  return { config, baseDir: pki.dir };
}

async function withBackends(run: (backends: Backends) => Promise<void>): Promise<void> {
  const backends = buildBackends(loaded(), silentLogger);
  try {
    await run(backends);
  } finally {
    await backends.close();
  }
}

test('an HTTPS endpoint is a named operation on the flow BackendPort: params go out as the JSON body, the reply comes back as rows', async () => {
  await withBackends(async (backends) => {
    const port = backendPortFor(backends, ['permits'], cell);
    const before = received.length;
    const result = await port.query('permits', 'lookup', { plate: '7ABC123', pin: testSecret('pin', '4321') });
    // Scalars are kept (booleans as text), nested objects left out.
    assert.deepEqual(result.rows, [
      { id: 7, permit: 'R-12', active: 'true', zone: null },
      { id: 8, permit: 'R-13', active: 'false', zone: 'B' },
    ]);
    const sent = received.slice(before);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.method, 'POST');
    assert.equal(sent[0]!.path, '/v1/lookup');
    // The Secret's digits were written into the body from the arena. Had it passed through a
    // string it would read "[secret]" (Secret.toString) — the bytes prove the byte path.
    assert.equal(sent[0]!.body.toString('latin1'), '{"plate":"7ABC123","pin":"4321"}');
  });
});

test('a GET endpoint without rows: the reply object is one row; a 404 is no rows, not an outage', async () => {
  await withBackends(async (backends) => {
    const port = backendPortFor(backends, ['permits'], cell);
    assert.deepEqual((await port.query('permits', 'status', {})).rows, [{ id: 1, status: 'open' }]);
    assert.deepEqual((await port.query('permits', 'lookup', { plate: 'NONE', pin: testSecret('pin', '1') })).rows, []);
  });
});

test('any other status, and a 5xx, is BackendUnavailableError (the flow plays "temporarily unavailable")', async () => {
  await withBackends(async (backends) => {
    const port = backendPortFor(backends, ['permits'], cell);
    nextStatus = 409;
    await assert.rejects(port.query('permits', 'status', {}), (error: unknown) => error instanceof BackendUnavailableError && error.reason === 'rejected' && error.detail === '409');
    nextStatus = 503;
    await assert.rejects(port.query('permits', 'status', {}), (error: unknown) => error instanceof BackendUnavailableError && error.reason === 'rejected');
  });
});

test('egress: an application reaches only the backends it names, and only their configured operations and parameters', async () => {
  await withBackends(async (backends) => {
    const before = received.length;
    const onlyDatabase = backendPortFor(backends, ['citydb'], cell);
    await assert.rejects(onlyDatabase.query('permits', 'status', {}), (error: unknown) => error instanceof EgressDeniedError && error.code === 'TL_EGRESS_DENIED' && error.backend === 'permits');
    const nothing = backendPortFor(backends, [], cell);
    await assert.rejects(nothing.query('citydb', 'ping', {}), EgressDeniedError);
    const permits = backendPortFor(backends, ['permits', 'payment'], cell);
    // The payment gateway is not a backend a flow can query, even when an app lists the name.
    await assert.rejects(permits.query('payment', 'charge', {}), EgressDeniedError);
    await assert.rejects(permits.query('permits', 'delete', {}), EgressDeniedError);
    await assert.rejects(permits.query('permits', 'lookup', { plate: 'X', pin: testSecret('pin', '1'), extra: 'y' }), ConnectorConfigError);
    await assert.rejects(permits.query('permits', 'lookup', { plate: 'X' }), ConnectorConfigError);
    await assert.rejects(permits.query('permits', 'status', { plate: 'X' }), ConnectorConfigError);
    assert.equal(received.length, before, 'nothing refused was sent');
  });
});

test('health lists every backend and the payment gateway: unknown before warm-up, then the probe, then the last request', async () => {
  await withBackends(async (backends) => {
    const byName = () => Object.fromEntries(backends.health().map((entry) => [entry.name, entry]));
    assert.deepEqual(byName(), {
      permits: { name: 'permits', kind: 'https', reachable: null, insecure: false },
      stalled: { name: 'stalled', kind: 'https', reachable: null, insecure: false },
      impostor: { name: 'impostor', kind: 'https', reachable: null, insecure: false },
      citydb: { name: 'citydb', kind: 'postgres', reachable: null, insecure: true },
      payment: { name: 'payment', kind: 'payment', reachable: null, insecure: false },
    });
    const probesBefore = received.length;
    await backends.warm();
    assert.equal(received.length, probesBefore, 'the probe is a TLS handshake only: no HTTP request reaches the service');
    const warmed = byName();
    assert.equal(warmed.permits!.reachable, true);
    assert.equal(warmed.payment!.reachable, true);
    assert.equal(warmed.stalled!.reachable, false, 'no handshake within connectTimeoutMs');
    assert.equal(warmed.impostor!.reachable, false, 'a certificate outside the pinned CA is not reachable');
    assert.equal(warmed.citydb!.reachable, false);
    assert.equal(warmed.citydb!.insecure, true);

    // After start the last real request decides.
    const port = backendPortFor(backends, ['stalled', 'permits'], cell);
    await assert.rejects(port.query('stalled', 'ping', {}), BackendUnavailableError);
    assert.equal(byName().stalled!.reachable, false);
    nextStatus = 500;
    await assert.rejects(port.query('permits', 'status', {}), BackendUnavailableError);
    assert.equal(byName().permits!.reachable, true, 'a 5xx came from a reachable service');
  });
});

test('a service that goes away after a good probe shows unreachable after the next request', async () => {
  const flaky = createServer({ key: readFileSync(pki.server.key), cert: readFileSync(pki.server.cert) }, (_, response) => {
    response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
  const flakyPort = (flaky.address() as AddressInfo).port;
  const config = loaded({
    backends: {
      flaky: { type: 'https', allowedHosts: ['localhost'], endpoints: { ping: { method: 'GET', url: `https://localhost:${flakyPort}/ping` } }, tls: tls() },
    },
    payment: undefined,
  });
  const backends = buildBackends(config, silentLogger);
  try {
    await backends.warm();
    assert.deepEqual(backends.health(), [{ name: 'flaky', kind: 'https', reachable: true, insecure: false }]);
    flaky.closeAllConnections();
    await new Promise((resolve) => flaky.close(resolve));
    await assert.rejects(backendPortFor(backends, ['flaky'], cell).query('flaky', 'ping', {}), BackendUnavailableError);
    assert.deepEqual(backends.health(), [{ name: 'flaky', kind: 'https', reachable: false, insecure: false }]);
  } finally {
    await backends.close();
  }
});

test('insecure is false for a database with TLS', async () => {
  const config = loaded({ insecureDevelopment: false });
  const citydb = config.config.backends.citydb;
  assert.ok(citydb?.type === 'postgres');
  citydb.tls = { caFile: pki.ca, certFile: pki.client.cert, keyFile: pki.client.key };
  const backends = buildBackends(config, silentLogger);
  try {
    assert.equal(backends.health().find((entry) => entry.name === 'citydb')?.insecure, false);
  } finally {
    await backends.close();
  }
});
