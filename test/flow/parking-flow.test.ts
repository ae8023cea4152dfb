// Every branch of the parking line (issue 7's key contract) in the simulator, against
// fake city-database and payment ports holding issue 7's demo dataset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import parking from '../../apps/parking/flow.ts';
import { simulate, type SimulationOptions, type SimulationResult } from '../../src/flow/simulator.ts';
import { PromptCatalogue } from '../../src/flow/catalogue.ts';
import type { BackendCell, BackendParam, BackendPort, CellPort, ChargeRequest, PaymentPort } from '../../src/flow/ports.ts';
import { STATE_CODES, keypadForm } from '../../apps/parking/states.ts';
import { PROMPT_IDS } from '../../apps/parking/prompts.ts';
import { LANGUAGES, SAY_AS_CLIPS } from '../../src/flow/say-as.ts';
import type { Secret } from '../../src/vault/types.ts';
import type { FlowEvent } from '../../src/flow/call-context.ts';

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
  // Dollars and cents, for the read-back in each language.
  { id: 6, citation: '67890123', plate: '8DEF456', state: 'TX', violation: 'street cleaning', issued_on: '2027-01-21', amount_cents: 4575, status: 'unpaid' },
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
  /** Operations that fail as an unreachable database would. */
  failing: Set<string>;
  /** Show the NV-like second plate under the same state, to exercise the choice. */
  twins: boolean;
}

/** The three operations of apps/parking/backends.ts, over the dataset above. */
function city(): City {
  const state: City = { port: () => ({ query: async () => ({ rows: [] }) }), recorded: [], failing: new Set(), twins: false };
  state.port = (cell) => ({
    async query(backend, operation, params) {
      assert.equal(backend, 'city');
      if (state.failing.has(operation)) throw new Error('ECONNREFUSED');
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

async function call(keys: string, options: { city?: City; payment?: PaymentPort } & Pick<SimulationOptions, 'clipMs'> = {}): Promise<SimulationResult> {
  const result = await simulate(parking, {
    caller: keys,
    backend: (options.city ?? city()).port,
    payment: options.payment ?? gateway(),
    settings: { catalogue },
    ...(options.clipMs ? { clipMs: options.clipMs } : {}),
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

test('hang-up during card entry: abandoned, nothing charged, cell wiped', async () => {
  const pay = gateway();
  const result = await call('1,1,12345678#,1,411111H', { payment: pay });
  assert.equal(result.outcome.status, 'abandoned');
  assert.equal(pay.charges.length, 0);
});

// ----- a system we depend on is unavailable: the prompt, then an offer of an agent ------

const UNAVAILABLE = ['en-US/error.unavailable'];
const OFFER = ['en-US/parking.unavailable_offer'];

/** The plays from "temporarily unavailable" on, one list per play. */
function fromUnavailable(result: SimulationResult): string[][] {
  return result.played.slice(result.played.findIndex((list) => list.join() === UNAVAILABLE.join()));
}

test('city database down: unavailable, then the offer; 0 reaches an agent told why', async () => {
  const c = city();
  c.failing.add('ticketByCitation');
  const result = await call('1,1,12345678#,0', { city: c });
  assert.deepEqual(fromUnavailable(result), [UNAVAILABLE, OFFER, ['en-US/agent.transfer']]);
  assert.deepEqual(result.outcome, { status: 'transferred', fallback: false });
  assert.deepEqual(result.transfers, [
    { target: 'sip:agent@city.example', context: { language: 'en-US', path: 'citation', citationFound: 'no', amountDue: '0', reason: 'city-unavailable' } },
  ]);
  assert.ok(result.text().includes('backend city ticketByCitation: error'));
});

test('city database down: 1 also reaches an agent; no key at the offer still does (never dead air)', async () => {
  for (const keys of ['1,2,7222123#,01,1', '1,2,7222123#,01']) {
    const c = city();
    c.failing.add('unpaidByPlate');
    const result = await call(keys, { city: c });
    const tail = fromUnavailable(result);
    assert.deepEqual(tail[0], UNAVAILABLE);
    assert.deepEqual(tail[1], OFFER);
    assert.deepEqual(tail.at(-1), ['en-US/agent.transfer']);
    assert.equal(result.transfers[0]?.context.reason, 'city-unavailable', keys);
    assert.equal(result.transfers[0]?.context.path, 'plate');
  }
});

test('city database down: 2 ends the call with a goodbye, no transfer', async () => {
  const c = city();
  c.failing.add('ticketByCitation');
  const result = await call('1,1,12345678#,2', { city: c });
  assert.deepEqual(fromUnavailable(result), [UNAVAILABLE, OFFER, ['en-US/goodbye']]);
  assert.deepEqual(result.outcome, { status: 'completed', fallback: false });
  assert.deepEqual(result.transfers, []);
  assert.equal(result.hangups, 1);
});

test('gateway unavailable: the offer, and the agent hears the payment did not go through', async () => {
  const pay = gateway('unavailable');
  const result = await call(`1,1,12345678#,1,${CARD},1,0`, { payment: pay });
  assert.equal(pay.charges.length, 1, 'one attempt, not retried');
  assert.deepEqual(fromUnavailable(result), [UNAVAILABLE, OFFER, ['en-US/agent.transfer']]);
  assert.equal(result.transfers[0]?.context.reason, 'payment-unavailable');
  const hungUp = await call(`1,1,12345678#,1,${CARD},1,2`, { payment: gateway('unavailable') });
  assert.deepEqual(fromUnavailable(hungUp).at(-1), ['en-US/goodbye']);
  assert.deepEqual(hungUp.transfers, []);
});

test('charged but the city database cannot record it: the offer, and the agent is told', async () => {
  const c = city();
  c.failing.add('recordPayment');
  const result = await call(`1,1,12345678#,1,${CARD},1,0`, { city: c });
  assert.ok(!flat(result).includes('en-US/parking.payment_approved'), 'no confirmation number without a record');
  assert.deepEqual(fromUnavailable(result), [UNAVAILABLE, OFFER, ['en-US/agent.transfer']]);
  assert.deepEqual(result.transfers[0]?.context, { language: 'en-US', path: 'citation', citationFound: 'yes', amountDue: '6500', reason: 'payment-not-recorded' });
});

// ----- every way an entry can run out: each ends at an agent (issue 7's contract) -------

/** The call ended at the agent with this context, after `attempts` plays of `prompt`. */
function assertAgentAfter(result: SimulationResult, prompt: string, attempts: number, context: Record<string, string>): void {
  assert.equal(flat(result).filter((clip) => clip === `en-US/${prompt}`).length, attempts, `${prompt} played ${attempts} times:\n${result.text()}`);
  assert.deepEqual(result.played.at(-1), ['en-US/agent.transfer']);
  assert.deepEqual(result.transfers, [{ target: 'sip:agent@city.example', context: { language: 'en-US', ...context } }]);
  assert.equal(result.outcome.status, 'transferred');
}

const MENU = { path: 'menu', citationFound: 'no', amountDue: '0' };
const CITATION_FOUND = { path: 'citation', citationFound: 'yes', amountDue: '6500' };

test('no input at the main menu: asked three times, then an agent', async () => {
  const result = await call('1');
  assertAgentAfter(result, 'parking.main_menu', 3, MENU);
  assert.equal(flat(result).filter((clip) => clip === 'en-US/gather.timeout').length, 2);
});

test('citation entry: silence or too few digits on every attempt → agent, nothing looked up', async () => {
  for (const keys of ['1,1', '1,1,1234#,1234#,1234#']) {
    const c = city();
    const result = await call(keys, { city: c });
    assertAgentAfter(result, 'parking.citation_enter', 3, { path: 'citation', citationFound: 'no', amountDue: '0' });
    assert.ok(!result.text().includes('backend city'), 'no lookup was made');
  }
});

test('plate entry: silence on every attempt → agent', async () => {
  assertAgentAfter(await call('1,2'), 'parking.plate_enter', 3, { ...MENU, path: 'plate' });
});

test('state code invalid three times (00 is a code here, not the agent key) → agent', async () => {
  const result = await call('1,2,7222123#,99,00,52');
  assertAgentAfter(result, 'parking.state_enter', 3, { ...MENU, path: 'plate' });
  assert.equal(flat(result).filter((clip) => clip === 'en-US/gather.invalid').length, 2);
  assert.ok(!result.text().includes('backend city'), 'no lookup was made');
});

test('several plates and no choice made (silence, or a key that is no option) → agent', async () => {
  for (const keys of ['1,2,7222123#,01', '1,2,7222123#,01,5,5,5']) {
    const c = city();
    c.twins = true;
    const result = await call(keys, { city: c });
    assert.equal(result.played.filter((list) => list.includes('en-US/parking.plate_several')).length, 3, keys);
    assert.equal(result.transfers[0]?.context.path, 'plate');
    assert.equal(result.outcome.status, 'transferred');
  }
});

test('no input at the pay menu → agent with the amount due', async () => {
  assertAgentAfter(await call('1,1,12345678#'), 'parking.pay_menu', 3, CITATION_FOUND);
});

test('card, expiry, security code and ZIP: each failing every attempt ends at an agent, nothing charged', async () => {
  const stages = [
    { prompt: 'parking.card_enter', before: '', bad: '4111111111111112#' },
    { prompt: 'parking.expiry_enter', before: '4111111111111111#', bad: '0120' },
    { prompt: 'parking.cvv_enter', before: '4111111111111111#,1230', bad: '12#' },
    { prompt: 'parking.zip_enter', before: '4111111111111111#,1230,123#', bad: '941#' },
  ];
  for (const stage of stages) {
    const prefix = `1,1,12345678#,1${stage.before ? `,${stage.before}` : ''}`;
    for (const keys of [prefix, `${prefix},${stage.bad},${stage.bad},${stage.bad}`]) {
      const pay = gateway();
      const result = await call(keys, { payment: pay });
      assertAgentAfter(result, stage.prompt, 3, CITATION_FOUND);
      assert.equal(pay.charges.length, 0, `${stage.prompt}: nothing charged`);
    }
  }
});

test('no input at the confirmation → agent, nothing charged', async () => {
  const pay = gateway();
  const result = await call(`1,1,12345678#,1,${CARD}`, { payment: pay });
  assertAgentAfter(result, 'parking.confirm_keys', 3, CITATION_FOUND);
  assert.equal(pay.charges.length, 0);
});

test('no input after a decline → agent, told it was declined', async () => {
  const result = await call('1,1,12345678#,1,4000000000000002#,1230,123#,94105,1');
  assertAgentAfter(result, 'parking.payment_declined', 3, { ...CITATION_FOUND, reason: 'declined' });
});

// ----- read-backs ------------------------------------------------------------------------

test('a violation without a prompt of its own is read as "parking violation"', async () => {
  const result = await call('1,1,45678901#,0');
  const readBack = result.played.find((list) => list[0] === 'en-US/parking.ticket_violation');
  assert.deepEqual(readBack?.slice(0, 2), ['en-US/parking.ticket_violation', 'en-US/violation.other']);
  assert.deepEqual(readBack?.slice(-3), ['en-US/parking.ticket_amount', 'en-US/num.90', 'en-US/currency.dollars']);
});

test('in Spanish the ticket and the payment are read with Spanish dates and amounts', async () => {
  const c = city();
  const result = await call(`2,1,12345678#,1,${CARD},1,`, { city: c });
  const es = (ids: string[]): string[] => ids.map((id) => `es-US/${id}`);
  // "Infracción: parquímetro vencido, emitida el 3 de octubre de 2026. Monto a pagar: 65 dólares."
  assert.deepEqual(
    result.played.find((list) => list[0] === 'es-US/parking.ticket_violation'),
    es(['parking.ticket_violation', 'violation.expired_meter', 'parking.ticket_issued', 'num.3', 'word.of', 'month.10', 'word.of', 'num.2', 'thousand', 'num.26', 'parking.ticket_amount', 'num.65', 'currency.dollars']),
  );
  // "Para pagar 65 dólares con la tarjeta que termina en 1 1 1 1, oprima 1…"
  assert.deepEqual(
    result.played.find((list) => list[0] === 'es-US/parking.confirm_pay'),
    es(['parking.confirm_pay', 'num.65', 'currency.dollars', 'parking.confirm_card', 'num.1', 'num.1', 'num.1', 'num.1', 'parking.confirm_keys']),
  );
  assert.deepEqual(
    result.played.find((list) => list[0] === 'es-US/parking.payment_approved'),
    es(['parking.payment_approved', 'num.9', 'num.0', 'num.2', 'num.1', 'num.0', 'parking.confirmation_repeat']),
  );
  assert.deepEqual(c.recorded, [{ ticketId: 1, authorization: 'AUTH42', last4: '1111' }]);
  assert.equal(flat(result).at(-1), 'es-US/goodbye');
  assert.ok(flat(result).slice(2).every((clip) => clip.startsWith('es-US/')), 'nothing in English after the choice');
});

test('in Spanish a plate total and an amount with cents: ciento treinta dólares; cuarenta y cinco dólares y setenta y cinco centavos', async () => {
  const plate = await call('2,2,7222123#,01,0');
  assert.ok(
    plate.played.some((list) => list.join() === ['es-US/parking.unpaid_count', 'es-US/num.2', 'es-US/parking.total_due', 'es-US/hundreds.1', 'es-US/num.30', 'es-US/currency.dollars'].join()),
    plate.text(),
  );
  const cents = await call('2,1,67890123#,0');
  assert.deepEqual(
    cents.played.find((list) => list[0] === 'es-US/parking.ticket_violation')?.slice(3),
    ['es-US/num.21', 'es-US/word.of', 'es-US/month.1', 'es-US/word.of', 'es-US/num.2', 'es-US/thousand', 'es-US/num.27', 'es-US/parking.ticket_amount', 'es-US/num.45', 'es-US/currency.dollars', 'es-US/currency.and', 'es-US/num.75', 'es-US/currency.cents'],
  );
});

test('the language menu waits 5 s after its prompt ends, then goes on in English', async () => {
  const clipMs = 700;
  const silent = await call('', { clipMs: () => clipMs });
  const menu = silent.transcript.find((line) => line.kind === 'play' && line.text === 'en-US/parking.language es-US/parking.language');
  const english = silent.transcript.find((line) => line.text === 'language en-US');
  assert.ok(menu && english, silent.text());
  // Two clips of the prompt, then exactly the 5 s of silence the contract allows.
  assert.equal(english.at - (menu.at + 2 * clipMs), 5000);
  assert.ok(silent.transcript.some((line) => line.kind === 'play' && line.text === 'en-US/parking.main_menu' && line.at === english.at));
  // A 2 just inside the 5 s still chooses Spanish.
  const late = await call('~4799 2,0', { clipMs: () => clipMs });
  assert.ok(late.text().includes('language es-US'), late.text());
});

// ----- prompts ---------------------------------------------------------------------------

test('every prompt id the parking line can use exists in both languages with audio (static list)', () => {
  for (const lang of LANGUAGES) {
    for (const id of PROMPT_IDS) assert.ok(catalogue.audioPath(`${lang}/${id}`), `${lang}/${id} has no audio`);
  }
  // The list is complete: every prompt-id literal in the flow's source is on it …
  const source = readFileSync(new URL('../../apps/parking/flow.ts', import.meta.url), 'utf8');
  const literals = [...source.matchAll(/'([a-z]+(?:\.[a-z_]+)+|goodbye)'/g)].map((match) => match[1]!);
  assert.ok(literals.length > 25, 'the scan finds the flow\'s prompt ids');
  for (const id of literals) assert.ok(PROMPT_IDS.includes(id), `${id} is used by apps/parking/flow.ts but missing from PROMPT_IDS`);
  // … and every clip the simulated calls above played is a listed prompt or a say-as clip.
  assert.ok(played.size > 50, `only ${played.size} clips were exercised`);
  for (const clip of played) {
    const id = clip.slice(clip.indexOf('/') + 1);
    assert.ok(PROMPT_IDS.includes(id) || SAY_AS_CLIPS.includes(id), `${clip} was played but is neither listed nor a say-as clip`);
  }
});

test('the documented state codes are states.ts: docs/parking.md lists every code, in order', () => {
  const doc = readFileSync(new URL('../../docs/parking.md', import.meta.url), 'utf8');
  const table = doc.slice(doc.indexOf('### State codes'));
  const rows = [...table.matchAll(/^\| (\d\d) \| ([A-Z]{2}) \| ([^|]+?) \|$/gm)].map((m) => [Number(m[1]), m[2], m[3]]);
  assert.deepEqual(rows, STATE_CODES.map((state) => [state.code, state.abbr, state.name]));
});

/** Step ids in the order visited, each run of events from one step counted once (as a call record lists them). */
function visited(events: readonly FlowEvent[]): string[] {
  const ids: string[] = [];
  for (const event of events) if ('id' in event && ids.at(-1) !== event.id) ids.push(event.id);
  return ids;
}

test('every step has an id, so a call record names the steps visited', async () => {
  const paid = await call(`1,1,12345678#,1,${CARD},1,1,`);
  assert.deepEqual(visited(paid.events), [
    'greeting', 'language', 'main-menu', 'citation', 'citation-lookup', 'ticket', 'pay-menu',
    'card-number', 'expiry', 'cvv', 'zip', 'confirm', 'charge', 'record-payment', 'confirmation-number', 'goodbye', 'hangup',
  ]);
  const c = city();
  c.twins = true;
  const plate = await call('1,2,7222123#,01,1,2,9,0', { city: c });
  assert.deepEqual(visited(plate.events), ['greeting', 'language', 'main-menu', 'plate', 'state', 'plate-lookup', 'pick-plate', 'plate-total', 'pay-menu', 'ticket-list', 'pay-menu', 'main-menu', 'agent']);
  const down = city();
  down.failing.add('ticketByCitation');
  const outage = await call('1,1,12345678#,2', { city: down });
  assert.deepEqual(visited(outage.events).slice(-5), ['citation-lookup', 'unavailable', 'unavailable-offer', 'goodbye', 'hangup']);
  const declined = await call('1,1,12345678#,1,4000000000000002#,1230,123#,94105,1,0');
  assert.deepEqual(visited(declined.events).slice(-4), ['confirm', 'charge', 'declined', 'agent']);
});
