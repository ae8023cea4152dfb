// The demo stack as `traceless demo` runs it: database and gateway in their own processes,
// reachable only over mutual TLS, and nothing left behind after Ctrl-C.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import type { DemoStack } from '../../apps/parking/demo-stack.ts';
import { PostgresConnector } from '../../src/connectors/postgres.ts';
import { HttpsJsonConnector } from '../../src/connectors/https-json.ts';
import { HttpsPaymentGateway } from '../../src/connectors/payment-gateway.ts';
import { silentLogger } from '../../src/connectors/types.ts';
import { RecordingCell, secretDigits, testSecret } from './cells.ts';
import { demoBackendConfigs } from '../../apps/parking/backends.ts';

/** Running, as opposed to gone or exited and waiting to be reaped (state Z, zombie). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function descendants(pid: number): number[] {
  const out = execFileSync('ps', ['-e', '-o', 'pid=,ppid=']).toString();
  const children = new Map<number, number[]>();
  for (const line of out.trim().split('\n')) {
    const [child, parent] = line.trim().split(/\s+/).map(Number);
    children.set(parent!, [...(children.get(parent!) ?? []), child!]);
  }
  const result: number[] = [];
  const walk = (id: number): void => {
    for (const child of children.get(id) ?? []) {
      result.push(child);
      walk(child);
    }
  };
  walk(pid);
  return result;
}

test('demo stack: seeded city database and gateway over mTLS, all gone after SIGINT', async (t) => {
  // A private parent the postgres service user can traverse, so we can see it end empty.
  const tmpRoot = mkdtempSync(join(tmpdir(), 'traceless-stack-test-'));
  chmodSync(tmpRoot, 0o755);
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'demo-stack-main.ts'), tmpRoot], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    rmSync(tmpRoot, { recursive: true, force: true });
  });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  const stack = JSON.parse(line.toString()) as Pick<DemoStack, 'db' | 'gateway'>;
  const processes = descendants(child.pid!);
  assert.ok(processes.length >= 3, 'database and gateway run as their own processes');

  // Temp files are private: the PKI directory is 0700 and keys are 0600.
  const pkiDir = join(stack.db.tls.key, '..');
  assert.equal(statSync(pkiDir).mode & 0o777, 0o700);
  assert.equal(statSync(stack.db.tls.key).mode & 0o777, 0o600);

  const configs = demoBackendConfigs(stack);
  const city = new PostgresConnector(
    {
      ...configs.city,
      operations: {
        ...configs.city.operations,
        ticket: { sql: 'SELECT plate, state, violation, issued_on, amount_cents, status FROM tickets WHERE citation = $1' },
        count: { sql: 'SELECT count(*)::int AS n FROM tickets' },
        payColumns: { sql: "SELECT column_name FROM information_schema.columns WHERE table_name = 'payments' ORDER BY ordinal_position" },
        readPayments: { sql: 'SELECT card_last4 FROM payments' },
      },
    },
    silentLogger,
  );
  const https = new HttpsJsonConnector(configs.gateway, silentLogger);
  try {
    const citation = (text: string) => city.run('ticket', [testSecret('account', text)]).then((result) => result.rows);
    assert.deepEqual(await citation('12345678'), [{ plate: '7ABC123', state: 'CA', violation: 'expired meter', issued_on: '2026-10-03', amount_cents: 6500, status: 'unpaid' }]);
    assert.deepEqual(await citation('23456789'), [{ plate: '7ABC123', state: 'CA', violation: 'street cleaning', issued_on: '2026-11-12', amount_cents: 6500, status: 'unpaid' }]);
    assert.deepEqual((await citation('34567890')).map((row) => [row.plate, row.state, row.status]), [['4XYZ789', 'TX', 'paid']]);
    assert.ok(((await city.run('count', [])).rows[0]!.n as number) >= 1003);
    assert.deepEqual((await city.run('payColumns', [])).rows.map((row) => row.column_name), ['confirmation', 'ticket_id', 'amount_cents', 'gateway_authorization', 'card_last4', 'paid_at']);

    const charged = await new HttpsPaymentGateway(https, silentLogger).charge({
      amountCents: 6500,
      card: testSecret('pan', '4111111111111111'),
      expiry: testSecret('expiry', '1299'),
      cvv: testSecret('cvv', '123'),
      zip: testSecret('zip', '94103'),
      idempotencyKey: 'demo-stack-test',
    });
    assert.ok(charged.approved);
    // The plate path as the flow runs it: keypad form (Secret) and state code 01.
    const cell = new RecordingCell();
    const plate = await city.run('unpaidByPlate', { plateKeypad: testSecret('digits', '7222123'), stateCode: '01' }, { cell });
    assert.deepEqual(plate.rows.map((row) => [row.id, secretDigits(row.citation), row.amount_cents]), [[1, '12345678', 6500], [2, '23456789', 6500]]);
    const recorded = await city.run('recordPayment', { ticketId: plate.rows[0]!.id as number, authorization: charged.authCode, last4: charged.last4 });
    assert.equal(recorded.rowCount, 1);
    assert.equal(typeof recorded.rows[0]!.confirmation, 'string'); // bigint stays text
    // A second payment for the same ticket records nothing.
    assert.equal((await city.run('recordPayment', [1, charged.authCode, charged.last4])).rowCount, 0);
    assert.equal((await citation('12345678'))[0]!.status, 'paid');
    // The IVR's role may record payments but not read card data back.
    await assert.rejects(city.run('readPayments', []), (error: unknown) => (error as { detail?: string }).detail === '42501');
  } finally {
    await city.close();
    await https.close();
  }

  child.kill('SIGINT');
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 130);
  for (const pid of processes) assert.equal(running(pid), false, `process ${pid} still running`);
  assert.deepEqual(readdirSync(tmpRoot), [], 'every temporary file removed');
});
