// After a payment and a database lookup through the connectors, with the call's cell
// released, this process's memory holds no trace of the card number or the citation.
// The gateway and database run in their own processes, as in production.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { createPki } from '../../apps/parking/certs.ts';
import type { Pki } from '../../apps/parking/certs.ts';
import { startCityDbProcess, startGatewayProcess } from '../../apps/parking/demo-stack.ts';
import type { CityDbInfo, ReadyProcess } from '../../apps/parking/demo-stack.ts';
import { HttpsJsonConnector } from '../../src/connectors/https-json.ts';
import { HttpsPaymentGateway } from '../../src/connectors/payment-gateway.ts';
import { PostgresConnector } from '../../src/connectors/postgres.ts';
import { silentLogger } from '../../src/connectors/types.ts';
import { acquireCell } from './cells.ts';
import { fixedBuffer } from '../../src/connectors/fixed-buffer.ts';

let pki: Pki;
let db: ReadyProcess<CityDbInfo>;
let gateway: ReadyProcess<{ port: number }>;

before(async () => {
  pki = createPki();
  [db, gateway] = await Promise.all([startCityDbProcess(pki), startGatewayProcess(pki)]);
});

after(async () => {
  await Promise.all([db?.stop(), gateway?.stop()]);
  pki?.remove();
});

/** Random digits written straight into a zeroed buffer; with `luhn` the last digit makes it Luhn-valid. */
function canaryDigits(length: number, prefix: number[], luhn: boolean): Buffer {
  const digits = fixedBuffer(length);
  for (let index = 0; index < length; index += 1) digits[index] = 0x30 + (prefix[index] ?? randomInt(10));
  if (luhn) {
    let sum = 0;
    for (let index = 0; index < length - 1; index += 1) {
      let digit = digits[length - 2 - index]! - 0x30;
      if (index % 2 === 0) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
      sum += digit;
    }
    digits[length - 1] = 0x30 + ((10 - (sum % 10)) % 10);
  }
  return digits;
}

/**
 * A value to look for, held as its two halves with filler between them, so the needle
 * itself never sits contiguously in memory and the scan cannot find itself.
 */
class Needle {
  private readonly parts: Buffer;
  private readonly half: number;
  constructor(value: Buffer) {
    this.half = value.length >> 1;
    this.parts = Buffer.alloc(value.length + 8, 0xff);
    value.copy(this.parts, 0, 0, this.half);
    value.copy(this.parts, this.half + 8, this.half);
  }
  get length(): number {
    return this.parts.length - 8;
  }
  /** Occurrences in `view`, starting before `limit`. */
  count(view: Buffer, limit: number): number {
    const head = this.parts.subarray(0, this.half);
    const tail = this.parts.subarray(this.half + 8);
    let hits = 0;
    for (let found = view.indexOf(head); found >= 0 && found < limit; found = view.indexOf(head, found + 1)) {
      if (view.subarray(found + this.half, found + this.half + tail.length).equals(tail)) hits += 1;
    }
    return hits;
  }
  wipe(): void {
    this.parts.fill(0);
  }
}

const OVERLAP = 64;

/** Counts each needle in every readable mapping of this process (/proc/self/mem). */
function scanOwnMemory(needles: Needle[]): { counts: number[]; where: string[] } {
  const counts = needles.map(() => 0);
  const where: string[] = [];
  const maps = readFileSync('/proc/self/maps', 'latin1').split('\n');
  const mem = openSync('/proc/self/mem', 'r');
  const chunk = Buffer.alloc(1 << 20);
  try {
    for (const line of maps) {
      const match = /^([0-9a-f]+)-([0-9a-f]+) r/.exec(line);
      if (!match) continue;
      const start = parseInt(match[1]!, 16);
      const end = parseInt(match[2]!, 16);
      // Chunks overlap so a match across an edge is seen; a match is counted in the chunk it starts in.
      for (let at = start; at < end; at += chunk.length - OVERLAP) {
        let read = 0;
        try {
          read = readSync(mem, chunk, 0, Math.min(chunk.length, end - at), at);
        } catch {
          break; // [vvar] and other unreadable mappings
        }
        const view = chunk.subarray(0, read);
        const limit = at + read >= end ? read : read - OVERLAP;
        needles.forEach((needle, index) => {
          const hits = needle.count(view, limit);
          if (hits > 0) where.push(line);
          counts[index] = (counts[index] ?? 0) + hits;
        });
        if (at + read >= end) break;
      }
    }
  } finally {
    closeSync(mem);
    chunk.fill(0);
  }
  return { counts, where };
}

test('no card number or citation left in memory after the call, including one the database sent back', async () => {
  const cell = acquireCell();
  const card = canaryDigits(16, [4], true);
  const citation = canaryDigits(8, [9], false);
  // A control the scan must find, proving it can: a canary deliberately copied into a string.
  const control = canaryDigits(16, [5], true);
  const leaked = { text: control.toString('latin1') };
  const needles = [new Needle(card), new Needle(citation), new Needle(control)];
  control.fill(0);
  const cardSecret = cell.importSecret('pan', card);
  const citationSecret = cell.importSecret('account', citation);
  const expiry = cell.importSecret('expiry', Buffer.from('1299'));
  const cvv = cell.importSecret('cvv', Buffer.from('123'));
  const zip = cell.importSecret('zip', Buffer.from('94103'));

  const https = new HttpsJsonConnector(
    {
      name: 'gateway',
      allowedHosts: ['localhost'],
      endpoints: { charge: { method: 'POST', url: `https://localhost:${gateway.info.port}/v1/charges` } },
      tls: { ca: pki.ca, cert: pki.client.cert, key: pki.client.key },
    },
    silentLogger,
  );
  const city = new PostgresConnector(
    {
      name: 'city',
      host: 'localhost',
      port: db.info.port,
      database: 'city',
      user: 'traceless',
      tls: { ca: pki.ca, cert: pki.client.cert, key: pki.client.key },
      operations: {
        ticket: { sql: 'SELECT id FROM tickets WHERE citation = $1' },
        // The server sends the value back: it must arrive in the arena, not in a string.
        echo: { sql: 'SELECT $1::text AS echo', sensitiveColumns: { echo: 'account' } },
      },
    },
    silentLogger,
  );
  try {
    const charged = await new HttpsPaymentGateway(https, silentLogger).charge({ amountCents: 6500, card: cardSecret, expiry, cvv, zip, idempotencyKey: 'residue-1' });
    assert.equal(charged.approved, true);
    assert.equal((await city.run('ticket', [citationSecret])).rowCount, 0);
    const echoed = (await city.run('echo', [citationSecret], { cell })).rows[0]!.echo;
    assert.ok(citationSecret.equals(echoed as typeof citationSecret));
  } finally {
    await https.close();
    await city.close();
  }
  const report = cell.release('completed');
  assert.equal(report?.wipe.verified, true);
  (globalThis as { gc?: () => void }).gc?.();

  const { counts, where } = scanOwnMemory(needles);
  for (const needle of needles) needle.wipe();
  assert.ok(counts[2]! >= 1, 'the scan finds a value deliberately left in a string');
  assert.equal(leaked.text.length, 16);
  assert.deepEqual(counts.slice(0, 2), [0, 0], `card and citation found in: ${where.join(' | ')}`);
});
