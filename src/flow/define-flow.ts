// The TypeScript way in: `export default defineFlow(async (call) => { ... })`.
import type { Call, FlowSettings } from './call-context.ts';

export interface Flow {
  readonly kind: 'traceless.flow';
  readonly name: string;
  /** Per-flow settings (agent target, languages, fallback, timeouts) over the server's defaults. */
  readonly settings: Partial<FlowSettings>;
  run(call: Call): Promise<void>;
}

export interface DefineFlowOptions extends Partial<FlowSettings> {
  name?: string;
}

export function defineFlow(body: (call: Call) => Promise<void>, options: DefineFlowOptions = {}): Flow {
  const { name = 'flow', ...settings } = options;
  return { kind: 'traceless.flow', name, settings, run: body };
}

export function isFlow(value: unknown): value is Flow {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'traceless.flow';
}
