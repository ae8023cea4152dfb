// The demo's payment gateway: an HTTPS server that accepts only clients with a certificate
// from the demo CA, and answers charges the way a card processor's test mode does.
// Runs as its own process: `node --import tsx apps/parking/test-gateway.ts --ca F --cert F
// --key F [--port N]` prints {"ready":true,"port":N} on stdout when listening.
//
// Card data is read from the body as bytes (json-bytes.ts) and checked as bytes; the body
// buffer is zeroed when the answer is sent. Nothing about a card is logged or kept: the
// idempotency table holds only the answers (authorization code and last four).
//
// POST /v1/charges  {amount_cents, currency, card: {number, expiry, cvv, zip}}
//   Idempotency-Key: <key>  (required)
//   200 {approved: true, authorization, last4, charge_id}
//   402 {approved: false, reason: 'declined'}   card 4000000000000002 (and 4000000000009995)
//   422 {approved: false, reason: 'invalid', field}  Luhn, brand, expiry, CVV or ZIP wrong
//   409 {approved: false, reason: 'idempotency_conflict'}  key reused with another amount
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { SecureVersion } from 'node:tls';
import { parseArgs } from 'node:util';
import { allDigits, brandOf, bytesEqual, expiryValid, luhnValid } from './card-bytes.ts';
import { JsonBytesError, parseJsonBytes } from './json-bytes.ts';
import type { JsonBytes } from './json-bytes.ts';

const MAX_BODY = 4096;
const MAX_REMEMBERED = 10_000;
const DECLINED_CARDS = [Buffer.from('4000000000000002'), Buffer.from('4000000000009995')];

export interface TestGatewayOptions {
  tls: { ca: string; cert: string; key: string };
  host?: string;
  port?: number;
  /** For negative tests only: cap the protocol version the server offers. */
  maxVersion?: SecureVersion;
  minVersion?: SecureVersion;
  /** Clock for expiry checks (tests). */
  now?: () => Date;
}

export interface TestGateway {
  port: number;
  url: string;
  /** Charges actually made (idempotent replays are not counted). */
  charges(): number;
  close(): Promise<void>;
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
  amountCents: number;
}

function reply(response: ServerResponse, status: number, body: Record<string, unknown>): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  response.end(text);
}

/** Reads the body into one Buffer.alloc'ed buffer (chunks zeroed as they are copied). */
function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const body = Buffer.alloc(MAX_BODY);
    let size = 0;
    let overflow = false;
    request.on('data', (chunk: Buffer) => {
      if (size + chunk.length > MAX_BODY) overflow = true;
      else {
        chunk.copy(body, size);
        size += chunk.length;
      }
      chunk.fill(0);
    });
    request.on('end', () => {
      if (overflow) {
        body.fill(0);
        resolve(undefined);
      } else resolve(body.subarray(0, size));
    });
    request.on('error', () => {
      body.fill(0);
      resolve(undefined);
    });
  });
}

function field(value: JsonBytes | undefined): Uint8Array | undefined {
  return value instanceof Uint8Array ? value : undefined;
}

type Verdict = { status: number; body: Record<string, unknown>; charged: boolean };

function decide(document: JsonBytes, now: Date): Verdict {
  const invalid = (name: string): Verdict => ({ status: 422, body: { approved: false, reason: 'invalid', field: name }, charged: false });
  if (typeof document !== 'object' || document === null || document instanceof Uint8Array || Array.isArray(document)) return invalid('body');
  const amount = document.amount_cents;
  if (typeof amount !== 'number' || !Number.isInteger(amount) || amount <= 0) return invalid('amount_cents');
  const card = document.card;
  if (typeof card !== 'object' || card === null || card instanceof Uint8Array || Array.isArray(card)) return invalid('card');
  const number = field(card.number);
  const expiry = field(card.expiry);
  const cvv = field(card.cvv);
  const zip = field(card.zip);
  if (!number || !luhnValid(number)) return invalid('number');
  const brand = brandOf(number);
  if (brand === 'unknown') return invalid('number');
  if (!expiry || !expiryValid(expiry, now)) return invalid('expiry');
  if (!cvv || !allDigits(cvv) || cvv.length !== (brand === 'amex' ? 4 : 3)) return invalid('cvv');
  if (!zip || !allDigits(zip) || zip.length !== 5) return invalid('zip');
  if (DECLINED_CARDS.some((declined) => bytesEqual(declined, number))) {
    return { status: 402, body: { approved: false, reason: 'declined' }, charged: false };
  }
  const last4 = Buffer.from(number.subarray(number.length - 4)).toString('latin1');
  return {
    status: 200,
    body: { approved: true, authorization: randomBytes(4).toString('hex').toUpperCase(), last4 },
    charged: true,
  };
}

export function startTestGateway(options: TestGatewayOptions): Promise<TestGateway> {
  const answers = new Map<string, Answer>();
  let charges = 0;
  const now = options.now ?? (() => new Date());
  const server: Server = createServer(
    {
      ca: readFileSync(options.tls.ca),
      cert: readFileSync(options.tls.cert),
      key: readFileSync(options.tls.key),
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: options.minVersion ?? 'TLSv1.2',
      ...(options.maxVersion ? { maxVersion: options.maxVersion } : {}),
      // TLS 1.1 needs the legacy security level in OpenSSL 3 (negative tests only).
      ...(options.maxVersion === 'TLSv1.1' || options.maxVersion === 'TLSv1' ? { ciphers: 'DEFAULT@SECLEVEL=0' } : {}),
    },
    (request, response) => {
      handle(request, response).catch(() => reply(response, 500, { approved: false, reason: 'error' }));
    },
  );

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.method !== 'POST' || request.url !== '/v1/charges') {
      request.resume();
      reply(response, 404, { reason: 'not_found' });
      return;
    }
    const key = request.headers['idempotency-key'];
    const body = await readBody(request);
    if (!body) {
      reply(response, 413, { approved: false, reason: 'invalid', field: 'body' });
      return;
    }
    try {
      if (typeof key !== 'string' || key.length === 0 || key.length > 64) {
        reply(response, 400, { approved: false, reason: 'invalid', field: 'idempotency-key' });
        return;
      }
      let document: JsonBytes;
      try {
        document = parseJsonBytes(body);
      } catch (error) {
        if (!(error instanceof JsonBytesError)) throw error;
        reply(response, 400, { approved: false, reason: 'invalid', field: 'body' });
        return;
      }
      const amount = typeof document === 'object' && document !== null && !(document instanceof Uint8Array) && !Array.isArray(document) ? document.amount_cents : undefined;
      const previous = answers.get(key);
      if (previous) {
        if (previous.amountCents !== amount) reply(response, 409, { approved: false, reason: 'idempotency_conflict' });
        else reply(response, previous.status, previous.body);
        return;
      }
      const verdict = decide(document, now());
      if (verdict.charged) {
        charges += 1;
        verdict.body.charge_id = `ch_${charges}`;
      }
      if (answers.size >= MAX_REMEMBERED) answers.delete(answers.keys().next().value!);
      answers.set(key, { status: verdict.status, body: verdict.body, amountCents: typeof amount === 'number' ? amount : -1 });
      reply(response, verdict.status, verdict.body);
    } finally {
      body.fill(0);
    }
  }

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      let closed: Promise<void> | undefined;
      resolve({
        port,
        url: `https://localhost:${port}/v1/charges`,
        charges: () => charges,
        close: () => {
          closed ??= new Promise((done) => {
            server.close(() => done());
            server.closeAllConnections();
          });
          return closed;
        },
      });
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { ca: { type: 'string' }, cert: { type: 'string' }, key: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' } },
  });
  if (!values.ca || !values.cert || !values.key) {
    process.stderr.write('usage: test-gateway.ts --ca <pem> --cert <pem> --key <pem> [--port N] [--host 127.0.0.1]\n');
    process.exit(2);
  }
  const gateway = await startTestGateway({
    tls: { ca: values.ca, cert: values.cert, key: values.key },
    port: values.port ? Number(values.port) : 0,
    host: values.host ?? '127.0.0.1',
  });
  const shutdown = (): void => {
    gateway.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  process.stdin.once('end', shutdown);
  process.stdin.resume();
  process.stdout.write(`${JSON.stringify({ ready: true, port: gateway.port })}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : 'test gateway failed'}\n`);
    process.exit(1);
  });
}
