// Runtime half of the secret rule (the type half is the Secret brand): a Secret, or text
// that a Secret was interpolated into, must never reach a sink that speaks, logs or
// forwards it (say, transfer context, log fields, webhooks, prompt ids).
import type { Secret } from '../vault/types.ts';

/** What a Secret turns into in a template literal or String(); its presence means a leak attempt. */
const SECRET_TEXT = '[secret]';

export class SecretLeakError extends Error {
  readonly code = 'FLOW_SECRET_LEAK';
  constructor(sink: string) {
    super(`a secret value may not reach ${sink}`);
    this.name = 'SecretLeakError';
  }
}

/** A vault Secret (or a test double with the same shape). Checked by shape, never by reading it. */
export function isSecret(value: unknown): value is Secret {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return typeof candidate.spell === 'function' && typeof candidate.last4 === 'function' && typeof candidate.writeTo === 'function';
}

/** Throws SecretLeakError when value is a Secret, holds one, or is text a Secret was interpolated into. */
export function assertNoSecret(value: unknown, sink: string, depth = 0): void {
  if (isSecret(value)) throw new SecretLeakError(sink);
  if (typeof value === 'string') {
    if (value.includes(SECRET_TEXT)) throw new SecretLeakError(sink);
    return;
  }
  if (typeof value !== 'object' || value === null || depth > 8) return;
  for (const item of Object.values(value)) assertNoSecret(item, sink, depth + 1);
}
