// Every branch of the parking line (issue 7's key contract) in the simulator, against
// fake city-database and payment ports holding issue 7's demo dataset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import parking from '../../apps/parking/flow.ts';
import { simulate, type SimulationResult } from '../../src/flow/simulator.ts';
import { PromptCatalogue } from '../../src/flow/catalogue.ts';
import type { BackendCell, BackendParam, BackendPort, CellPort, ChargeRequest, PaymentPort } from '../../src/flow/ports.ts';
import { STATE_CODES, keypadForm } from '../../apps/parking/states.ts';
import type { Secret } from '../../src/vault/types.ts';

const catalogue = new PromptCatalogue();
const played = new Set<string>();

interface Row {
  id: number;
  citation: string;
  plate: string;
  state: string;
  violation: string;
  issued_on: string;
  amount_cents: number;
  status: string;
}

const DATASET: Row[] = [
  { id: 1, citation: '12345678', plate: '7ABC123', state: 'CA', violation: 'expired meter', issued_on: '2026-10-03', amount_cents: 6500, status: 'unpaid' },
  { id: 2, citation: '23456789', plate: '7ABC123', state: 'CA', violation: 'street cleaning', issued_on: '2026-11-12', amount_cents: 6500, status: 'unpaid' },
  { id: 3, citation: '34567890', plate: '4XYZ789', state: 'TX', violation: 'expired meter', issued_on: '2026-09-01', amount_cents: 4500, status: 'paid' },
  // Same keypad form (7222123) and state as 7ABC123: the caller must choose.
  { id: 4, citation: '45678901', plate: '7BAC123', state: 'CA', violation: 'red zone', issued_on: '2026-08-15', amount_cents: 9000, status: 'unpaid' },
  { id: 5, citation: '56789012', plate: '7CAB123', state: 'NV', violation: 'red zone', issued_on: '2026-08-16', amount_cents: 9000, status: 'unpaid' },
];

/** What a connector would see: the secret's bytes, written into its own buffer. */
function reveal(secret: Secret): string {
  const buffer = Buffer.alloc(secret.length());
  secret.writeTo(buffer, 0);
  return buffer.toString('ascii');
}

interface City {
  port: (cell: CellPort) => BackendPort;
  recorded: Array<Record<string, BackendParam>>;
  down: boolean;
  /** Show the NV-like second plate under the same state, to exercise the choice. */
  twins: boolean;
}

/** The three operations of apps/parking/backends.ts, over the dataset above. */
function city(): City {
  const state: City = { port: () => ({ query: async () => ({ rows: [] }) }), recorded: [], down: false, twins: false };
  state.port = (cell) => ({
    async query(backend, operation, params) {
      assert.equal(backend, 'city');
      if (state.down) throw new Error('ECONNREFUSED');
      if (operation === 'ticketByCitation') {
        const citation = reveal(params.citation as Secret);
        const rows = DATASET.filter((row) => row.citation === citation);
        return { rows: rows.map(({ id, violation, issued_on, amount_cents, status }) => ({ id, violation, issued_on, amount_cents, status })) };
      }
      if (operation === 'unpaidByPlate') {
        const keypad = reveal(params.plateKeypad as Secret);
        const stateAbbr = STATE_CODES.find((code) => code.code === Number(params.stateCode))?.abbr;
        const rows = DATASET.filter(
          (row) => keypadForm(row.plate) === keypad && row.state === stateAbbr && row.status === 'unpaid' && (state.twins || row.id !== 4),
        );
        return {
          rows: rows.map((row): Record<string, BackendCell> => ({
            id: row.id,
            citation: cell.importSecret('account', Buffer.from(row.citation, 'ascii')),
            plate: row.plate,
            violation: row.violation,
            issued_on: row.issued_on,
            amount_cents: row.amount_cents,
          })),
        };
      }
      if (operation === 'recordPayment') {
        state.recorded.push(params);
        return { rows: [{ confirmation: '90210' }] };
      }
      throw new Error(`unexpected operation ${operation}`);
    },
  });
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
  assert.deepEqual(c.recorded, [{ ticketId: 1, authorization: 'AUTH42', last4: '1111' }]);
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
  const result = await call('1,2,7222123#,01,2,9,0');
  assert.ok(!flat(result).includes('en-US/parking.plate_several'));
  assert.deepEqual(result.keys.slice(2, 10), ['•', '•', '•', '•', '•', '•', '•', '•'], 'the plate is keyed securely');
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
  const fromPayMenu = await call('1,2,7222123#,01,0');
  assert.deepEqual(fromPayMenu.transfers[0]?.context, { language: 'en-US', path: 'plate', citationFound: 'no', amountDue: '13000' });
});

test('plate path: several plates share a keypad form and the caller picks one, then pays it', async () => {
  const c = city();
  c.twins = true;
  const result = await call(`1,2,7222123#,01,2,1,${CARD},1,`, { city: c });
  assert.ok(
    result.played.some((list) => list.join().startsWith(['en-US/parking.plate_several', 'en-US/parking.plate_for', 'en-US/num.7', 'en-US/letter.A'].join())),
  );
  assert.deepEqual(c.recorded, [{ ticketId: 4, authorization: 'AUTH42', last4: '1111' }]);
  assert.ok(result.played.some((list) => list.join().includes(['en-US/parking.confirm_pay', 'en-US/num.90', 'en-US/currency.dollars'].join())));
});

test('plate not found three times ends at an agent', async () => {
  const result = await call('1,2,123#,01,456#,01,789#,02');
  assert.equal(result.played.filter((list) => list.includes('en-US/parking.plate_not_found')).length, 3);
  assert.equal(result.outcome.status, 'transferred');
});

test('plate with only paid tickets is not found; a state code outside the list is invalid; 0 there is a digit', async () => {
  const result = await call('1,2,4999789#,99,02,0');
  assert.ok(result.played.some((list) => list.join() === ['en-US/gather.invalid', 'en-US/parking.state_enter'].join()));
  assert.ok(flat(result).includes('en-US/parking.plate_not_found'));
  // The final 0 went into the secure plate entry (a digit there), not to an agent at once.
  assert.equal(result.keys.at(-1), '•');
  assert.ok(result.played.some((list) => list.join() === ['en-US/gather.invalid', 'en-US/parking.plate_enter'].join()));
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
