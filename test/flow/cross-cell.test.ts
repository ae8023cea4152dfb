// Issue 5: a flow that keeps one call's Secret (say in module scope) gets nothing from it in
// another call: reading it back, paying with it, sending it to a backend or storing it are
// refused with the vault's CrossCellError, and the second call ends in the fallback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defineFlow } from '../../src/flow/define-flow.ts';
import { simulate, type SimulationResult } from '../../src/flow/simulator.ts';
import type { Call } from '../../src/flow/call-context.ts';
import type { BackendParam, BackendPort, ChargeRequest, PaymentPort } from '../../src/flow/ports.ts';
import { CellPool } from '../../src/vault/cell-pool.ts';
import type { Secret } from '../../src/vault/types.ts';

const agent = { agentTarget: 'sip:agent@example.test' };

const misuses: Array<[string, (call: Call, theirs: Secret) => Promise<unknown> | unknown]> = [
  ['read back its last four', (call, theirs) => call.say([{ prompt: 'card.ending' }, { last4: theirs }])],
  ['pay with it', (call, theirs) => call.pay({ amountCents: 6500, card: theirs, expiry: theirs, cvv: theirs, zip: theirs })],
  ['send it to a backend', (call, theirs) => call.backend('city').query('card.check', { card: theirs })],
  ['keep it in the call values', (call, theirs) => call.values.set('card', theirs)],
];

for (const [name, misuse] of misuses) {
  test(`a Secret from another live call on the same pool is refused: ${name}`, async () => {
    const pool = new CellPool({ cells: 2, slotsPerCell: 64 });
    const charged: ChargeRequest[] = [];
    const queried: Array<Record<string, BackendParam>> = [];
    const payment: PaymentPort = {
      async charge(request) {
        charged.push(request);
        return { approved: true, authCode: 'A1', last4: request.card.last4() };
      },
    };
    const backend: BackendPort = {
      async query(_name, _operation, params) {
        queried.push(params);
        return { rows: [] };
      },
    };
    // Module scope in a real flow file: shared by every call the flow serves.
    let stashed: Secret | null = null;
    let callB: SimulationResult | null = null;
    const flowB = defineFlow(async (call) => {
      await misuse(call, stashed!);
    }, agent);
    const flowA = defineFlow(async (call) => {
      const card = await call.gatherSecret({ prompt: 'card', kind: 'pan', min: 13, max: 19 });
      if (!card.ok) return;
      stashed = card.secret;
      // Call B runs while call A still holds its cell (A's secret is live, not wiped).
      callB = await simulate(flowB, { caller: '', pool, backend, payment });
    });
    try {
      const callA = await simulate(flowA, { caller: '4111111111111111#', pool });
      const b = callB as SimulationResult | null;
      assert.ok(b, 'call B ran');
      assert.deepEqual(b.outcome, { status: 'transferred', fallback: true, error: 'TRACELESS_CROSS_CELL' });
      assert.deepEqual(b.played, [['en-US/error.apology'], ['en-US/agent.transfer']], "no digit of A's card is spoken in B");
      assert.deepEqual(charged, []);
      assert.deepEqual(queried, []);
      assert.equal(callA.wipe.verified, true);
      assert.equal(pool.stats.free, 2, 'both cells went back to the pool');
    } finally {
      pool.shutdown();
    }
  });
}
