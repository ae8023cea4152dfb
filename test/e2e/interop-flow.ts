// The flow the interop tests run on the real server. Its outcome proves exactly-once keys without
// any key value reaching a log: the call record says `completed` only when every entry was keyed
// exactly as expected (a lost, doubled or wrong key fails the comparison) AND no further key
// arrived in the quiet window after the last one (a late duplicate from a second path would).
// Anything else throws, and the runner ends the call as `failed` (its `flow failed` line carries
// the error's code). The goodbye is played in full with silence after it, so a peer recording
// the call hears all of it before our BYE.
import { defineFlow, type Flow } from '../../src/flow/define-flow.ts';

/** How long the flow listens for a stray key after the last entry (flow time, not a test sleep). */
const QUIET_WINDOW_MS = 1500;

class InteropFlowError extends Error {
  constructor(readonly code: 'keys-mismatch' | 'keys-extra') {
    super(code);
    this.name = 'InteropFlowError';
  }
}

/**
 * One gather per entry; an entry is its digits followed by its terminator, e.g. `2580#` or `55*`.
 * The flow-wide agent (0) and repeat (*) keys are off, so both are plain keys here.
 */
export function keysFlow(entries: readonly string[]): Flow {
  return defineFlow(
    async (call) => {
      for (const entry of entries) {
        const terminator = entry.slice(-1) as '#' | '*';
        const result = await call.gather({
          prompt: 'parking.citation_enter',
          min: 1,
          max: 32,
          terminator,
          firstDigitTimeout: 20_000,
          interDigitTimeout: 5_000,
          retries: 0,
        });
        if (!result.ok || result.digits !== entry.slice(0, -1)) throw new InteropFlowError('keys-mismatch');
      }
      const extra = await call.gather({ min: 1, max: 1, terminator: null, firstDigitTimeout: QUIET_WINDOW_MS, retries: 0 });
      if (extra.ok) throw new InteropFlowError('keys-extra');
      await call.say([{ prompt: 'goodbye' }, { silenceMs: 500 }]);
    },
    {
      name: 'interop-keys',
      agentKey: null,
      repeatKey: null,
      fallback: { apologyPrompt: 'error.apology', unavailablePrompt: 'error.unavailable', then: 'hangup' },
    },
  );
}
