// The city parking-ticket line (issue 7). The keys below are a contract that the docs and
// the tests rely on:
//   1. greeting; "For English press 1, para español oprima 2" (no key in 5 s → English)
//   2. main menu: 1 citation, 2 licence plate, 0 agent (0 works from every step after this
//      one, except where 0 is a digit: while a number is keyed securely and in the
//      two-digit state code)
//   3. citation: 8 digits then #; found → violation, date issued and amount due are read
//      back; unknown → "not found" and retry; the third failure → agent
//   4. plate: keypad form (7ABC123 → 7222123) then #, then the two-digit state code of
//      apps/parking/states.ts (01 California, 02 Texas, then alphabetical); several plates
//      → the caller picks one; the unpaid tickets and their total are read back
//   5. pay menu: 1 pay the total, 2 hear each ticket, 9 main menu; card then # (Luhn),
//      expiry MMYY, security code (3 then #, or 4), billing ZIP (5); "to pay $X with the card
//      ending NNNN press 1, to cancel press 2"; approved → recorded in the city database,
//      confirmation number digit by digit, 1 = repeat; declined → 1 another card, 0 agent
//   6. agent: blind transfer with language, path, citationFound and amountDue — never card
//      data, never a citation number.
//   City database or gateway down, slow or refusing us: "temporarily unavailable", then an
//   offer — 0 (or 1) agent, 2 end the call; no key → agent. Nothing is queued or retried.
//   The whole contract, for callers and operators: docs/parking.md.
//
// City-database operations (apps/parking/backends.ts; the connector returns sensitive
// columns as Secrets and binds Secret parameters in binary):
//   ticketByCitation { citation: Secret }                 → [{ id, violation, issued_on, amount_cents, status }]
//   unpaidByPlate    { plateKeypad: Secret, stateCode }   → [{ id, citation: Secret, plate, violation, issued_on, amount_cents }]
//   recordPayment    { ticketId, authorization, last4 }   → [{ confirmation }]
import { defineFlow } from '../../src/flow/define-flow.ts';
import type { Call, SayPart } from '../../src/flow/call-context.ts';
import type { BackendCell, BackendParam, BackendResult } from '../../src/flow/ports.ts';
import { BackendUnavailableError } from '../../src/flow/errors.ts';
import type { Secret } from '../../src/vault/types.ts';
import { STATE_CODES } from './states.ts';
import { OTHER_VIOLATION_PROMPT, VIOLATION_PROMPTS } from './prompts.ts';

/** '01' … '51': the codes a caller may key for the state. */
const STATE_KEYS = new Set(STATE_CODES.map((state) => String(state.code).padStart(2, '0')));

const CITY = 'city';
const MAX_LOOKUP_FAILURES = 3;

interface Ticket {
  id: number;
  violation: string;
  issued: string;
  amountCents: number;
  status: string;
  plate: string;
}

type Next = 'menu' | 'done';

function text(cell: BackendCell | undefined): string {
  return typeof cell === 'string' ? cell : typeof cell === 'number' ? String(cell) : '';
}

function toTicket(row: Record<string, BackendCell>): Ticket | null {
  const id = Number(row.id);
  const amountCents = Number(row.amount_cents);
  if (!Number.isInteger(id) || !Number.isInteger(amountCents)) return null;
  return {
    id,
    violation: text(row.violation),
    issued: text(row.issued_on),
    amountCents,
    // unpaidByPlate returns unpaid tickets only, without a status column.
    status: text(row.status) || 'unpaid',
    plate: text(row.plate),
  };
}

function ticketParts(ticket: Ticket): SayPart[] {
  return [
    { prompt: 'parking.ticket_violation' },
    { prompt: VIOLATION_PROMPTS[ticket.violation.toLowerCase()] ?? OTHER_VIOLATION_PROMPT },
    { prompt: 'parking.ticket_issued' },
    { date: ticket.issued },
    { prompt: 'parking.ticket_amount' },
    { currency: ticket.amountCents },
  ];
}

const total = (tickets: readonly Ticket[]): number => tickets.reduce((sum, ticket) => sum + ticket.amountCents, 0);

/**
 * A system we depend on is down, slow or refuses us (issue 7): say so and offer an agent,
 * or a polite end — never dead air, and nothing is kept to retry later. `reason` goes to the
 * agent in the transfer context.
 */
async function unavailable(call: Call, reason: string): Promise<never> {
  await call.say('error.unavailable', { id: 'unavailable' });
  // 0 is the agent key everywhere else; 1 is taken too, since callers press it by habit.
  const choice = await call.menu({ id: 'unavailable-offer', prompt: 'parking.unavailable_offer', options: { '0': 'agent', '1': 'agent', '2': 'end' }, retries: 0 });
  if (choice === 'end') {
    await call.say('goodbye', { id: 'goodbye' });
    return call.hangup();
  }
  // No key (or another key) still reaches a person rather than leaving the caller in silence.
  return call.toAgent({ reason });
}

/** One city-database operation (step `id`); an unavailable database turns into the offer above. */
async function lookup(call: Call, id: string, operation: string, params: Record<string, BackendParam>, reason = 'city-unavailable'): Promise<BackendResult> {
  try {
    return await call.backend(CITY, { id }).query(operation, params);
  } catch (error) {
    if (error instanceof BackendUnavailableError) return unavailable(call, reason);
    throw error;
  }
}

async function byCitation(call: Call): Promise<Ticket[] | 'menu'> {
  call.setAgentContext({ path: 'citation', citationFound: 'no' });
  for (let failures = 1; ; failures++) {
    const entry = await call.gatherSecret({
      id: 'citation',
      prompt: 'parking.citation_enter',
      kind: 'account',
      min: 8,
      max: 8,
      validate: (citation) => citation.isAllDigits(),
    });
    if (!entry.ok) return call.toAgent();
    const { rows } = await lookup(call, 'citation-lookup', 'ticketByCitation', { citation: entry.secret });
    const ticket = rows[0] ? toTicket(rows[0]) : null;
    if (ticket) {
      call.setAgentContext({ citationFound: 'yes', amountDue: String(ticket.status === 'paid' ? 0 : ticket.amountCents) });
      if (ticket.status === 'paid') {
        await call.say('parking.citation_paid', { id: 'citation-paid' });
        return 'menu';
      }
      await call.say(ticketParts(ticket), { id: 'ticket' });
      return [ticket];
    }
    await call.say('parking.citation_not_found', { id: 'citation-not-found' });
    if (failures >= MAX_LOOKUP_FAILURES) return call.toAgent();
  }
}

async function byPlate(call: Call): Promise<Ticket[]> {
  call.setAgentContext({ path: 'plate' });
  for (let failures = 1; ; failures++) {
    // The keypad form of a plate identifies a person's car: it is keyed securely too.
    const plate = await call.gatherSecret({ id: 'plate', prompt: 'parking.plate_enter', kind: 'digits', min: 2, max: 8 });
    if (!plate.ok) return call.toAgent();
    const state = await call.gather({ id: 'state', prompt: 'parking.state_enter', min: 2, max: 2, agentKey: false, validate: (code) => STATE_KEYS.has(code) });
    if (!state.ok) return call.toAgent();
    const { rows } = await lookup(call, 'plate-lookup', 'unpaidByPlate', { plateKeypad: plate.secret, stateCode: state.digits });
    const tickets = rows.map(toTicket).filter((ticket): ticket is Ticket => ticket !== null);
    if (tickets.length === 0) {
      await call.say('parking.plate_not_found', { id: 'plate-not-found' });
      if (failures >= MAX_LOOKUP_FAILURES) return call.toAgent();
      continue;
    }
    const chosen = await choosePlate(call, tickets);
    const unpaid = tickets.filter((ticket) => ticket.plate === chosen);
    call.setAgentContext({ amountDue: String(total(unpaid)) });
    await call.say([{ prompt: 'parking.unpaid_count' }, { number: unpaid.length }, { prompt: 'parking.total_due' }, { currency: total(unpaid) }], { id: 'plate-total' });
    return unpaid;
  }
}

/** One keypad form can match several plates (7ABC123 and 7BAC123): the caller picks one. */
async function choosePlate(call: Call, tickets: readonly Ticket[]): Promise<string> {
  const plates = [...new Set(tickets.map((ticket) => ticket.plate))].slice(0, 9);
  if (plates.length === 1) return plates[0]!;
  const prompt: SayPart[] = [{ prompt: 'parking.plate_several' }];
  const options: Record<string, string> = {};
  plates.forEach((plate, i) => {
    prompt.push({ prompt: 'parking.plate_for' }, { characters: plate }, { prompt: 'parking.press' }, { digits: String(i + 1) });
    options[String(i + 1)] = plate;
  });
  const chosen = await call.menu({ id: 'pick-plate', prompt, options });
  return chosen ?? call.toAgent();
}

async function payMenu(call: Call, tickets: readonly Ticket[]): Promise<Next> {
  for (;;) {
    const choice = await call.menu({ id: 'pay-menu', prompt: 'parking.pay_menu', options: { '1': 'pay', '2': 'hear', '9': 'menu' } });
    if (choice === null) return call.toAgent();
    if (choice === 'menu') return 'menu';
    if (choice === 'pay') return takePayment(call, tickets);
    for (const [i, ticket] of tickets.entries()) {
      await call.say([{ prompt: 'parking.ticket' }, { number: i + 1 }, ...ticketParts(ticket)], { id: 'ticket-list' });
    }
  }
}

async function secureEntry(call: Call, id: string, prompt: string, kind: 'pan' | 'expiry' | 'cvv' | 'zip', min: number, max: number, validate: (s: Secret) => boolean): Promise<Secret> {
  const entry = await call.gatherSecret({ id, prompt, kind, min, max, validate });
  return entry.ok ? entry.secret : call.toAgent();
}

async function takePayment(call: Call, tickets: readonly Ticket[]): Promise<Next> {
  const amountCents = total(tickets);
  for (;;) {
    const card = await secureEntry(call, 'card-number', 'parking.card_enter', 'pan', 13, 19, (s) => s.luhnValid());
    const expiry = await secureEntry(call, 'expiry', 'parking.expiry_enter', 'expiry', 4, 4, (s) => s.expiryValid(new Date()));
    const cvv = await secureEntry(call, 'cvv', 'parking.cvv_enter', 'cvv', 3, 4, (s) => s.isAllDigits());
    const zip = await secureEntry(call, 'zip', 'parking.zip_enter', 'zip', 5, 5, (s) => s.isAllDigits());
    const confirm = await call.menu({
      id: 'confirm',
      prompt: [
        { prompt: 'parking.confirm_pay' },
        { currency: amountCents },
        { prompt: 'parking.confirm_card' },
        { last4: card },
        { prompt: 'parking.confirm_keys' },
      ],
      options: { '1': 'pay', '2': 'cancel' },
    });
    if (confirm === null) return call.toAgent();
    if (confirm === 'cancel') {
      await call.say('parking.payment_cancelled', { id: 'payment-cancelled' });
      return 'menu';
    }
    const result = await call.pay({ id: 'charge', amountCents, card, expiry, cvv, zip });
    if (result.approved) {
      const confirmation = await record(call, tickets, result.authCode, result.last4);
      await readConfirmation(call, confirmation);
      return 'done';
    }
    if (result.reason === 'unavailable') return unavailable(call, 'payment-unavailable');
    const next = await call.menu({ id: 'declined', prompt: 'parking.payment_declined', options: { '1': 'retry', '0': 'agent' } });
    if (next !== 'retry') return call.toAgent({ reason: 'declined' });
  }
}

/** Records each paid ticket (status, amount, authorization, card last four — nothing else). */
async function record(call: Call, tickets: readonly Ticket[], authCode: string, last4: string): Promise<string> {
  let confirmation = '';
  for (const ticket of tickets) {
    // The card is already charged: the agent must know the city has no record of it yet.
    const { rows } = await lookup(call, 'record-payment', 'recordPayment', { ticketId: ticket.id, authorization: authCode, last4 }, 'payment-not-recorded');
    confirmation ||= text(rows[0]?.confirmation);
  }
  return confirmation;
}

async function readConfirmation(call: Call, confirmation: string): Promise<void> {
  let prompt: SayPart[] = [{ prompt: 'parking.payment_approved' }, { digits: confirmation }, { prompt: 'parking.confirmation_repeat' }];
  while ((await call.menu({ id: 'confirmation-number', prompt, options: { '1': 'repeat' }, retries: 0 })) === 'repeat') {
    prompt = [{ digits: confirmation }, { prompt: 'parking.confirmation_repeat' }];
  }
}

export default defineFlow(
  async (call) => {
    const noFlowKeys = { agentKey: false, repeatKey: false };
    await call.say('parking.greeting', { id: 'greeting', ...noFlowKeys });
    const language = await call.menu({
      id: 'language',
      prompt: [
        { prompt: 'parking.language', lang: 'en-US' },
        { prompt: 'parking.language', lang: 'es-US' },
      ],
      options: { '1': 'en-US', '2': 'es-US' } as const,
      timeout: 5000,
      retries: 0,
      ...noFlowKeys,
    });
    call.setLanguage(language ?? 'en-US');
    for (;;) {
      call.setAgentContext({ path: 'menu', citationFound: 'no', amountDue: '0' });
      const choice = await call.menu({ id: 'main-menu', prompt: 'parking.main_menu', options: { '1': 'citation', '2': 'plate', '0': 'agent' } });
      if (choice === null || choice === 'agent') return call.toAgent();
      const tickets = choice === 'citation' ? await byCitation(call) : await byPlate(call);
      if (tickets === 'menu') continue;
      if ((await payMenu(call, tickets)) === 'done') break;
    }
    await call.say('goodbye', { id: 'goodbye' });
  },
  { name: 'parking', agentTarget: 'sip:agent@city.example' },
);
