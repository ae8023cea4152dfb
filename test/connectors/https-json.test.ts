// HTTPS JSON and payment-gateway connectors against the test gateway over mutual TLS.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import { startGatewayProcess } from '../../apps/parking/demo-stack.ts';
import { createPki } from '../../apps/parking/certs.ts';
import type { CertFiles, Pki } from '../../apps/parking/certs.ts';
import { startTestGateway } from '../../apps/parking/test-gateway.ts';
import type { TestGateway } from '../../apps/parking/test-gateway.ts';
import { HttpsJsonConnector } from '../../src/connectors/https-json.ts';
import type { HttpsJsonBackendConfig } from '../../src/connectors/https-json.ts';
import { HttpsPaymentGateway } from '../../src/connectors/payment-gateway.ts';
import type { ChargeRequest } from '../../src/connectors/payment-gateway.ts';
import { BackendUnavailableError, ConnectorConfigError, EgressDeniedError } from '../../src/connectors/errors.ts';
import { silentLogger } from '../../src/connectors/types.ts';
import type { Secret } from '../../src/vault/types.ts';
import { testSecret } from './cells.ts';
import { silentServer, tlsFront } from './servers.ts';

let pki: Pki;
let gateway: TestGateway;
const open: HttpsJsonConnector[] = [];
const NOW = new Date('2026-11-28T12:00:00Z');

before(async () => {
  pki = createPki({ negativeVariants: true });
  gateway = await startTestGateway({ tls: { ca: pki.ca, cert: pki.server.cert, key: pki.server.key }, now: () => NOW });
});

after(async () => {
  await Promise.all(open.map((connector) => connector.close()));
  await gateway?.close();
  pki?.remove();
});

function connector(port: number, overrides: Partial<HttpsJsonBackendConfig> = {}): HttpsJsonConnector {
  const made = new HttpsJsonConnector(
    {
      name: 'gateway',
      allowedHosts: ['localhost'],
      endpoints: { charge: { method: 'POST', url: `https://localhost:${port}/v1/charges` } },
      tls: { ca: pki.ca, cert: pki.client.cert, key: pki.client.key },
      connectTimeoutMs: 2000,
      requestTimeoutMs: 2000,
      ...overrides,
    },
    silentLogger,
  );
  open.push(made);
  return made;
}

let attempt = 0;
function charge(card: string, overrides: Partial<ChargeRequest> = {}): ChargeRequest {
  attempt += 1;
  return {
    amountCents: 13000,
    card: testSecret('pan', card),
    expiry: testSecret('expiry', '1228'),
    cvv: testSecret('cvv', '123'),
    zip: testSecret('zip', '94103'),
    idempotencyKey: `attempt-${attempt}`,
    ...overrides,
  };
}

function payments(port = gateway.port): HttpsPaymentGateway {
  return new HttpsPaymentGateway(connector(port), silentLogger);
}

test('4111111111111111 is approved with an authorization code and the last four only', async () => {
  const before = gateway.charges();
  const result = await payments().charge(charge('4111111111111111'));
  assert.equal(result.approved, true);
  assert.ok(result.approved);
  assert.match(result.authCode, /^[0-9A-F]{8}$/);
  assert.equal(result.last4, '1111');
  assert.deepEqual(Object.keys(result).sort(), ['approved', 'authCode', 'last4']);
  assert.equal(gateway.charges(), before + 1);
});

test('4000000000000002 is declined', async () => {
  assert.deepEqual(await payments().charge(charge('4000000000000002')), { approved: false, reason: 'declined' });
});

test('Luhn-invalid, expired, unknown-brand and malformed cards are invalid', async () => {
  const gw = payments();
  assert.deepEqual(await gw.charge(charge('4111111111111112')), { approved: false, reason: 'invalid' });
  assert.deepEqual(await gw.charge(charge('4111111111111111', { expiry: testSecret('expiry', '1026') })), { approved: false, reason: 'invalid' });
  assert.deepEqual(await gw.charge(charge('4111111111111111', { expiry: testSecret('expiry', '1326') })), { approved: false, reason: 'invalid' });
  assert.deepEqual(await gw.charge(charge('9111111111111110')), { approved: false, reason: 'invalid' }); // Luhn-valid, no brand
  assert.deepEqual(await gw.charge(charge('4111111111111111', { cvv: testSecret('cvv', '1234') })), { approved: false, reason: 'invalid' });
  assert.deepEqual(await gw.charge(charge('4111111111111111', { zip: testSecret('zip', '9410') })), { approved: false, reason: 'invalid' });
  // American Express wants a four-digit code (brand detection).
  const amex = await gw.charge(charge('378282246310005', { cvv: testSecret('cvv', '1234') }));
  assert.ok(amex.approved && amex.last4 === '0005');
  // The current month is still valid.
  assert.equal((await gw.charge(charge('5555555555554444', { expiry: testSecret('expiry', '1126') }))).approved, true);
  assert.deepEqual(await gw.charge(charge('4111111111111111', { amountCents: 0 })), { approved: false, reason: 'invalid' });
});

test('the idempotency key is honoured: a replay is answered, not charged again', async () => {
  const gw = payments();
  const first = await gw.charge(charge('4111111111111111', { idempotencyKey: 'same-key' }));
  const chargesAfterFirst = gateway.charges();
  const replay = await gw.charge(charge('4111111111111111', { idempotencyKey: 'same-key' }));
  assert.deepEqual(replay, first);
  assert.equal(gateway.charges(), chargesAfterFirst);
  // The same key for another amount is a conflict, which the caller cannot act on.
  assert.deepEqual(await gw.charge(charge('4111111111111111', { idempotencyKey: 'same-key', amountCents: 100 })), { approved: false, reason: 'unavailable' });
  const other = await gw.charge(charge('4111111111111111'));
  assert.ok(other.approved && first.approved && other.authCode !== first.authCode);
});

test('the request buffer that held the card is zeroed once the exchange is over', async () => {
  const targets: Uint8Array[] = [];
  const recording = (secret: Secret): Secret =>
    ({
      kind: secret.kind,
      length: () => secret.length(),
      writeTo: (target: Uint8Array, offset: number) => {
        targets.push(target);
        return secret.writeTo(target, offset);
      },
    }) as unknown as Secret;
  const request = charge('4111111111111111');
  const result = await payments().charge({ ...request, card: recording(request.card), cvv: recording(request.cvv) });
  assert.equal(result.approved, true);
  assert.equal(targets.length, 2);
  assert.equal(targets[0], targets[1], 'one body buffer');
  assert.ok(targets[0]!.length > 60 && targets[0]!.every((byte) => byte === 0));
});

test('egress policy: hosts outside the allowlist and unnamed endpoints are refused', async () => {
  assert.throws(
    () => connector(gateway.port, { endpoints: { charge: { method: 'POST', url: 'https://evil.example/steal' } } }),
    (error: unknown) => error instanceof ConnectorConfigError && error.path === 'backends.gateway.endpoints.charge.url',
  );
  assert.throws(() => connector(gateway.port, { endpoints: { charge: { method: 'POST', url: `http://localhost:${gateway.port}/` } } }), ConnectorConfigError);
  assert.throws(() => connector(gateway.port, { allowedHosts: [] }), ConnectorConfigError);
  await assert.rejects(connector(gateway.port).request('refund', {}), EgressDeniedError);
});

async function unavailable(port: number, overrides: Partial<HttpsJsonBackendConfig> = {}): Promise<BackendUnavailableError> {
  const error = await connector(port, overrides).request('charge', { amount_cents: 1 }).then(
    () => assert.fail('expected a refusal'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof BackendUnavailableError, `got ${String(error)}`);
  return error;
}

test('refused: a CA other than the pinned one', async () => {
  const error = await unavailable(gateway.port, { tls: { ca: pki.variants!.otherCa, cert: pki.client.cert, key: pki.client.key } });
  assert.equal(error.reason, 'tls');
});

async function against(server: CertFiles, check: (error: BackendUnavailableError) => void, maxVersion?: 'TLSv1.1'): Promise<void> {
  const front = await startTestGateway({ tls: { ca: pki.ca, cert: server.cert, key: server.key }, ...(maxVersion ? { maxVersion, minVersion: 'TLSv1' as const } : {}) });
  try {
    check(await unavailable(front.port));
  } finally {
    await front.close();
  }
}

test('refused: a server certificate for another host name', async () => {
  await against(pki.variants!.wrongHostServer, (error) => assert.deepEqual([error.reason, error.detail], ['tls', 'ERR_TLS_CERT_ALTNAME_INVALID']));
});

test('refused: an expired server certificate', async () => {
  await against(pki.variants!.expiredServer, (error) => assert.deepEqual([error.reason, error.detail], ['tls', 'CERT_HAS_EXPIRED']));
});

test('refused: a server that offers at most TLS 1.1', async () => {
  await against(pki.server, (error) => assert.equal(error.reason, 'tls'), 'TLSv1.1');
});

test('the test gateway refuses clients without a valid client certificate', async () => {
  const attempt = (tls: { cert?: Buffer; key?: Buffer }): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const body = '{"amount_cents":1}';
      const request = httpsRequest(
        { host: '127.0.0.1', servername: 'localhost', port: gateway.port, path: '/v1/charges', method: 'POST', ca: readFileSync(pki.ca), ...tls, headers: { 'idempotency-key': 'x' } },
        () => reject(new Error('the gateway answered')),
      );
      request.on('error', resolve);
      request.end(body);
    });
  const chargesBefore = gateway.charges();
  await attempt({});
  await attempt({ cert: readFileSync(pki.variants!.otherCaClient.cert), key: readFileSync(pki.variants!.otherCaClient.key) });
  await attempt({ cert: readFileSync(pki.variants!.expiredClient.cert), key: readFileSync(pki.variants!.expiredClient.key) });
  assert.equal(gateway.charges(), chargesBefore);
  // Through the connector, a refused client certificate is "unavailable".
  const refused = await unavailable(gateway.port, { tls: { ca: pki.ca, cert: pki.variants!.expiredClient.cert, key: pki.variants!.expiredClient.key } });
  assert.ok(['tls', 'connect'].includes(refused.reason));
});

test('timeouts: a peer that never finishes the handshake, and one that never answers', async () => {
  const silent = await silentServer();
  try {
    const error = await unavailable(silent.port, { connectTimeoutMs: 150 });
    assert.equal(error.reason, 'timeout');
  } finally {
    await silent.close();
  }
  // Completes TLS (right certificate, no client check) and then says nothing.
  const mute = await tlsFront({ server: pki.server });
  try {
    const error = await unavailable(mute.port, { requestTimeoutMs: 150 });
    assert.equal(error.reason, 'timeout');
  } finally {
    await mute.close();
  }
});

test('a gateway that is down makes charge() answer unavailable, nothing else', async () => {
  const silent = await silentServer();
  const port = silent.port;
  await silent.close();
  assert.deepEqual(await payments(port).charge(charge('4111111111111111')), { approved: false, reason: 'unavailable' });
});

test('a request the peer drops is reported, not retried', async () => {
  let received = 0;
  const dropper = createHttpsServer(
    { ca: readFileSync(pki.ca), cert: readFileSync(pki.server.cert), key: readFileSync(pki.server.key), requestCert: true },
    (request) => {
      received += 1;
      request.socket.destroy();
    },
  );
  await new Promise<void>((resolve) => dropper.listen(0, '127.0.0.1', resolve));
  const port = (dropper.address() as { port: number }).port;
  try {
    const https = connector(port);
    const result = await new HttpsPaymentGateway(https, silentLogger).charge(charge('4111111111111111'));
    assert.deepEqual(result, { approved: false, reason: 'unavailable' });
    await https.close();
    assert.equal(received, 1);
  } finally {
    dropper.closeAllConnections();
    await new Promise((resolve) => dropper.close(resolve));
  }
});

test('the gateway process answers over mTLS and writes nothing about the card', async () => {
  const gatewayProcess = await startGatewayProcess(pki);
  let output = '';
  gatewayProcess.child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  gatewayProcess.child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  try {
    const gw = payments(gatewayProcess.info.port);
    const approved = await gw.charge(charge('4111111111111111'));
    assert.ok(approved.approved);
    assert.deepEqual(await gw.charge(charge('4000000000000002')), { approved: false, reason: 'declined' });
  } finally {
    await gatewayProcess.stop();
  }
  assert.equal(gatewayProcess.child.exitCode, 0);
  for (const secret of ['4111111111111111', '4000000000000002', '1228', '94103']) assert.ok(!output.includes(secret), `gateway wrote ${secret.length} digits`);
});

test('the card travels in a write of its own, never concatenated with the request head', async () => {
  // node's TLS layer copies the pieces of a writev into a native buffer freed without
  // zeroing; a single write is encrypted straight from our buffer. Watch the client sockets.
  const card = Buffer.from('4111111111111111');
  const seen: Array<{ pieces: number; card: boolean }> = [];
  const prototype = Socket.prototype as unknown as {
    _write(chunk: Buffer, encoding: BufferEncoding, callback: () => void): void;
    _writev(chunks: Array<{ chunk: Buffer }>, callback: () => void): void;
  };
  const { _write: write, _writev: writev } = prototype;
  const client = (socket: unknown): boolean => socket instanceof TLSSocket && !(socket as { server?: unknown }).server;
  prototype._write = function (chunk, encoding, callback) {
    if (client(this)) seen.push({ pieces: 1, card: chunk.includes(card) });
    write.call(this, chunk, encoding, callback);
  };
  prototype._writev = function (chunks, callback) {
    if (client(this)) seen.push({ pieces: chunks.length, card: chunks.some(({ chunk }) => Buffer.from(chunk).includes(card)) });
    writev.call(this, chunks, callback);
  };
  try {
    assert.equal((await payments().charge(charge('4111111111111111'))).approved, true);
  } finally {
    prototype._write = write;
    prototype._writev = writev;
  }
  const withCard = seen.filter((entry) => entry.card);
  assert.deepEqual(withCard, [{ pieces: 1, card: true }]);
  assert.ok(seen.some((entry) => entry.pieces > 1 && !entry.card), 'the head went out separately');
});
