// The YAML flow language: one zod schema per step action, shared by the loader (which
// validates each step against its action's schema so errors point at the right node)
// and by the published JSON Schema (schemas/flow.schema.json, generated from flowSchema).
//
// Values ("expressions"): numbers, booleans, null, or strings. A string that is exactly
// `$name` or `$name.field` is a reference to a call value; any other string is a template
// in which `${name.field}` is replaced by the value's text. Secrets can be referenced but
// never interpolated (the static check rejects it at load time).
import { z } from 'zod';

export const REFERENCE = /^\$([A-Za-z_][\w]*(?:\.[\w]+)*)$/;
export const INTERPOLATION = /\$\{([A-Za-z_][\w]*(?:\.[\w]+)*)\}/g;

const stepId = z.string().regex(/^[A-Za-z][\w.-]{0,63}$/, 'a step id is letters, digits, _ . and - (at most 64, starting with a letter)');
const varName = z.string().regex(/^[A-Za-z_][\w]*$/, 'a variable name is letters, digits and _');
const reference = z.string().regex(REFERENCE, 'expected a reference like $name or $name.field');
const expr = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const language = z.enum(['en-US', 'es-US']);
const ms = z.number().int().min(0).max(600_000);
const dtmfKey = z.enum(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#']);

const sayPart = z.union([
  z.strictObject({ prompt: z.string().min(1), lang: language.optional() }),
  z.strictObject({ digits: expr }),
  z.strictObject({ characters: expr }),
  z.strictObject({ number: expr }),
  z.strictObject({ currency: expr }),
  z.strictObject({ date: expr }),
  z.strictObject({ ordinal: expr }),
  z.strictObject({ file: z.string().min(1) }),
  z.strictObject({ silenceMs: ms }),
  z.strictObject({ last4: reference }).describe('masked read-back: last four digits of a card or account number'),
  z.strictObject({ spell: reference }).describe('digit-by-digit read-back of a secret (never a card number or CVV)'),
]);
export const promptSpec = z.union([z.string().min(1), z.array(sayPart).min(1)]);

const entryCommon = {
  prompt: promptSpec.optional(),
  min: z.number().int().min(0).max(64).optional(),
  max: z.number().int().min(1).max(64).optional(),
  terminator: z.union([z.enum(['#', '*']), z.null()]).optional(),
  firstDigitTimeout: ms.optional(),
  interDigitTimeout: ms.optional(),
  totalTimeout: ms.optional(),
  bargeIn: z.boolean().optional(),
  retries: z.number().int().min(0).max(10).optional(),
  invalidPrompt: promptSpec.optional(),
  timeoutPrompt: promptSpec.optional(),
  into: varName,
  /** Step to go to when every attempt failed; without it the flow's fallback runs. */
  onFail: stepId.optional(),
};

export const validatorName = z.enum(['luhn', 'expiry', 'digits']);

const condition: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    z.strictObject({ eq: z.tuple([expr, expr]) }),
    z.strictObject({ ne: z.tuple([expr, expr]) }),
    z.strictObject({ lt: z.tuple([expr, expr]) }),
    z.strictObject({ le: z.tuple([expr, expr]) }),
    z.strictObject({ gt: z.tuple([expr, expr]) }),
    z.strictObject({ ge: z.tuple([expr, expr]) }),
    z.strictObject({ empty: expr }),
    z.strictObject({ luhn: reference }),
    z.strictObject({ expiryValid: reference }),
    z.strictObject({ and: z.array(condition).min(1) }),
    z.strictObject({ or: z.array(condition).min(1) }),
    z.strictObject({ not: condition }),
  ]),
);

export type Expr = string | number | boolean | null;
export type Condition =
  | { eq: [Expr, Expr] }
  | { ne: [Expr, Expr] }
  | { lt: [Expr, Expr] }
  | { le: [Expr, Expr] }
  | { gt: [Expr, Expr] }
  | { ge: [Expr, Expr] }
  | { empty: Expr }
  | { luhn: string }
  | { expiryValid: string }
  | { and: Condition[] }
  | { or: Condition[] }
  | { not: Condition };

/** One schema per action; a step is `{ id?, <action>: <body>, agentKey?, repeatKey? }`. */
export const actionSchemas = {
  say: promptSpec,
  play: z.string().min(1),
  gather: z.strictObject({ ...entryCommon, validate: validatorName.optional() }),
  gatherSecret: z.strictObject({
    ...entryCommon,
    kind: z.enum(['pan', 'expiry', 'cvv', 'pin', 'account', 'zip', 'digits']),
    validate: validatorName.optional(),
  }),
  menu: z.strictObject({
    prompt: promptSpec,
    options: z.partialRecord(dtmfKey, stepId),
    into: varName.optional(),
    retries: z.number().int().min(0).max(10).optional(),
    invalidPrompt: promptSpec.optional(),
    timeoutPrompt: promptSpec.optional(),
    timeout: ms.optional(),
    bargeIn: z.boolean().optional(),
    onFail: stepId.optional(),
  }),
  backend: z.strictObject({
    name: z.string().min(1),
    operation: z.string().min(1),
    params: z.record(z.string(), expr).optional(),
    into: varName,
    /** Result columns that come back as secrets (kept in the arena). */
    sensitive: z.array(z.string()).optional(),
    /** Step to go to when the backend fails; without it the flow's fallback runs. */
    onError: stepId.optional(),
  }),
  pay: z.strictObject({
    amount: expr,
    card: reference,
    expiry: reference,
    cvv: reference,
    zip: reference,
    into: varName,
  }),
  transfer: z.strictObject({
    /** A SIP URI, or `agent` for the flow's configured agent. */
    target: z.string().min(1),
    context: z.record(z.string(), expr).optional(),
  }),
  hangup: z.union([z.literal(true), z.null()]),
  goto: stepId,
  branch: z.strictObject({
    cases: z.array(z.strictObject({ if: condition, goto: stepId })).min(1),
    else: stepId.optional(),
  }),
  set: z.record(varName, expr),
  language: z.union([language, reference]),
  log: z.strictObject({ event: z.string().min(1), fields: z.record(z.string(), expr).optional() }),
  webhook: z.strictObject({ backend: z.string().min(1), event: z.string().min(1), body: z.record(z.string(), expr) }),
} as const;

export type ActionName = keyof typeof actionSchemas;
export const ACTION_NAMES = Object.keys(actionSchemas) as ActionName[];

/** Keys a step may carry besides its action. */
export const stepExtras = {
  id: stepId.optional(),
  agentKey: z.boolean().optional(),
  repeatKey: z.boolean().optional(),
};

/** Actions that take no flow-wide key switches: a secure entry's keys all go to the secure store. */
export const NO_FLOW_KEYS: ReadonlySet<ActionName> = new Set(['gatherSecret']);

/** The extras one action accepts. */
export function extrasFor(action: ActionName): Partial<typeof stepExtras> {
  return NO_FLOW_KEYS.has(action) ? { id: stepExtras.id } : stepExtras;
}

export const flowHeaderSchema = z.strictObject({
  $schema: z.string().optional(),
  name: z.string().min(1),
  language: language.optional(),
  agent: z.string().min(1).optional(),
  agentKey: z.union([dtmfKey, z.null()]).optional(),
  repeatKey: z.union([dtmfKey, z.null()]).optional(),
  fallback: z.strictObject({ then: z.enum(['agent', 'hangup']) }).optional(),
  steps: z.array(z.record(z.string(), z.unknown())).min(1),
});

/** The whole file, as editors see it (JSON Schema source). */
export const flowSchema = flowHeaderSchema.extend({
  steps: z
    .array(z.union(ACTION_NAMES.map((name) => z.strictObject({ ...extrasFor(name), [name]: actionSchemas[name] }))))
    .min(1),
});

export type FlowHeader = z.infer<typeof flowHeaderSchema>;
export type Actions = { [K in ActionName]: z.infer<(typeof actionSchemas)[K]> };

export interface FlowStep<K extends ActionName = ActionName> {
  id?: string;
  agentKey?: boolean;
  repeatKey?: boolean;
  action: K;
  body: Actions[K];
  /** Index in the steps list; the loader keeps it for error locations. */
  index: number;
}

/** The JSON Schema published at schemas/flow.schema.json. */
export function flowJsonSchema(): unknown {
  return z.toJSONSchema(flowSchema, { target: 'draft-2020-12', io: 'input' });
}
