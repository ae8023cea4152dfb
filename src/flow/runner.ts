// Runs one flow for one call and always reports how it ended, so the server wipes the
// cell on every path. A thrown error or a backend failure never leaves dead air: the
// caller hears the apology (or "temporarily unavailable") and is sent to an agent or hung up.
import { CallContext, DEFAULT_SETTINGS, type FlowObserver, type FlowSettings } from './call-context.ts';
import type { Flow } from './define-flow.ts';
import type { FlowPorts } from './ports.ts';
import { BackendUnavailableError, FlowEnd } from './errors.ts';

export type FlowStatus = 'completed' | 'transferred' | 'abandoned' | 'failed';

export interface FlowOutcome {
  status: FlowStatus;
  /** The fallback ran (an error or a backend failure ended the flow). */
  fallback: boolean;
  /** Coded error name when the flow failed; never a message that could carry input. */
  error?: string;
}

export function resolveSettings(flow: Flow, overrides: Partial<FlowSettings> = {}): FlowSettings {
  return { ...DEFAULT_SETTINGS, ...flow.settings, ...overrides };
}

function statusOf(signal: FlowEnd): FlowStatus {
  if (signal.how === 'transferred') return 'transferred';
  if (signal.how === 'callerHungUp') return 'abandoned';
  return 'completed';
}

function errorCode(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string') return error.code;
  return error instanceof Error ? error.name : 'unknown';
}

export async function runFlow(
  flow: Flow,
  ports: FlowPorts,
  overrides: Partial<FlowSettings> = {},
  observe?: FlowObserver,
): Promise<FlowOutcome> {
  const settings = resolveSettings(flow, overrides);
  const call = new CallContext(ports, settings, observe);
  try {
    await flow.run(call);
    // A flow that simply returns has finished with the caller; hangup() ends it via FlowEnd.
    return await call.hangup();
  } catch (error) {
    if (error instanceof FlowEnd) return { status: statusOf(error), fallback: false };
    const code = errorCode(error);
    ports.logger.error({ code }, 'flow failed');
    return { ...(await runFallback(call, settings, error)), error: code };
  } finally {
    call.close();
  }
}

async function runFallback(call: CallContext, settings: FlowSettings, error: unknown): Promise<FlowOutcome> {
  const prompt = error instanceof BackendUnavailableError ? settings.fallback.unavailablePrompt : settings.fallback.apologyPrompt;
  try {
    if (!call.ended) await call.say(prompt, { id: 'fallback', agentKey: false, repeatKey: false });
    if (settings.fallback.then === 'agent') await call.toAgent({ reason: 'error' }, { id: 'fallback' });
    await call.hangup({ id: 'fallback' });
  } catch (signal) {
    if (signal instanceof FlowEnd) {
      return { status: signal.how === 'callerHungUp' ? 'abandoned' : signal.how === 'transferred' ? 'transferred' : 'failed', fallback: true };
    }
    // The fallback itself failed (a missing prompt, a broken port): hang up as the last resort.
    await call.hangup().catch(() => {});
  }
  return { status: 'failed', fallback: true };
}
