// Issue 8: key presses reach the logs as counts and outcomes, never digits — plain gathers
// too. The YAML static check refuses such a log step (yaml-loader.test.ts); here the runtime
// half for TypeScript flows, through the real logger.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defineFlow } from '../../src/flow/define-flow.ts';
import { simulate } from '../../src/flow/simulator.ts';
import { createLogger } from '../../src/observe/logger.ts';
import { KEYED_FIELD } from '../../src/flow/call-context.ts';

async function logLines(flow: ReturnType<typeof defineFlow>, caller: string): Promise<{ lines: Array<Record<string, unknown>>; raw: string }> {
  const written: string[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => written.push(line) } });
  await simulate(flow, { caller, logger });
  logger.flush();
  const lines = written.map((text) => JSON.parse(text) as Record<string, unknown>).filter((entry) => entry.msg === 'flow.log');
  return { lines, raw: written.join('') };
}

test('digits a plain gather returned are written as [keyed], however the flow dresses them', async () => {
  const flow = defineFlow(async (call) => {
    const account = await call.gather({ prompt: 'account', min: 4, max: 8, agentKey: false });
    if (!account.ok) return;
    const choice = await call.menu({ prompt: 'menu', options: { '1': 'pay-by-citation' } });
    call.values.set('account', account.digits);
    call.log('got', {
      account: account.digits,
      asNumber: Number(account.digits),
      inText: `acct-${String(call.values.get('account'))}`,
      choice: choice ?? 'none',
      keys: account.digits.length,
      found: true,
    });
    call.log(`got-${account.digits}`);
  });
  const { lines, raw } = await logLines(flow, '00482913#,1');
  assert.deepEqual(lines.map(({ msg: _m, level: _l, time: _t, ...rest }) => rest), [
    { account: KEYED_FIELD, asNumber: KEYED_FIELD, inText: KEYED_FIELD, choice: 'pay-by-citation', keys: 8, found: true, flowEvent: 'got' },
    { flowEvent: KEYED_FIELD },
  ]);
  assert.ok(!raw.includes('482913'), raw);
});

test('digits a validator saw (a rejected attempt too) are keyed as well', async () => {
  let seen = '';
  const flow = defineFlow(async (call) => {
    await call.gather({
      prompt: 'code',
      min: 3,
      max: 3,
      validate: (digits) => {
        if (seen === '') seen = digits;
        return digits === '777';
      },
    });
    call.log('first-try', { value: seen });
  });
  const { lines, raw } = await logLines(flow, '123,777');
  assert.equal(seen, '123');
  assert.equal(lines[0]?.value, KEYED_FIELD);
  assert.ok(!raw.includes('123'), raw);
});

test('without keyed input, log fields pass unchanged', async () => {
  const flow = defineFlow(async (call) => {
    call.log('plain', { rows: 12, reason: 'weekend' });
  });
  const { lines } = await logLines(flow, '');
  assert.deepEqual([lines[0]?.rows, lines[0]?.reason], [12, 'weekend']);
});
