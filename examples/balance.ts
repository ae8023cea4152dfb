// examples/balance.ts (in this repository; adjust the path to src/flow from where you are)
import { defineFlow } from '../src/flow/define-flow.ts';

export default defineFlow(
  async (call) => {
    await call.say('greeting');
    const account = await call.gather({ prompt: 'account.enter', min: 4, max: 8 }); // then #
    if (!account.ok) return call.toAgent();

    // A PIN is sensitive: its keys go straight into locked memory; you get a Secret.
    const pin = await call.gatherSecret({ prompt: 'pin.enter', kind: 'pin', min: 4, max: 4 });
    if (!pin.ok) return call.toAgent();

    const { rows } = await call.backend('bank').query('balance', { account: account.digits, pin: pin.secret });
    if (rows.length === 0) return call.toAgent({ reason: 'not-found' });
    await call.say([{ prompt: 'balance.is' }, { currency: Number(rows[0]!.balance_cents) }]);
  },
  { name: 'balance', agentTarget: 'sip:agents@example.com' },
);
