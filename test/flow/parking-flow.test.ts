// Every branch of the parking line (issue 7's key contract) in the simulator, against
// fake city-database and payment ports holding issue 7's demo dataset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import parking from '../../apps/parking/flow.ts';
import { simulate, type SimulationResult } from '../../src/flow/simulator.ts';
import { PromptCatalogue } from '../../src/flow/catalogue.ts';
import type { BackendCell, BackendPort, CellPort, ChargeRequest, PaymentPort } from '../../src/flow/ports.ts';
import type { Secret } from '../../src/vault/types.ts';

const catalogue = new PromptCatalogue();
const played = new Set<string>();

interface Row {
  citation: string;
  plate: string;
  keypad: string;
  state: string;
  violation: string;
  issued: string;
  amount_cents: number;
  status: string;
}

const DATASET: Row[] = [
  { citation: '12345678', plate: '7ABC123', keypad: '7222123', state: 'CA', violation: 'expired meter', issued: '2026-10-03', amount_cents: 6500, status: 'unpaid' },
  { citation: '23456789', plate: '7ABC123', keypad: '7222123', state: 'CA', violation: 'street cleaning', issued: '2026-11-12', amount_cents: 6500, status: 'unpaid' },
  { citation: '34567890', plate: '4XYZ789', keypad: '4999789', state: 'TX', violation: 'expired meter', issued: '2026-09-01', amount_cents: 4500, status: 'paid' },
  // Same keypad form as 7ABC123: the caller must choose.
  { citation: '45678901', plate: '7BAC123', keypad: '7222123', state: 'NV', violation: 'red zone', issued: '2026-08-15', amount_cents: 9000, status: 'unpaid' },
];

/** What a connector would see: the secret's bytes, written into its own buffer. */
function reveal(secret: Secret): string {
  const buffer = Buffer.alloc(secret.length());
  secret.writeTo(buffer, 0);
  return buffer.toString('ascii');
}

interface City {
  port: (cell: CellPort) => BackendPort;
  recorded: Array<{ citation: string; amount_cents: number; auth_code: string; card_last4: string; keys: string[] }>;
  down: boolean;
}

function city(): City {
  const recorded: City['recorded'] = [];
  const state: City = { port: () => port, recorded, down: false };
  let port: BackendPort;
  state.port = (cell) => {
    const secretColumn = (citation: string): Secret => cell.importSecret('account', Buffer.from(citation, 'ascii'));
    const publicColumns = (row: Row): Record<string, BackendCell> => ({
      violation: row.violation,
      issued: row.issued,
      amount_cents: row.amount_cents,
      status: row.status,
    });
    port = {
      async query(backend, operation, params) {
        assert.equal(backend, 'city');
        if (state.down) throw new Error('ECONNREFUSED');
        if (operation === 'citation.lookup') {
          const citation = reveal(params.citation as Secret);
          return { rows: DATASET.filter((row) => row.citation === citation).map(publicColumns) };
        }
        if (operation === 'plate.lookup') {
          const rows = DATASET.filter((row) => row.keypad === params.plateKeypad && (params.state === 'other' || row.state === params.state));
          return { rows: rows.map((row) => ({ ...publicColumns(row), plate: row.plate, citation: secretColumn(row.citation) })) };
        }
        if (operation === 'payment.record') {
          recorded.push({
            citation: reveal(params.citation as Secret),
            amount_cents: params.amount_cents as number,
            auth_code: params.auth_code as string,
            card_last4: params.card_last4 as string,
            keys: Object.keys(params).sort(),
          });
          return { rows: [{ confirmation: '90210' }] };
        }
        throw new Error(`unexpected operation ${operation}`);
      },
    };
    return port;
  };
  return state;
}

function gateway(mode: 'normal' | 'unavailable' = 'normal'): PaymentPort & { charges: Array<Omit<ChargeRequest, 'card' | 'expiry' | 'cvv' | 'zip'> & { card: string }> } {
  const charges: Array<Omit<ChargeRequest, 'card' | 'expiry' | 'cvv' | 'zip'> & { card: string }> = [];
  return {
    charges,
    async charge(request) {
      const card = reveal(request.card);
      charges.push({ amountCents: request.amountCents, idempotencyKey: request.idempotencyKey, card });
      if (mode === 'unavailable') throw new Error('gateway down');
      if (card === '4111111111111111') return { approved: true, authCode: 'AUTH42', last4: card.slice(-4) };
      return { approved: false, reason: 'declined' };
    },
  };
}

async function call(keys: string, options: { city?: City; payment?: PaymentPort } = {}): Promise<SimulationResult> {
  const result = await simulate(parking, {
    caller: keys,
    backend: (options.city ?? city()).port,
    payment: options.payment ?? gateway(),
    settings: { catalogue },
  });
  for (const list of result.played) for (const clip of list) played.add(clip);
  assert.equal(result.wipe.verified, true, 'the cell is wiped after every call');
  assert.equal(result.outcome.fallback, false, `no fallback expected:\n${result.text()}`);
  return result;
}

const flat = (result: SimulationResult): string[] => result.played.flat();
const CARD = '4111111111111111#,1230,123#,94105';

test('no key at the language menu means English; citation found is read back, paid, recorded and confirmed', async () => {
  const c = city();
  const pay = gateway();
  const result = await call(`,1,12345678#,1,${CARD},1,1,`, { city: c, payment: pay });
  assert.equal(result.outcome.status, 'completed');
  const clips = flat(result);
  const readBack = ['en-US/parking.ticket_violation', 'en-US/violation.expired_meter', 'en-US/parking.ticket_issued', 'en-US/month.10', 'en-US/ordinal.3', 'en-US/num.20', 'en-US/num.26', 'en-US/parking.ticket_amount', 'en-US/num.65', 'en-US/currency.dollars'];
  assert.deepEqual(result.played.find((list) => list[0] === 'en-US/parking.ticket_violation'), readBack);
  assert.deepEqual(result.played.find((list) => list[0] === 'en-US/parking.confirm_pay'), [
    'en-US/parking.confirm_pay', 'en-US/num.65', 'en-US/currency.dollars', 'en-US/parking.confirm_card',
    'en-US/num.1', 'en-US/num.1', 'en-US/num.1', 'en-US/num.1', 'en-US/parking.confirm_keys',
  ]);
  assert.deepEqual(pay.charges.map((charge) => [charge.amountCents, charge.card]), [[6500, '4111111111111111']]);
  assert.deepEqual(c.recorded, [{ citation: '12345678', amount_cents: 6500, auth_code: 'AUTH42', card_last4: '1111', keys: ['amount_cents', 'auth_code', 'card_last4', 'citation'] }]);
  // Confirmation read digit by digit, repeated once on 1.
  const confirmation = ['en-US/num.9', 'en-US/num.0', 'en-US/num.2', 'en-US/num.1', 'en-US/num.0'];
  assert.deepEqual(result.played.find((list) => list[0] === 'en-US/parking.payment_approved')?.slice(1, 6), confirmation);
  assert.equal(result.played.filter((list) => list.join() === [...confirmation, 'en-US/parking.confirmation_repeat'].join()).length, 1);
  assert.equal(clips.at(-1), 'en-US/goodbye');
  assert.ok(!result.text().includes('4111111111111111') && !result.text().includes('12345678'));
});

test('2 at the language menu switches to Spanish', async () => {
  const result = await call('2,0');
  assert.ok(flat(result).includes('es-US/parking.main_menu'));
  assert.deepEqual(result.transfers, [{ target: 'sip:agent@city.example', context: { language: 'es-US', path: 'menu', citationFound: 'no', amountDue: '0' } }]);
});

test('0 from the main menu reaches an agent; during the greeting it does not', async () => {
  const result = await call('>0,1,0');
  // The early 0 was ignored (not yet a flow key); the language menu took 1, the main menu 0.
  assert.equal(result.outcome.status, 'transferred');
  assert.ok(flat(result).includes('en-US/parking.main_menu'));
});

test('declined card: 1 tries another card, then 0 goes to an agent with only non-sensitive context', async () => {
  const pay = gateway();
  const declined = '4000000000000002#,1230,123#,94105';
  const result = await call(`1,1,12345678#,1,${declined},1,1,${declined},1,0`, { payment: pay });
  assert.equal(pay.charges.length, 2);
  assert.notEqual(pay.charges[0]!.idempotencyKey, pay.charges[1]!.idempotencyKey);
  assert.deepEqual(result.transfers, [
    { target: 'sip:agent@city.example', context: { language: 'en-US', path: 'citation', citationFound: 'yes', amountDue: '6500', reason: 'declined' } },
  ]);
});

test('three unknown citations end at an agent', async () => {
  const result = await call('1,1,11111111#,22222222#,33333333#');
  assert.equal(result.played.filter((list) => list.includes('en-US/parking.citation_not_found')).length, 3);
  assert.deepEqual(result.transfers[0]?.context, { language: 'en-US', path: 'citation', citationFound: 'no', amountDue: '0' });
});

test('an already paid citation is announced and the caller is back at the main menu', async () => {
  const result = await call('1,1,34567890#,0');
  const clips = flat(result);
  assert.ok(clips.includes('en-US/parking.citation_paid'));
  assert.equal(clips.filter((clip) => clip === 'en-US/parking.main_menu').length, 2);
});

test('plate path: keypad letters and a state find both tickets; 2 reads each, 9 returns to the menu', async () => {
  const result = await call('1,2,7222123#,1#,2,9,0');
  assert.ok(!flat(result).includes('en-US/parking.plate_several'), 'CA filters out the NV plate');
  assert.ok(
    result.played.some((list) => list.join() === ['en-US/parking.unpaid_count', 'en-US/num.2', 'en-US/parking.total_due', 'en-US/hundreds.1', 'en-US/num.30', 'en-US/currency.dollars'].join()),
  );
  const each = result.played.filter((list) => list[0] === 'en-US/parking.ticket');
  assert.deepEqual(each.map((list) => list.slice(0, 4)), [
    ['en-US/parking.ticket', 'en-US/num.1', 'en-US/parking.ticket_violation', 'en-US/violation.expired_meter'],
    ['en-US/parking.ticket', 'en-US/num.2', 'en-US/parking.ticket_violation', 'en-US/violation.street_cleaning'],
  ]);
  // 9 went back to the main menu, where the agent context starts over.
  assert.equal(flat(result).filter((clip) => clip === 'en-US/parking.main_menu').length, 2);
  assert.deepEqual(result.transfers[0]?.context, { language: 'en-US', path: 'menu', citationFound: 'no', amountDue: '0' });
  const fromPayMenu = await call('1,2,7222123#,1#,0');
  assert.deepEqual(fromPayMenu.transfers[0]?.context, { language: 'en-US', path: 'plate', citationFound: 'no', amountDue: '13000' });
});

test('plate path: several plates share a keypad form and the caller picks one, then pays it', async () => {
  const c = city();
  const result = await call(`1,2,7222123#,11#,2,1,${CARD},1,`, { city: c });
  assert.ok(
    result.played.some((list) => list.join().startsWith(['en-US/parking.plate_several', 'en-US/parking.plate_for', 'en-US/num.7', 'en-US/letter.A'].join())),
  );
  assert.deepEqual(c.recorded.map((r) => [r.citation, r.amount_cents]), [['45678901', 9000]]);
  assert.ok(flat(result).includes('en-US/violation.other') === false, 'pay total without hearing each');
});

test('plate not found three times ends at an agent', async () => {
  const result = await call('1,2,123#,1#,456#,1#,789#,1#');
  assert.equal(result.played.filter((list) => list.includes('en-US/parking.plate_not_found')).length, 3);
  assert.equal(result.outcome.status, 'transferred');
});

test('plate with only paid tickets: nothing to pay, back to the main menu', async () => {
  const result = await call('1,2,4999789#,2#,0');
  assert.ok(flat(result).includes('en-US/parking.no_unpaid'));
});

test('a Luhn-invalid card number is refused and asked again', async () => {
  const result = await call(`1,1,12345678#,1,4111111111111112#,${CARD},1,`);
  assert.ok(result.played.some((list) => list.join() === ['en-US/gather.invalid', 'en-US/parking.card_enter'].join()));
  assert.equal(result.outcome.status, 'completed');
});

test('cancel at the confirmation returns to the main menu without charging', async () => {
  const pay = gateway();
  const result = await call(`1,1,12345678#,1,${CARD},2,0`, { payment: pay });
  assert.equal(pay.charges.length, 0);
  assert.ok(flat(result).includes('en-US/parking.payment_cancelled'));
});

test('gateway unavailable: the caller hears it and is sent to an agent', async () => {
  const result = await call(`1,1,12345678#,1,${CARD},1`, { payment: gateway('unavailable') });
  assert.ok(flat(result).includes('en-US/error.unavailable'));
  assert.equal(result.transfers[0]?.context.reason, 'payment-unavailable');
});

test('city database down: unavailable prompt and agent transfer (fallback)', async () => {
  const c = city();
  c.down = true;
  const result = await simulate(parking, { caller: '1,1,12345678#', backend: c.port, payment: gateway(), settings: { catalogue } });
  assert.deepEqual(result.outcome, { status: 'transferred', fallback: true, error: 'FLOW_BACKEND_UNAVAILABLE' });
  assert.ok(result.played.flat().includes('en-US/error.unavailable'));
  assert.equal(result.wipe.verified, true);
});

test('hang-up during card entry: abandoned, nothing charged, cell wiped', async () => {
  const pay = gateway();
  const result = await call('1,1,12345678#,1,411111H', { payment: pay });
  assert.equal(result.outcome.status, 'abandoned');
  assert.equal(pay.charges.length, 0);
});

test('every prompt the parking line played exists in both languages with audio', () => {
  assert.ok(played.size > 50, `only ${played.size} clips were exercised`);
  for (const clip of played) {
    const id = clip.slice(clip.indexOf('/') + 1);
    for (const lang of ['en-US', 'es-US']) assert.ok(catalogue.audioPath(`${lang}/${id}`), `${lang}/${id} has no audio`);
  }
});
