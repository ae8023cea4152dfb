// Each YAML step type run through the simulator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadYamlFlow } from '../../src/flow/yaml-loader.ts';
import { simulate } from '../../src/flow/simulator.ts';
import type { BackendParam, BackendPort, FlowLogger, PaymentPort } from '../../src/flow/ports.ts';

const flow = (steps: string, header = ''): ReturnType<typeof loadYamlFlow> =>
  loadYamlFlow('test.yaml', `name: t\nagent: sip:agent@example.test\n${header}steps:\n${steps}`);

test('menu jumps to the chosen step; set, language and say parts use the values', async () => {
  const result = await simulate(
    flow(`  - menu: { prompt: lang, options: { "1": english, "2": spanish }, into: choice }
  - id: english
    set: { lang: en-US, amount: 1250 }
  - goto: speak
  - id: spanish
    set: { lang: es-US, amount: 200 }
  - id: speak
    language: $lang
  - say: [{ prompt: "picked.\${choice}" }, { currency: $amount }, { date: "2026-01-02" }, { ordinal: 2 }, { characters: ab1 }]
  - play: /srv/audio/bye.wav
`),
    { caller: '2' },
  );
  assert.deepEqual(result.played.slice(1), [
    ['es-US/picked.2', 'es-US/num.2', 'es-US/currency.dollars', 'es-US/num.2', 'es-US/word.of', 'es-US/month.1', 'es-US/word.of', 'es-US/num.2', 'es-US/thousand', 'es-US/num.26', 'es-US/ordinal.2', 'es-US/letter.A', 'es-US/letter.B', 'es-US/num.1'],
    ['/srv/audio/bye.wav'],
  ]);
});

test('branch conditions: comparisons, and/or/not, empty, and luhn on a secret', async () => {
  const result = await simulate(
    flow(`  - gatherSecret: { prompt: card, kind: pan, min: 13, max: 19, into: card }
  - gather: { prompt: n, min: 1, max: 3, into: n }
  - branch:
      cases:
        - if: { and: [{ luhn: $card }, { gt: [$n, 10] }, { not: { empty: $n } }, { or: [{ eq: [$n, 42] }, { lt: [$n, 0] }] }] }
          goto: yes
      else: no
  - id: yes
    say: yes
  - hangup: true
  - id: no
    say: no
`),
    { caller: '4111111111111111#,42#' },
  );
  assert.deepEqual(result.played.at(-1), ['en-US/yes']);
  const other = await simulate(flow(`  - gatherSecret: { prompt: card, kind: pan, min: 13, max: 19, into: card }\n  - branch: { cases: [{ if: { luhn: $card }, goto: ok }], else: bad }\n  - id: ok\n    hangup: true\n  - id: bad\n    say: bad\n`), {
    caller: '4111111111111112#',
  });
  assert.deepEqual(other.played.at(-1), ['en-US/bad']);
});

test('backend rows, pay results, log fields and webhook bodies', async () => {
  const calls: Array<[string, string, Record<string, BackendParam>]> = [];
  const backend: BackendPort = {
    async query(name, operation, params) {
      calls.push([name, operation, params]);
      return { rows: operation === 'lookup' ? [{ amount: 6500, status: 'unpaid' }, { amount: 100, status: 'paid' }] : [] };
    },
  };
  const payment: PaymentPort = { charge: async (request) => ({ approved: true, authCode: 'OK1', last4: request.card.last4() }) };
  const logged: object[] = [];
  const logger: FlowLogger = { info: (obj) => logged.push(obj), warn() {}, error() {}, debug() {} };
  const result = await simulate(
    flow(`  - backend: { name: city, operation: lookup, params: { q: 7 }, into: t }
  - gatherSecret: { kind: pan, min: 13, max: 19, into: card }
  - gatherSecret: { kind: expiry, min: 4, max: 4, into: exp }
  - gatherSecret: { kind: cvv, min: 3, max: 4, into: cvv }
  - gatherSecret: { kind: zip, min: 5, max: 5, into: zip }
  - pay: { amount: $t.amount, card: $card, expiry: $exp, cvv: $cvv, zip: $zip, into: p }
  - log: { event: paid, fields: { rows: $t.count, second: $t.1.status, auth: $p.authCode } }
  - webhook: { backend: crm, event: paid, body: { last4: $p.last4, approved: $p.approved } }
  - transfer: { target: "sip:desk@example.test", context: { paid: $p.approved } }
`),
    { caller: '4111111111111111#,1230,123#,94105', backend, payment, logger },
  );
  assert.deepEqual(calls, [
    ['city', 'lookup', { q: 7 }],
    ['crm', 'webhook.paid', { last4: '1111', approved: 'true' }],
  ]);
  assert.deepEqual(logged, [{ rows: 2, second: 'paid', auth: 'OK1', flowEvent: 'paid' }]);
  assert.deepEqual(result.transfers, [{ target: 'sip:desk@example.test', context: { paid: 'true' } }]);
});

test('gather onFail jumps; without onFail the flow falls back', async () => {
  const jumped = await simulate(flow(`  - gather: { prompt: n, min: 2, max: 2, retries: 0, into: n, onFail: sorry }\n  - hangup: true\n  - id: sorry\n    say: sorry\n`), { caller: '' });
  assert.deepEqual(jumped.played.at(-1), ['en-US/sorry']);
  const fell = await simulate(flow(`  - gather: { prompt: n, min: 2, max: 2, retries: 0, into: n }\n`, 'fallback: { then: hangup }\n'), { caller: '' });
  assert.deepEqual(fell.outcome, { status: 'failed', fallback: true, error: 'FLOW_STEP_FAILED' });
  assert.deepEqual(fell.played.at(-1), ['en-US/error.apology']);
});

test('a goto loop without input stops at the step limit instead of spinning', async () => {
  const result = await simulate(flow(`  - id: a\n    goto: b\n  - id: b\n    goto: a\n`, 'fallback: { then: hangup }\n'), { caller: '' });
  assert.equal(result.outcome.error, 'FLOW_STEP_FAILED');
});

test('header agentKey and repeatKey move the flow-wide keys', async () => {
  const moved = flow(`  - say: notice\n`, 'agentKey: "9"\nrepeatKey: "7"\n');
  const result = await simulate(moved, { caller: '>7~100 09' });
  assert.equal(result.outcome.status, 'transferred');
  assert.deepEqual(result.played, [['en-US/notice'], ['en-US/notice'], ['en-US/agent.transfer']]);
  assert.equal(result.text().split('\n').filter((line) => line.includes('key ignored')).length, 1, 'the old agent key 0 does nothing');
});

test('header agentKey: null and repeatKey: null turn the keys off for the whole flow', async () => {
  const off = flow(`  - say: notice\n  - say: next\n`, 'agentKey: null\nrepeatKey: null\n');
  const result = await simulate(off, { caller: '>0*' });
  assert.equal(result.outcome.status, 'completed');
  assert.deepEqual(result.played, [['en-US/notice'], ['en-US/next']]);
});

test('step-level agentKey and repeatKey turn a key off for that step only', async () => {
  const steps = `  - say: notice
    agentKey: false
  - gather: { prompt: code, min: 2, max: 2, retries: 0, into: code, onFail: bad }
    repeatKey: false
  - hangup: true
  - id: bad
    say: bad
  - menu: { prompt: last, options: { "1": bad } }
`;
  const result = await simulate(flow(steps), { caller: '>0,1*,0' });
  // 0 during the say did nothing; * in the gather was an invalid key; 0 in the menu reached the agent.
  assert.equal(result.outcome.status, 'transferred');
  assert.deepEqual(result.played, [['en-US/notice'], ['en-US/code'], ['en-US/bad'], ['en-US/last'], ['en-US/agent.transfer']]);
});

test('star in a YAML gather restarts the entry and replays its prompt', async () => {
  const result = await simulate(flow(`  - gather: { prompt: code, min: 3, max: 3, into: code }\n  - say: [{ digits: $code }]\n`), { caller: '1*789' });
  assert.deepEqual(result.played, [['en-US/code'], ['en-US/code'], ['en-US/num.7', 'en-US/num.8', 'en-US/num.9']]);
});
