// The fixed log vocabulary: every event the IVR may write, its level, and the allowlist
// of fields it may carry, each with a kind that bounds what its value can be. Compiled
// once at load into per-event validators (the pino habit: decide the shape up front,
// pay nothing to rediscover it per line). Fields not listed are dropped and counted.
//
// Key presses never appear: gathers log counts and outcomes, menus the option's name.
import type { MaskedCaller } from './caller-mask.ts';
import { isMaskedCaller } from './caller-mask.ts';
import { isSecretLike, SECRET_TEXT } from './secret-like.ts';
import { redactSipMessage, redactSipMessageText } from './sip-redact.ts';

export type EventLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** What a field's value may be. `optional` fields may be left out by the caller. */
export type FieldSpec = (
  | { readonly kind: 'id' }
  | { readonly kind: 'enum'; readonly values: readonly string[] }
  | { readonly kind: 'count' }
  | { readonly kind: 'ms' }
  | { readonly kind: 'bool' }
  | { readonly kind: 'text'; readonly max: number }
  | { readonly kind: 'dialled' }
  | { readonly kind: 'caller' }
  | { readonly kind: 'sip' }
) & { readonly optional?: true };

interface EventSpec {
  readonly level: EventLevel;
  readonly fields: Readonly<Record<string, FieldSpec>>;
}

/**
 * A short token of our own making: call ids, step ids, option and backend names. It must
 * start with a letter, so a key press can never pass as a menu option ("1") or an id.
 */
const id = { kind: 'id' } as const;
const count = { kind: 'count' } as const;
const ms = { kind: 'ms' } as const;
const bool = { kind: 'bool' } as const;
const oneOf = <const V extends readonly string[]>(...values: V) => ({ kind: 'enum', values }) as const;
const text = (max: number) => ({ kind: 'text', max }) as const;
const optional = <F extends FieldSpec>(spec: F) => ({ ...spec, optional: true }) as const;

export const CALL_OUTCOMES = ['completed', 'transferred', 'abandoned', 'failed', 'rejected'] as const;
/**
 * How a dialled number that is not one of the configured numbers is logged and recorded: the
 * Request-URI user part is whatever the caller sent (a card number, a probe), never ours to write.
 */
export const UNLISTED_DIALLED = 'other';
export type CallOutcome = (typeof CALL_OUTCOMES)[number];
const transport = oneOf('udp', 'tcp', 'tls');

export const EVENTS = {
  'call.start': {
    level: 'info',
    fields: { callId: id, dialled: { kind: 'dialled' }, caller: { kind: 'caller' }, app: optional(id), transport: optional(transport) },
  },
  'call.answer': { level: 'info', fields: { callId: id, setupMs: optional(ms) } },
  'flow.step': { level: 'info', fields: { callId: id, step: id, kind: optional(id) } },
  'gather.done': {
    level: 'info',
    fields: {
      callId: id,
      step: id,
      secure: bool,
      outcome: oneOf('terminator', 'max', 'complete', 'timeout', 'invalid', 'agent'),
      keys: count,
    },
  },
  'menu.choice': {
    level: 'info',
    fields: { callId: id, step: id, outcome: oneOf('chosen', 'invalid', 'timeout', 'agent') },
  },
  'backend.query': {
    level: 'info',
    fields: {
      callId: optional(id),
      backend: id,
      operation: optional(id),
      outcome: oneOf('ok', 'timeout', 'error'),
      latencyMs: ms,
      rows: optional(count),
    },
  },
  'payment.result': {
    level: 'info',
    fields: { callId: id, gateway: id, result: oneOf('approved', 'declined', 'rejected', 'error'), latencyMs: ms },
  },
  transfer: { level: 'info', fields: { callId: id, target: id, outcome: oneOf('accepted', 'failed'), latencyMs: optional(ms) } },
  'call.end': { level: 'info', fields: { callId: id, outcome: oneOf(...CALL_OUTCOMES), cause: id, durationMs: ms } },
  /** A request refused with a final failure; for an INVITE, callId names its call record. */
  'sip.reject': { level: 'info', fields: { callId: optional(id), method: id, status: count, reason: id, transport: optional(transport) } },
  'sip.trace': { level: 'trace', fields: { direction: oneOf('in', 'out'), transport, bytes: count, message: { kind: 'sip' } } },
  'media.inactive': { level: 'info', fields: { callId: id, silentMs: ms } },
  'cell.wipe': { level: 'info', fields: { callId: optional(id), cell: count, bytes: count, verified: bool, durationMs: ms } },
  'server.start': {
    level: 'info',
    fields: { version: text(40), cells: count, memlock: oneOf('locked', 'unlocked', 'unsupported'), sipListeners: optional(count), adminListener: optional(text(80)) },
  },
  /** The pool's last act at shutdown: every cell wiped again and read back, calls still in one ended. */
  'vault.shutdown': { level: 'info', fields: { callsEnded: count, cellsWiped: count, verified: bool } },
  'server.drain': { level: 'info', fields: { phase: oneOf('started', 'complete', 'timeout'), activeCalls: count, elapsedMs: optional(ms) } },
  'security.warning': { level: 'warn', fields: { code: id, detail: optional(text(200)) } },
} as const satisfies Record<string, EventSpec>;

export type EventName = keyof typeof EVENTS;

type ValueOf<F> = F extends { kind: 'enum'; values: readonly (infer V)[] }
  ? V
  : F extends { kind: 'count' | 'ms' }
    ? number
    : F extends { kind: 'bool' }
      ? boolean
      : F extends { kind: 'caller' }
        ? MaskedCaller
        : F extends { kind: 'sip' }
          ? Uint8Array | string
          : string;

type Spec<N extends EventName> = (typeof EVENTS)[N]['fields'];
type OptionalKeys<F> = { [K in keyof F]: F[K] extends { optional: true } ? K : never }[keyof F];

/** The fields an event accepts, typed from the vocabulary. */
export type EventFields<N extends EventName> = {
  -readonly [K in Exclude<keyof Spec<N>, OptionalKeys<Spec<N>>>]: ValueOf<Spec<N>[K]>;
} & {
  -readonly [K in OptionalKeys<Spec<N>>]?: ValueOf<Spec<N>[K]>;
};

/** Context a child logger may bind to every line it writes. */
export const CONTEXT_FIELDS = { callId: id, cell: count, component: id, backend: id } as const satisfies Record<string, FieldSpec>;
export type ContextBindings = { [K in keyof typeof CONTEXT_FIELDS]?: ValueOf<(typeof CONTEXT_FIELDS)[K]> };

/** Returned by a validator for a value outside its field's kind. */
const INVALID: unique symbol = Symbol('invalid');
type Validator = (value: unknown) => unknown;

const MAX_ID = 128;
const MAX_PHONE = 32;

function isIdChar(c: number): boolean {
  return (
    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ||
    c === 0x2d || c === 0x2e || c === 0x5f || c === 0x3a || c === 0x40 || c === 0x2f || c === 0x2b
  );
}

function allChars(value: string, test: (c: number) => boolean): boolean {
  for (let i = 0; i < value.length; i++) if (!test(value.charCodeAt(i))) return false;
  return true;
}

const isPhoneChar = (c: number): boolean => (c >= 0x30 && c <= 0x39) || c === 0x2b;

/** A short token of our own making (a letter, then letters, digits and . _ - : @ / +), as log fields and records require. */
export function isLogId(value: string): boolean {
  if (value.length === 0 || value.length > MAX_ID) return false;
  const first = value.charCodeAt(0) | 0x20; // ASCII lower case
  return first >= 0x61 && first <= 0x7a && allChars(value, isIdChar);
}

/** A telephone number as digits with an optional '+'. */
function isPhoneNumber(value: string): boolean {
  return value.length > 0 && value.length <= MAX_PHONE && allChars(value, isPhoneChar);
}

/** A dialled number as logs and records carry it: a configured number, or UNLISTED_DIALLED. */
export function isDialledLabel(value: string): boolean {
  return value === UNLISTED_DIALLED || isPhoneNumber(value);
}

function validatorFor(spec: FieldSpec): Validator {
  switch (spec.kind) {
    case 'id':
      return (v) => (typeof v === 'string' && isLogId(v) ? v : INVALID);
    case 'enum': {
      const allowed = new Set(spec.values);
      return (v) => (typeof v === 'string' && allowed.has(v) ? v : INVALID);
    }
    case 'count':
      return (v) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : INVALID);
    case 'ms':
      // Rounded to microseconds: long fractions would read as digit runs to the masker.
      return (v) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.round(v * 1000) / 1000 : INVALID);
    case 'bool':
      return (v) => (typeof v === 'boolean' ? v : INVALID);
    case 'text': {
      const max = spec.max;
      return (v) => (typeof v === 'string' ? (v.length > max ? `${v.slice(0, max)}…` : v) : INVALID);
    }
    case 'dialled':
      return (v) => (typeof v === 'string' && isDialledLabel(v) ? v : INVALID);
    case 'caller':
      return (v) => (typeof v === 'string' && isMaskedCaller(v) ? v : INVALID);
    case 'sip':
      // Raw bytes preferred: redactSipMessage never decodes the body.
      return (v) => (typeof v === 'string' ? redactSipMessageText(v) : v instanceof Uint8Array ? redactSipMessage(v) : INVALID);
  }
}

/** A field table compiled to validators; `apply` copies the allowed fields of one input. */
export interface CompiledFields {
  apply(input: object, output: Record<string, unknown>): { unknown: number; invalid: number };
}

export function compileFields(fields: Readonly<Record<string, FieldSpec>>): CompiledFields {
  const validators = new Map<string, Validator>(Object.entries(fields).map(([name, spec]) => [name, validatorFor(spec)]));
  return {
    apply(input, output) {
      let unknown = 0;
      let invalid = 0;
      for (const name of Object.keys(input)) {
        const validate = validators.get(name);
        if (validate === undefined) {
          unknown++;
          continue;
        }
        const value = (input as Record<string, unknown>)[name];
        if (value === undefined) continue;
        if (isSecretLike(value)) {
          output[name] = SECRET_TEXT;
          continue;
        }
        const accepted = validate(value);
        if (accepted === INVALID) invalid++;
        else output[name] = accepted;
      }
      return { unknown, invalid };
    },
  };
}

export interface CompiledEvent {
  readonly level: EventLevel;
  readonly fields: CompiledFields;
}

/** The whole vocabulary, compiled once when this module loads. */
export const COMPILED_EVENTS: ReadonlyMap<string, CompiledEvent> = new Map(
  Object.entries(EVENTS).map(([name, spec]) => [name, { level: spec.level, fields: compileFields(spec.fields) }]),
);

export const COMPILED_CONTEXT: CompiledFields = compileFields(CONTEXT_FIELDS);
