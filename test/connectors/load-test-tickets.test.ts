// Load-test tickets (the bench's parking scenario): the city database seeds one unpaid, alike
// ticket per citation from a file, next to the demo dataset, and refuses a citation it already has.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPki } from '../../apps/parking/certs.ts';
import type { Pki } from '../../apps/parking/certs.ts';
import { startCityDbProcess } from '../../apps/parking/demo-stack.ts';
import { LOAD_TEST_TICKET, parseLoadTestCitations } from '../../apps/parking/city-schema.ts';
import { CITY_OPERATIONS } from '../../apps/parking/backends.ts';
import { PostgresConnector } from '../../src/connectors/postgres.ts';
import { silentLogger } from '../../src/connectors/types.ts';
import { testSecret } from './cells.ts';

let pki: Pki;
let dir: string;

before(() => {
  pki = createPki();
  dir = mkdtempSync(join(tmpdir(), 'traceless-load-test-'));
});

after(() => {
  pki?.remove();
  rmSync(dir, { recursive: true, force: true });
});

test('load-test citations: one per line, blank lines skipped, a bad or repeated line named', () => {
  assert.deepEqual(parseLoadTestCitations('02345678\n\n 80234567 \n'), ['02345678', '80234567']);
  assert.throws(() => parseLoadTestCitations('02345678\n\n0234567\n'), /line 3: not 8 digits/);
  assert.throws(() => parseLoadTestCitations('0234567a'), /line 1: not 8 digits/);
  assert.throws(() => parseLoadTestCitations('02345678\n02345678'), /line 2: a duplicate/);
});

test('city database seeds the load-test tickets unpaid and alike, next to the demo dataset', async () => {
  const file = join(dir, 'citations.txt');
  writeFileSync(file, '02345678\n80234567\n');
  const db = await startCityDbProcess(pki, { loadTestCitations: file });
  const city = new PostgresConnector(
    {
      name: 'city',
      host: 'localhost',
      port: db.info.port,
      database: db.info.database,
      user: db.info.user,
      tls: { ca: pki.ca, cert: pki.client.cert, key: pki.client.key },
      poolSize: 1,
      operations: CITY_OPERATIONS,
    },
    silentLogger,
  );
  try {
    const lookup = async (citation: string) => (await city.run('ticketByCitation', { citation: testSecret('account', citation) })).rows;
    const expected = { violation: LOAD_TEST_TICKET.violation, issued_on: LOAD_TEST_TICKET.issuedOn, amount_cents: LOAD_TEST_TICKET.amountCents, status: 'unpaid' };
    for (const citation of ['02345678', '80234567']) {
      const rows = await lookup(citation);
      assert.equal(rows.length, 1);
      const { id, ...rest } = rows[0]!;
      assert.equal(typeof id, 'number');
      assert.deepEqual(rest, expected);
    }
    assert.equal((await lookup('12345678')).length, 1, 'the demo dataset is still there');
    assert.equal((await lookup('02345679')).length, 0);
  } finally {
    await city.close();
    await db.stop();
  }
});

test('a load-test citation the city already has stops the database from starting', async () => {
  const file = join(dir, 'taken.txt');
  writeFileSync(file, '02345678\n12345678\n');
  await assert.rejects(startCityDbProcess(pki, { loadTestCitations: file }), /tickets_citation_key/);
});
