// Type-level half of the secret rule, compiled (not run) by `npm run check`: the check
// fails if any expect-error line below starts compiling, i.e. if a Secret could reach a
// string sink.
import type { Call } from '../../src/flow/call-context.ts';
import type { Secret } from '../../src/vault/types.ts';

export function sinks(call: Call, secret: Secret): Array<() => unknown> {
  return [
    // @ts-expect-error a Secret is not a prompt id
    () => call.say(secret),
    // @ts-expect-error a Secret is not digits to speak
    () => call.sayDigits(secret),
    // @ts-expect-error a Secret is not a transfer context value
    () => call.transfer('sip:agent@example.test', { card: secret }),
    // @ts-expect-error a Secret is not a log field
    () => call.log('event', { card: secret }),
    // @ts-expect-error a Secret is not a digits part
    () => call.say([{ digits: secret }]),
    // Allowed: masked read-back.
    () => call.say([{ last4: secret }]),
  ];
}

