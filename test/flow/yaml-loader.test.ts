import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { checkYamlFlow, loadYamlFlow, FlowLoadError } from '../../src/flow/yaml-loader.ts';
import { simulate } from '../../src/flow/simulator.ts';
import type { BackendPort } from '../../src/flow/ports.ts';

const fixture = new URL('./fixtures/pin-check.yaml', import.meta.url).pathname;

function problems(text: string): string[] {
  return checkYamlFlow(text, 'flow.yaml').problems.map((p) => `${p.line}:${p.col} ${p.code} ${p.message}`);
}

/** A flow whose secret comes from a secure gather on line 4; `sink` lines are appended from line 5. */
function withSecret(sink: string): string {
  return ['name: leak', 'steps:', '  - id: card', '    gatherSecret: { kind: pan, min: 13, max: 19, into: card }', sink, ''].join('\n');
}

test('the fixture flow loads without problems', () => {
  assert.deepEqual(problems(readFileSync(fixture, 'utf8')), []);
});

test('YAML syntax errors carry line and column', () => {
  const found = problems('name: x\nsteps:\n  - say: [a, b\n');
  assert.equal(found.length > 0, true);
  assert.match(found[0]!, /^\d+:\d+ FLOW_YAML /);
});

test('schema errors point at the offending node', () => {
  assert.deepEqual(problems('name: x\nsteps:\n  - gather: { min: two, into: a }\n'), [
    '3:20 FLOW_SCHEMA steps.0.gather.min: Invalid input: expected number, received string',
  ]);
  assert.deepEqual(problems('name: x\nsteps:\n  - say: hi\n    colour: red\n'), ["4:5 FLOW_SCHEMA unknown key 'colour'"]);
  assert.deepEqual(problems('name: x\nsteps:\n  - say: hi\n    hangup: true\n'), ['3:5 FLOW_STEP_ACTION a step has exactly one action, found say and hangup']);
  assert.deepEqual(problems('steps:\n  - say: hi\n'), ['1:1 FLOW_SCHEMA name: Invalid input: expected string, received undefined']);
});

test('unknown step targets and unset variables are reported where they are used', () => {
  assert.deepEqual(problems('name: x\nsteps:\n  - goto: nowhere\n'), ["3:11 FLOW_UNKNOWN_STEP no step with id 'nowhere'"]);
  assert.deepEqual(problems('name: x\nsteps:\n  - say: [{ number: $count }]\n'), ["3:21 FLOW_UNKNOWN_VARIABLE variable 'count' is never set"]);
  assert.deepEqual(problems('name: x\nsteps:\n  - id: a\n    say: hi\n  - id: a\n    say: ho\n'), ["5:9 FLOW_DUPLICATE_ID step id 'a' is used twice"]);
});

// One flow per leak path; each must be rejected at the line and column of the leaking value.
const leaks: Array<[string, string, string]> = [
  ['say of free text', '  - say: "card.${card}"', '5:10'],
  ['say digits part', '  - say: [{ digits: $card }]', '5:21'],
  ['say number part', '  - say: [{ number: $card }]', '5:21'],
  ['menu prompt', '  - menu: { prompt: "x.${card}", options: { "1": card } }', '5:21'],
  ['play file name', '  - play: "/tmp/${card}.wav"', '5:11'],
  ['log field', '  - log: { event: paid, fields: { card: $card } }', '5:41'],
  ['log event text', '  - log: { event: "paid ${card}" }', '5:19'],
  ['transfer context', '  - transfer: { target: agent, context: { card: $card } }', '5:49'],
  ['transfer header target', '  - transfer: { target: "sip:${card}@agents" }', '5:25'],
  ['webhook body', '  - webhook: { backend: crm, event: paid, body: { card: $card } }', '5:57'],
  ['backend param as text', '  - backend: { name: b, operation: o, params: { q: "n=${card}" }, into: r }', '5:52'],
  ['set interpolation', '  - set: { copy: "${card}" }', '5:18'],
  ['language switch', '  - language: $card', '5:15'],
  ['full read-back of a card number', '  - say: [{ spell: $card }]', '5:20'],
];

/** A flow whose `kind` secret comes from a secure gather on line 3; the sink is line 4. */
function secretOfKind(kind: string, sink: string): string {
  return ['name: leak', 'steps:', `  - gatherSecret: { kind: ${kind}, min: 3, max: 5, into: s }`, sink, ''].join('\n');
}

// The vault reads back the last four of a card or account number only (Secret.last4).
for (const kind of ['pin', 'zip', 'cvv', 'expiry', 'digits']) {
  test(`static secret check rejects: last4 of a ${kind}`, () => {
    assert.deepEqual(problems(secretOfKind(kind, '  - say: [{ prompt: ending }, { last4: $s }]')), [
      `4:40 FLOW_SECRET_LEAK secret 's' is a ${kind}: last4 reads back only a card or account number`,
    ]);
  });
}

test('last4 of an account number is accepted', () => {
  assert.deepEqual(problems(secretOfKind('account', '  - say: [{ last4: $s }]')), []);
});

/** A plain gather fills `account` on line 3; the log step starts on line 4. */
function withKeyed(lines: string): string {
  return ['name: keyed', 'steps:', '  - gather: { min: 4, max: 8, into: account }', lines, ''].join('\n');
}

// Issue 8: key presses are logged as counts and outcomes, never digits — plain gathers too.
const keyedLogs: Array<[string, string, string]> = [
  ['a field', '  - log: { event: got, fields: { account: $account } }', "4:43 FLOW_KEYED_LOG 'account'"],
  ['an interpolated field', '  - log: { event: got, fields: { a: "n=${account}" } }', "4:37 FLOW_KEYED_LOG 'account'"],
  ['the event text', '  - log: { event: "got ${account}" }', "4:19 FLOW_KEYED_LOG 'account'"],
  ['a set copy', '  - set: { copy: $account }\n  - log: { event: got, fields: { c: $copy } }', "5:37 FLOW_KEYED_LOG 'copy'"],
  ['a set interpolation, copied again', '  - set: { text: "a-${account}" }\n  - set: { again: $text }\n  - log: { event: got, fields: { c: $again } }', "6:37 FLOW_KEYED_LOG 'again'"],
];
for (const [name, lines, where] of keyedLogs) {
  test(`keyed-digits check rejects plain-gather digits in a log line: ${name}`, () => {
    const found = problems(withKeyed(lines));
    assert.equal(found.length, 1, found.join('\n'));
    assert.deepEqual(found, [`${where} holds digits the caller keyed: a log line keeps counts and outcomes, never keys`]);
  });
}

test('keyed-digits check accepts counts, outcomes and menu choices in a log line', () => {
  const ok = withKeyed(
    [
      '  - backend: { name: b, operation: o, params: { account: $account }, into: r }',
      '  - menu: { prompt: m, options: { "1": done }, into: choice }',
      '  - id: done',
      '    log: { event: looked-up, fields: { rows: $r.count, choice: $choice } }',
    ].join('\n'),
  );
  assert.deepEqual(problems(ok), []);
});

test('agentKey and repeatKey on a secure entry are refused where they are written', () => {
  const flow = 'name: x\nsteps:\n  - gatherSecret: { kind: pin, min: 4, max: 4, into: pin }\n    agentKey: false\n    repeatKey: true\n';
  assert.deepEqual(problems(flow), [
    '4:5 FLOW_SCHEMA agentKey does not apply to gatherSecret: during a secure entry every key goes to the secure store',
    '5:5 FLOW_SCHEMA repeatKey does not apply to gatherSecret: during a secure entry every key goes to the secure store',
  ]);
  assert.deepEqual(problems('name: x\nsteps:\n  - id: pin\n    gatherSecret: { kind: pin, min: 4, max: 4, into: pin }\n'), []);
});

for (const [name, sink, where] of leaks) {
  test(`static secret check rejects: ${name}`, () => {
    const found = problems(withSecret(sink));
    assert.equal(found.length, 1, found.join('\n'));
    assert.match(found[0]!, new RegExp(`^${where} FLOW_SECRET_LEAK `));
  });
}

test('static secret check follows set copies and sensitive backend columns', () => {
  const alias = problems(withSecret('  - set: { other: $card }\n  - say: [{ digits: $other }]'));
  assert.deepEqual(alias, ["6:21 FLOW_SECRET_LEAK secret 'other' may not reach a spoken prompt (use last4 or spell for read-back)"]);
  const column = problems(
    'name: x\nsteps:\n  - backend: { name: b, operation: o, into: t, sensitive: [account] }\n  - log: { event: e, fields: { a: $t.0.account } }\n',
  );
  assert.equal(column.length, 1);
  assert.match(column[0]!, /^4:35 FLOW_SECRET_LEAK secret 't.0.account'/);
});

test('allowed secret sinks are accepted', () => {
  const allowed = [
    '  - backend: { name: b, operation: o, params: { card: $card }, into: r }',
    '  - branch: { cases: [{ if: { luhn: $card }, goto: card }] }',
    '  - say: [{ prompt: ending }, { last4: $card }]',
    '  - set: { saved: $card }',
    '  - id: pin\n    gatherSecret: { kind: pin, min: 4, max: 4, into: pin }\n  - say: [{ spell: $pin }]',
    '  - id: rest\n    gatherSecret: { kind: expiry, min: 4, max: 4, into: exp }\n  - gatherSecret: { kind: cvv, min: 3, max: 4, into: cvv }\n  - gatherSecret: { kind: zip, min: 5, max: 5, into: zip }\n  - pay: { amount: 6500, card: $card, expiry: $exp, cvv: $cvv, zip: $zip, into: p }\n  - transfer: { target: agent, context: { paid: $p.approved } }',
  ];
  for (const sink of allowed) assert.deepEqual(problems(withSecret(sink)), [], sink);
});

test('loadYamlFlow throws one FlowLoadError listing every problem as file:line:col', () => {
  assert.throws(
    () => loadYamlFlow('bad.yaml', 'name: x\nsteps:\n  - goto: a\n  - goto: b\n'),
    (error: unknown) =>
      error instanceof FlowLoadError &&
      error.message === "bad.yaml:3:11: no step with id 'a' [FLOW_UNKNOWN_STEP]\nbad.yaml:4:11: no step with id 'b' [FLOW_UNKNOWN_STEP]",
  );
});

const bank = (valid: number): BackendPort => ({
  async query(backend, operation, params) {
    assert.equal(backend, 'bank');
    assert.equal(operation, 'pin.check');
    assert.equal(params.account, '12345');
    assert.equal(typeof params.pin, 'object', 'the PIN reaches the backend as a Secret handle');
    return { rows: [{ valid, balance_cents: 1234 }] };
  },
});

test('a YAML flow runs in the simulator: right PIN reads the balance', async () => {
  const result = await simulate(loadYamlFlow(fixture), { caller: '12345#,1234', backend: bank(1) });
  assert.equal(result.outcome.status, 'completed');
  assert.deepEqual(result.played.at(-1), [
    'en-US/balance.is',
    'en-US/num.12',
    'en-US/currency.dollars',
    'en-US/currency.and',
    'en-US/num.34',
    'en-US/currency.cents',
  ]);
  assert.deepEqual(result.keys.slice(6), ['•', '•', '•', '•']);
});

test('a YAML flow runs in the simulator: wrong PIN loops, then onFail transfers with the context', async () => {
  const result = await simulate(loadYamlFlow(fixture), { caller: '12345#,1111,2222,,', backend: bank(0) });
  assert.equal(result.outcome.status, 'transferred');
  assert.deepEqual(result.transfers, [{ target: 'sip:agent@example.test', context: { language: 'en-US', step: 'account' } }]);
});
