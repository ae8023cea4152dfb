import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defineFlow } from '../../src/flow/define-flow.ts';
import { simulate } from '../../src/flow/simulator.ts';
import { createLogger } from '../../src/observe/logger.ts';
import { SecretLeakError } from '../../src/flow/secret-guard.ts';
import type { Secret } from '../../src/vault/types.ts';
import type { BackendPort, ChargeRequest, PaymentPort } from '../../src/flow/ports.ts';

const agent = { agentTarget: 'sip:agent@example.test' };

test('say plays the prompt for the current language and switching language changes the clips', async () => {
  const flow = defineFlow(async (call) => {
    await call.say('greeting');
    call.setLanguage('es-US');
    await call.say('greeting');
    await call.sayCurrency(6500);
  });
  const result = await simulate(flow, { caller: '' });
  assert.deepEqual(result.played, [['en-US/greeting'], ['es-US/greeting'], ['es-US/num.65', 'es-US/currency.dollars']]);
  assert.equal(result.outcome.status, 'completed');
  assert.equal(result.hangups, 1);
});

test('the agent key during a prompt transfers with the language in the context', async () => {
  const flow = defineFlow(async (call) => {
    await call.say('main.menu');
    await call.say('never.reached');
  }, agent);
  const result = await simulate(flow, { caller: '>0' });
  assert.equal(result.outcome.status, 'transferred');
  assert.deepEqual(result.transfers, [{ target: 'sip:agent@example.test', context: { language: 'en-US' } }]);
  assert.ok(!result.played.flat().includes('en-US/never.reached'));
});

test('the agent key can be turned off for a step; star repeats the prompt', async () => {
  const flow = defineFlow(async (call) => {
    await call.say('notice', { agentKey: false });
  }, agent);
  const result = await simulate(flow, { caller: '>0~300*' });
  assert.equal(result.outcome.status, 'completed');
  assert.deepEqual(result.played, [['en-US/notice'], ['en-US/notice']]);
});

test('gather returns the digits; the terminator is not part of them', async () => {
  let got: unknown;
  const flow = defineFlow(async (call) => {
    got = await call.gather({ prompt: 'enter', min: 2, max: 6 });
  });
  const result = await simulate(flow, { caller: '1234#' });
  assert.deepEqual(got, { ok: true, digits: '1234' });
  assert.deepEqual(result.keys, ['1', '2', '3', '4', '#']);
});

test('gather: partial entry then silence retries with the invalid prompt, then fails', async () => {
  let got: unknown;
  const flow = defineFlow(async (call) => {
    got = await call.gather({ prompt: 'enter', min: 4, max: 6, retries: 1 });
  });
  const result = await simulate(flow, { caller: '12,12' });
  assert.deepEqual(got, { ok: false, reason: 'invalid' });
  assert.deepEqual(result.played, [['en-US/enter'], ['en-US/gather.invalid', 'en-US/enter']]);
});

test('gather validator rejects and the next attempt succeeds', async () => {
  let got: unknown;
  const flow = defineFlow(async (call) => {
    got = await call.gather({ prompt: 'enter', min: 1, max: 2, validate: (digits) => digits === '42' });
  });
  await simulate(flow, { caller: '41,42' });
  assert.deepEqual(got, { ok: true, digits: '42' });
});

test('the terminator pressed after max digits is swallowed, not taken by the next menu', async () => {
  let choice: unknown;
  const flow = defineFlow(async (call) => {
    await call.gather({ prompt: 'enter', min: 3, max: 3 });
    choice = await call.menu({ prompt: 'menu', options: { '1': 'one' }, retries: 0 });
  });
  const result = await simulate(flow, { caller: '123#,1' });
  assert.equal(choice, 'one');
  // The media layer cut the menu prompt for the swallowed '#'; the runtime played it again.
  assert.deepEqual(result.played.slice(1), [['en-US/menu'], ['en-US/menu']]);
  // The transcript says the '#' was dropped, right after the key line that showed it arrive.
  const lines = result.transcript.map((line) => line.text);
  const ignored = lines.indexOf('key ignored: terminator after a full entry');
  assert.equal(lines[ignored - 1], '#');
  assert.equal(lines.filter((text) => text.startsWith('key ignored')).length, 1);
});

test('gatherSecret keys go to the secure sink only: the flow gets a Secret, the transcript shows bullets', async () => {
  let secret: Secret | null = null;
  let last4 = '';
  const flow = defineFlow(async (call) => {
    const result = await call.gatherSecret({ prompt: 'card', kind: 'pan', min: 13, max: 19, validate: (s) => s.luhnValid() });
    if (!result.ok) throw new Error('no card');
    secret = result.secret;
    last4 = result.secret.last4();
    await call.say([{ prompt: 'ending' }, { last4: result.secret }]);
  });
  const result = await simulate(flow, { caller: '4111111111111111#' });
  assert.equal(last4, '1111');
  assert.deepEqual(result.keys, Array(17).fill('•'));
  assert.ok(!result.text().includes('4111'));
  assert.deepEqual(result.played[1], ['en-US/ending', 'en-US/num.1', 'en-US/num.1', 'en-US/num.1', 'en-US/num.1']);
  assert.equal(result.wipe.verified, true);
  // The cell is wiped when the call ends: the handle no longer reads.
  assert.throws(() => (secret as unknown as Secret).length(), /wiped/i);
});

test('gatherSecret: a Luhn-invalid card is retried, then accepted', async () => {
  let ok = false;
  const flow = defineFlow(async (call) => {
    const result = await call.gatherSecret({ prompt: 'card', kind: 'pan', min: 13, max: 19, validate: (s) => s.luhnValid() });
    ok = result.ok;
  });
  const result = await simulate(flow, { caller: '4111111111111112#,4111111111111111#' });
  assert.equal(ok, true);
  assert.deepEqual(result.played[1], ['en-US/gather.invalid', 'en-US/card']);
});

test('menu: unknown key is invalid, no key times out, a valid key returns the option', async () => {
  let choice: unknown;
  const flow = defineFlow(async (call) => {
    choice = await call.menu({ prompt: 'menu', options: { '1': 'pay', '2': 'plate' }, retries: 2 });
  });
  const result = await simulate(flow, { caller: '5,,2' });
  assert.equal(choice, 'plate');
  assert.deepEqual(result.played.slice(1), [
    ['en-US/gather.invalid', 'en-US/menu'],
    ['en-US/gather.timeout', 'en-US/menu'],
  ]);
});

test('menu: the agent key transfers when it is not an option', async () => {
  const flow = defineFlow(async (call) => {
    await call.menu({ prompt: 'menu', options: { '1': 'pay' } });
  }, agent);
  const result = await simulate(flow, { caller: '0' });
  assert.equal(result.outcome.status, 'transferred');
});

test('a backend failure ends in the unavailable prompt and an agent transfer', async () => {
  const backend: BackendPort = {
    async query() {
      throw new Error('connection refused');
    },
  };
  const flow = defineFlow(async (call) => {
    await call.backend('city').query('citation.lookup', {});
  }, agent);
  const result = await simulate(flow, { caller: '', backend });
  assert.deepEqual(result.outcome, { status: 'transferred', fallback: true, error: 'FLOW_BACKEND_UNAVAILABLE' });
  assert.deepEqual(result.played, [['en-US/error.unavailable'], ['en-US/agent.transfer']]);
  assert.equal(result.transfers[0]?.context.reason, 'error');
});

test('a backend that never answers times out on the flow clock', async () => {
  const backend: BackendPort = { query: () => new Promise(() => {}) };
  const flow = defineFlow(async (call) => {
    await call.backend('city').query('slow', {});
  });
  const result = await simulate(flow, { caller: '', backend, settings: { backendTimeoutMs: 4000 } });
  assert.equal(result.outcome.error, 'FLOW_BACKEND_UNAVAILABLE');
  assert.match(result.text(), /\[\s+4\.000\] ---- backend city slow: timeout/);
});

test('a thrown error plays the apology and hangs up when the fallback says so', async () => {
  const flow = defineFlow(
    async () => {
      throw new TypeError('bug');
    },
    { fallback: { apologyPrompt: 'error.apology', unavailablePrompt: 'error.unavailable', then: 'hangup' } },
  );
  const result = await simulate(flow, { caller: '' });
  assert.deepEqual(result.outcome, { status: 'failed', fallback: true, error: 'TypeError' });
  assert.deepEqual(result.played, [['en-US/error.apology']]);
  assert.equal(result.hangups, 1);
  assert.equal(result.wipe.verified, true);
});

test('the caller hanging up mid-entry ends the flow as abandoned and the cell is wiped', async () => {
  const flow = defineFlow(async (call) => {
    await call.gatherSecret({ prompt: 'card', kind: 'pan', min: 13, max: 19 });
    await call.say('never');
  });
  const result = await simulate(flow, { caller: '4111H' });
  assert.equal(result.outcome.status, 'abandoned');
  assert.equal(result.hangups, 0);
  assert.equal(result.wipe.verified, true);
});

test("a flow's log line keeps its name and fields through the real logger", async () => {
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => lines.push(line) } });
  const flow = defineFlow(async (call) => {
    call.log('lookup-skipped', { reason: 'weekend', attempts: 2 });
  });
  await simulate(flow, { caller: '', logger });
  logger.flush();
  const line = lines.map((text) => JSON.parse(text) as Record<string, unknown>).find((entry) => entry.msg === 'flow.log');
  assert.ok(line, lines.join('\n'));
  assert.deepEqual([line.flowEvent, line.reason, line.attempts, line.level], ['lookup-skipped', 'weekend', 2, 'info']);
  assert.equal(logger.stats().reservedFields, 0);
});

test('a secret cannot be said, logged or put in a transfer context', async () => {
  const attempts: Array<(call: Parameters<Parameters<typeof defineFlow>[0]>[0], s: Secret) => Promise<unknown> | unknown> = [
    (call, s) => call.say(`card.${s}`),
    (call, s) => call.say([{ digits: `${s}` }]),
    (call, s) => call.log('card', { value: `${s}` }),
    (call, s) => call.log('card', { value: s as unknown as string }),
    (call, s) => call.transfer('sip:agent@example.test', { card: s as unknown as string }),
    (call, s) => call.transfer(`sip:${s}@example.test`, {}),
  ];
  for (const attempt of attempts) {
    let caught: unknown;
    const flow = defineFlow(async (call) => {
      const result = await call.gatherSecret({ prompt: 'pin', kind: 'pin', min: 4, max: 4 });
      if (!result.ok) return;
      try {
        await attempt(call, result.secret);
      } catch (error) {
        caught = error;
      }
    });
    const result = await simulate(flow, { caller: '1234' });
    assert.ok(caught instanceof SecretLeakError, String(caught));
    assert.equal(result.transfers.length, 0);
  }
});

test('pay sends the secrets with a fresh idempotency key per attempt', async () => {
  const requests: ChargeRequest[] = [];
  const payment: PaymentPort = {
    async charge(request) {
      requests.push(request);
      return requests.length === 1 ? { approved: false, reason: 'declined' } : { approved: true, authCode: 'A1', last4: request.card.last4() };
    },
  };
  const results: unknown[] = [];
  const flow = defineFlow(async (call) => {
    const card = await call.gatherSecret({ prompt: 'card', kind: 'pan', min: 13, max: 19 });
    const expiry = await call.gatherSecret({ prompt: 'exp', kind: 'expiry', min: 4, max: 4 });
    const cvv = await call.gatherSecret({ prompt: 'cvv', kind: 'cvv', min: 3, max: 4 });
    const zip = await call.gatherSecret({ prompt: 'zip', kind: 'zip', min: 5, max: 5 });
    if (!card.ok || !expiry.ok || !cvv.ok || !zip.ok) return;
    const request = { amountCents: 6500, card: card.secret, expiry: expiry.secret, cvv: cvv.secret, zip: zip.secret };
    results.push(await call.pay(request), await call.pay(request));
  });
  await simulate(flow, { caller: '4111111111111111#,1230,123#,94105', payment });
  assert.deepEqual(results, [
    { approved: false, reason: 'declined' },
    { approved: true, authCode: 'A1', last4: '1111' },
  ]);
  assert.notEqual(requests[0]?.idempotencyKey, requests[1]?.idempotencyKey);
});

test('a payment gateway that throws is reported as unavailable, not as a crash', async () => {
  const payment: PaymentPort = {
    async charge() {
      throw new Error('tls handshake failed');
    },
  };
  let got: unknown;
  const flow = defineFlow(async (call) => {
    const s = await call.gatherSecret({ prompt: 'zip', kind: 'zip', min: 5, max: 5 });
    if (!s.ok) return;
    got = await call.pay({ amountCents: 100, card: s.secret, expiry: s.secret, cvv: s.secret, zip: s.secret });
  });
  await simulate(flow, { caller: '12345', payment });
  assert.deepEqual(got, { approved: false, reason: 'unavailable' });
});

test('an unknown prompt id (with a catalogue) ends in the apology fallback, not dead air', async () => {
  const { PromptCatalogue } = await import('../../src/flow/catalogue.ts');
  const flow = defineFlow(async (call) => {
    await call.say('no.such.prompt');
  }, agent);
  const result = await simulate(flow, { caller: '', settings: { catalogue: new PromptCatalogue() } });
  assert.deepEqual(result.outcome, { status: 'transferred', fallback: true, error: 'FLOW_UNKNOWN_PROMPT' });
  assert.deepEqual(result.played, [['en-US/error.apology'], ['en-US/agent.transfer']]);
});

test('the caller hanging up during a prompt ends the flow at once as abandoned', async () => {
  let after = false;
  const flow = defineFlow(async (call) => {
    await call.say('long');
    after = true;
  });
  const result = await simulate(flow, { caller: '>H' });
  assert.equal(result.outcome.status, 'abandoned');
  assert.equal(after, false);
  assert.equal(result.hangups, 0);
});

test('call-scoped values hold secrets and are gone with the cell', async () => {
  let kept: unknown;
  const flow = defineFlow(async (call) => {
    const pin = await call.gatherSecret({ prompt: 'pin', kind: 'pin', min: 4, max: 4 });
    if (pin.ok) call.values.set('pin', pin.secret);
    kept = call.values.get('pin');
  });
  const result = await simulate(flow, { caller: '1234' });
  assert.equal(result.wipe.verified, true);
  assert.throws(() => (kept as Secret).length(), /wiped/i);
});

test('hangupAfterMs ends the call at that virtual time', async () => {
  const flow = defineFlow(async (call) => {
    await call.gather({ prompt: 'enter', min: 4, max: 4, firstDigitTimeout: 60000, totalTimeout: 120000 });
  });
  const result = await simulate(flow, { caller: '12', hangupAfterMs: 30000 });
  assert.equal(result.outcome.status, 'abandoned');
  assert.match(result.text(), /\[\s+30\.000\] ---- caller hangs up/);
});

test('a terminator after a full secure entry is not taken as an empty next secure entry', async () => {
  const results: boolean[] = [];
  const flow = defineFlow(async (call) => {
    results.push((await call.gatherSecret({ prompt: 'exp', kind: 'expiry', min: 4, max: 4 })).ok);
    results.push((await call.gatherSecret({ prompt: 'cvv', kind: 'cvv', min: 3, max: 4, retries: 0 })).ok);
  });
  const result = await simulate(flow, { caller: '1230#,123#' });
  assert.deepEqual(results, [true, true]);
  assert.ok(!result.played.flat().includes('en-US/gather.invalid'));
});

// ----- flow-wide keys ------------------------------------------------------------------

const ignoredLines = (text: string): string[] => text.split('\n').filter((line) => line.includes('key ignored'));

test('a flow can move the agent key: 9 transfers, 0 is only an ignored key', async () => {
  const flow = defineFlow(async (call) => {
    await call.say('notice');
  }, { ...agent, agentKey: 9 });
  const result = await simulate(flow, { caller: '>09' });
  assert.equal(result.outcome.status, 'transferred');
  assert.deepEqual(result.played, [['en-US/notice'], ['en-US/agent.transfer']]);
  assert.equal(ignoredLines(result.text()).length, 1);
  assert.match(ignoredLines(result.text())[0]!, /key ignored: not the agent or repeat key/);
});

test('repeatKey: false on a step: star is ignored there and works on the next step', async () => {
  const flow = defineFlow(async (call) => {
    await call.say('first', { repeatKey: false });
    await call.say('second');
  });
  const result = await simulate(flow, { caller: '>*,>*' });
  assert.deepEqual(result.played, [['en-US/first'], ['en-US/second'], ['en-US/second']]);
  assert.equal(ignoredLines(result.text()).length, 1);
});

test('agentKey: null and repeatKey: null turn both keys off for the whole flow', async () => {
  const flow = defineFlow(async (call) => {
    await call.say('notice');
    const entry = await call.gather({ prompt: 'enter', min: 1, max: 1, retries: 0 });
    assert.deepEqual(entry, { ok: false, reason: 'invalid' });
  }, { ...agent, agentKey: null, repeatKey: null });
  // During the say both keys do nothing; in the gather '*' is no digit, so the entry is invalid.
  const result = await simulate(flow, { caller: '>0*,*' });
  assert.equal(result.outcome.status, 'completed');
  assert.equal(result.transfers.length, 0);
  assert.deepEqual(result.played, [['en-US/notice'], ['en-US/enter']]);
  assert.equal(ignoredLines(result.text()).length, 2);
});

test('star inside a gather restarts the entry and replays its prompt', async () => {
  let got: unknown;
  const flow = defineFlow(async (call) => {
    got = await call.gather({ prompt: 'enter', min: 4, max: 4 });
  });
  const result = await simulate(flow, { caller: '12*1234' });
  assert.deepEqual(got, { ok: true, digits: '1234' });
  assert.deepEqual(result.played, [['en-US/enter'], ['en-US/enter']]);
});

test('star in a gather or menu with no prompt of its own replays the last prompt the caller heard', async () => {
  let got: unknown;
  const flow = defineFlow(async (call) => {
    await call.say([{ prompt: 'account.enter' }, { silenceMs: 500 }]);
    got = await call.gather({ min: 4, max: 4, retries: 1 });
  });
  // '12*' replays the say; silence then replays it after the timeout notice; then the entry.
  const result = await simulate(flow, { caller: '12*,,5678' });
  assert.deepEqual(got, { ok: true, digits: '5678' });
  const spoken = [{ clip: 'en-US/account.enter' }, { silenceMs: 500 }].map((item) => ('clip' in item ? item.clip : `silence:${item.silenceMs}`));
  assert.deepEqual(result.played, [spoken, [], spoken, ['en-US/gather.timeout', ...spoken]]);
});

// ----- say-as shorthands and entry options through `call` --------------------------------

test('sayDigits, sayDate, sayOrdinal and play speak through call in the current language', async () => {
  const flow = defineFlow(async (call) => {
    await call.sayDigits('709');
    await call.sayDate('2026-10-03');
    call.setLanguage('es-US');
    await call.sayOrdinal(3);
    await call.play('/srv/prompts/custom.wav');
  });
  const result = await simulate(flow, { caller: '' });
  assert.deepEqual(result.played, [
    ['en-US/num.7', 'en-US/num.0', 'en-US/num.9'],
    ['en-US/month.10', 'en-US/ordinal.3', 'en-US/num.20', 'en-US/num.26'],
    ['es-US/ordinal.3'],
    ['/srv/prompts/custom.wav'],
  ]);
});

test("gather with terminator '*' ends on star (and star is then no repeat key)", async () => {
  let got: unknown;
  const flow = defineFlow(async (call) => {
    got = await call.gather({ prompt: 'enter', min: 2, max: 6, terminator: '*' });
  });
  const result = await simulate(flow, { caller: '123*' });
  assert.deepEqual(got, { ok: true, digits: '123' });
  assert.deepEqual(result.played, [['en-US/enter']]);
});

test('gather with terminator null completes on the inter-digit timeout; # is then an invalid key', async () => {
  const got: unknown[] = [];
  const flow = defineFlow(async (call) => {
    got.push(await call.gather({ prompt: 'enter', min: 2, max: 6, terminator: null, interDigitTimeout: 2000 }));
    got.push(await call.gather({ prompt: 'enter', min: 2, max: 6, terminator: null, retries: 0 }));
  });
  const result = await simulate(flow, { caller: '123,12#' });
  assert.deepEqual(got, [{ ok: true, digits: '123' }, { ok: false, reason: 'invalid' }]);
  // The first entry ended 2 s after its last key, not at the key.
  assert.match(result.text(), /\[\s+3\.400\] ---- gather ok \(3 keys\)/);
});

test('custom invalidPrompt and timeoutPrompt replace the defaults in gather and menu', async () => {
  const got: unknown[] = [];
  const flow = defineFlow(async (call) => {
    got.push(await call.gather({ prompt: 'enter', min: 2, max: 2, invalidPrompt: 'too.short', timeoutPrompt: [{ prompt: 'still.there' }] }));
    got.push(await call.menu({ prompt: 'menu', options: { '1': 'one' }, invalidPrompt: 'no.such.option', timeoutPrompt: 'say.something' }));
  });
  const result = await simulate(flow, { caller: ',1#,12,5,,1' });
  assert.deepEqual(got, [{ ok: true, digits: '12' }, 'one']);
  assert.deepEqual(result.played, [
    ['en-US/enter'],
    ['en-US/still.there', 'en-US/enter'],
    ['en-US/too.short', 'en-US/enter'],
    ['en-US/menu'],
    ['en-US/no.such.option', 'en-US/menu'],
    ['en-US/say.something', 'en-US/menu'],
  ]);
});

test('the transcript marks a key dropped during a prompt without barge-in', async () => {
  let got: unknown;
  const flow = defineFlow(async (call) => {
    got = await call.gather({ prompt: 'enter', min: 1, max: 1, bargeIn: false });
  });
  const result = await simulate(flow, { caller: '>5,7' });
  assert.deepEqual(got, { ok: true, digits: '7' });
  const lines = result.transcript.map((line) => line.text);
  const ignored = lines.indexOf('key ignored: the prompt takes no keys (no barge-in)');
  assert.equal(lines[ignored - 1], '5');
  assert.equal(ignoredLines(result.text()).length, 1);
});
