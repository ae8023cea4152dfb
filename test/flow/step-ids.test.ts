// Every event a step causes carries the step's id, so a call record can list the steps
// visited by id — including a menu the caller barges into before its prompt ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defineFlow } from '../../src/flow/define-flow.ts';
import { simulate } from '../../src/flow/simulator.ts';
import { loadYamlFlow } from '../../src/flow/yaml-loader.ts';
import type { FlowEvent } from '../../src/flow/call-context.ts';
import type { BackendPort, PaymentPort } from '../../src/flow/ports.ts';

const agent = { agentTarget: 'sip:agent@example.test' };

/** Step ids in the order first seen, each run of events from one step counted once. */
function visited(events: readonly FlowEvent[]): string[] {
  const ids: string[] = [];
  for (const event of events) if ('id' in event && ids.at(-1) !== event.id) ids.push(event.id);
  return ids;
}

const backend: BackendPort = { query: async () => ({ rows: [{ amount: 6500 }] }) };
const payment: PaymentPort = { charge: async () => ({ approved: true, authCode: 'A1', last4: '1111' }) };

test('TypeScript steps carry their ids on every event; steps without one carry their kind', async () => {
  const flow = defineFlow(async (call) => {
    await call.menu({ id: 'main-menu', prompt: 'main.menu', options: { '1': 'citation' } });
    await call.say('greeting', { id: 'greeting' });
    await call.gather({ id: 'citation', prompt: 'citation.enter', min: 8, max: 8 });
    await call.backend('city', { id: 'lookup' }).query('citation.lookup', {});
    const card = await call.gatherSecret({ id: 'card-number', prompt: 'card', kind: 'pan', min: 13, max: 19 });
    if (!card.ok) return;
    await call.pay({ id: 'charge', amountCents: 6500, card: card.secret, expiry: card.secret, cvv: card.secret, zip: card.secret });
    call.log('paid', {}, { id: 'note' });
    await call.sayDigits('42');
    await call.transfer('sip:desk@example.test', {}, { id: 'to-desk' });
  });
  const result = await simulate(flow, { caller: '>1,12345678,4111111111111111#', backend, payment });
  assert.deepEqual(visited(result.events), ['main-menu', 'greeting', 'citation', 'lookup', 'card-number', 'charge', 'note', 'say', 'to-desk']);
  // The caller barged into the menu: it never waited with its prompt ended (no input.armed),
  // yet its opening play, input.open and gather.done all name it.
  const menu = result.events.filter((event) => 'id' in event && event.id === 'main-menu').map((event) => event.type);
  assert.deepEqual(menu, ['play', 'input.open', 'gather.done']);
});

test('the agent prompt, the fallback and the final hangup have ids of their own', async () => {
  const flow = defineFlow(async (call) => {
    await call.backend('down', { id: 'lookup' }).query('q', {});
  }, agent);
  const down: BackendPort = { query: async () => Promise.reject(new Error('refused')) };
  const result = await simulate(flow, { caller: '', backend: down });
  assert.deepEqual(visited(result.events), ['lookup', 'fallback']);
  const quiet = await simulate(defineFlow(async (call) => call.say('bye')), { caller: '' });
  assert.deepEqual(visited(quiet.events), ['say', 'hangup']);
  const toAgent = await simulate(defineFlow(async (call) => call.toAgent({}, { id: 'help' }), agent), { caller: '' });
  assert.deepEqual(visited(toAgent.events), ['help']);
});

test('a step id that is not a plain token is refused (the flow falls back)', async () => {
  for (const id of ['', '1abc', 'has space', 'x'.repeat(65), 'card:4111']) {
    const flow = defineFlow(async (call) => call.say('hi', { id }));
    const result = await simulate(flow, { caller: '' });
    assert.equal(result.outcome.error, 'FLOW_USAGE', id);
    assert.ok(!result.events.some((event) => 'id' in event && event.id === id), id);
  }
});

test('YAML steps pass their ids to the events; steps without one carry their kind', async () => {
  const flow = loadYamlFlow(
    'ids.yaml',
    `name: ids
agent: sip:agent@example.test
steps:
  - id: main-menu
    menu: { prompt: main.menu, options: { "1": greeting } }
  - id: greeting
    say: greeting
  - id: citation
    gather: { prompt: citation.enter, min: 8, max: 8, into: citation }
  - id: lookup
    backend: { name: city, operation: citation.lookup, params: { c: $citation }, into: t }
  - id: card-number
    gatherSecret: { prompt: card, kind: pan, min: 13, max: 19, into: card }
  - id: charge
    pay: { amount: $t.amount, card: $card, expiry: $card, cvv: $card, zip: $card, into: p }
  - say: thanks
  - id: bye
    hangup: true
`,
  );
  const result = await simulate(flow, { caller: '>1,12345678,4111111111111111#', backend, payment });
  assert.deepEqual(visited(result.events), ['main-menu', 'greeting', 'citation', 'lookup', 'card-number', 'charge', 'say', 'bye']);
});
