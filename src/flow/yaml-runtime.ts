// Runs a checked YAML flow on the same call API as TypeScript flows: each step maps to
// one call method, values live in the cell's call-scoped store.
import type { Call, GatherOptions, Prompt, SayPart } from './call-context.ts';
import { defineFlow, type Flow } from './define-flow.ts';
import type { FlowSettings } from './call-context.ts';
import { INTERPOLATION, REFERENCE, type Condition, type Expr, type FlowStep } from './flow-schema.ts';
import type { ParsedYamlFlow } from './yaml-loader.ts';
import type { CallValue } from './ports.ts';
import type { Secret } from '../vault/types.ts';
import { isSecret, SecretLeakError, assertNoSecret } from './secret-guard.ts';
import { isFlowEnd, FlowUsageError } from './errors.ts';
import type { Language } from './say-as.ts';

export class StepFailedError extends Error {
  readonly code = 'FLOW_STEP_FAILED';
  constructor(step: string, reason: string) {
    super(`step ${step} failed: ${reason}`);
    this.name = 'StepFailedError';
  }
}

/** Most steps one call may run; a goto loop without input would otherwise spin forever. */
const MAX_STEPS = 10_000;

class Scope {
  constructor(private readonly call: Call) {}

  get(name: string): CallValue | undefined {
    return this.call.values.get(name);
  }

  /** A reference yields the value itself (a Secret stays a handle); a template yields text. */
  resolve(value: Expr): CallValue {
    if (typeof value !== 'string') return value;
    const ref = REFERENCE.exec(value);
    if (ref) return this.get(ref[1]!) ?? null;
    return this.text(value);
  }

  text(template: string): string {
    return template.replace(INTERPOLATION, (_, name: string) => {
      const value = this.get(name);
      if (isSecret(value)) throw new SecretLeakError('text');
      return value === undefined || value === null ? '' : String(value);
    });
  }

  secret(reference: string): Secret {
    const value = this.resolve(reference);
    if (!isSecret(value)) throw new FlowUsageError(`${reference} does not hold a secret`);
    return value;
  }

  number(value: Expr): number {
    const resolved = this.resolve(value);
    if (isSecret(resolved)) throw new SecretLeakError('a number');
    const number = Number(resolved);
    if (!Number.isFinite(number)) throw new FlowUsageError('expected a number');
    return number;
  }

  plain(value: Expr): string {
    const resolved = this.resolve(value);
    assertNoSecret(resolved, 'text');
    return resolved === null ? '' : String(resolved);
  }

  /** A log field keeps numbers and booleans; anything else becomes text. */
  field(value: Expr): string | number | boolean {
    const resolved = this.resolve(value);
    assertNoSecret(resolved, 'a log line');
    return typeof resolved === 'number' || typeof resolved === 'boolean' ? resolved : resolved === null ? '' : String(resolved);
  }

  prompt(spec: string | ReadonlyArray<Record<string, unknown>>): Prompt {
    if (typeof spec === 'string') return this.text(spec);
    return spec.map((part): SayPart => {
      if ('last4' in part) return { last4: this.secret(part.last4 as string) };
      if ('spell' in part) return { spell: this.secret(part.spell as string) };
      if ('prompt' in part) return { prompt: this.text(part.prompt as string), ...(part.lang ? { lang: part.lang as Language } : {}) };
      if ('digits' in part) return { digits: this.plain(part.digits as Expr) };
      if ('characters' in part) return { characters: this.plain(part.characters as Expr) };
      if ('number' in part) return { number: this.number(part.number as Expr) };
      if ('currency' in part) return { currency: this.number(part.currency as Expr) };
      if ('date' in part) return { date: this.plain(part.date as Expr) };
      if ('ordinal' in part) return { ordinal: this.number(part.ordinal as Expr) };
      if ('file' in part) return { file: this.text(part.file as string) };
      return { silenceMs: part.silenceMs as number };
    });
  }

  condition(cond: Condition): boolean {
    if ('and' in cond) return cond.and.every((item) => this.condition(item));
    if ('or' in cond) return cond.or.some((item) => this.condition(item));
    if ('not' in cond) return !this.condition(cond.not);
    if ('luhn' in cond) return this.secret(cond.luhn).luhnValid();
    if ('expiryValid' in cond) return this.secret(cond.expiryValid).expiryValid(new Date());
    if ('empty' in cond) {
      const value = this.resolve(cond.empty);
      return isSecret(value) ? value.length() === 0 : value === null || value === '' || value === 0;
    }
    const [op, [left, right]] = Object.entries(cond)[0] as [string, [Expr, Expr]];
    const a = this.resolve(left);
    const b = this.resolve(right);
    if (isSecret(a) || isSecret(b)) {
      if (!isSecret(a) || !isSecret(b) || (op !== 'eq' && op !== 'ne')) {
        throw new FlowUsageError('a secret can only be compared for equality with another secret');
      }
      return op === 'eq' ? a.equals(b) : !a.equals(b);
    }
    if (op === 'eq') return String(a) === String(b);
    if (op === 'ne') return String(a) !== String(b);
    const x = Number(a);
    const y = Number(b);
    if (op === 'lt') return x < y;
    if (op === 'le') return x <= y;
    if (op === 'gt') return x > y;
    return x >= y;
  }
}

function entryOptions(scope: Scope, step: FlowStep, body: FlowStep<'gather'>['body']): GatherOptions {
  const options: GatherOptions = {};
  if (body.prompt !== undefined) options.prompt = scope.prompt(body.prompt);
  if (body.invalidPrompt !== undefined) options.invalidPrompt = scope.prompt(body.invalidPrompt);
  if (body.timeoutPrompt !== undefined) options.timeoutPrompt = scope.prompt(body.timeoutPrompt);
  for (const key of ['min', 'max', 'firstDigitTimeout', 'interDigitTimeout', 'totalTimeout', 'retries', 'bargeIn', 'terminator'] as const) {
    if (body[key] !== undefined) (options as Record<string, unknown>)[key] = body[key];
  }
  if (step.agentKey !== undefined) options.agentKey = step.agentKey;
  if (step.repeatKey !== undefined) options.repeatKey = step.repeatKey;
  if (step.id !== undefined) options.id = step.id;
  return options;
}

function digitsValidator(name: 'luhn' | 'expiry' | 'digits' | undefined): ((digits: string) => boolean) | undefined {
  if (name === undefined) return undefined;
  if (name === 'digits') return (digits) => /^\d*$/.test(digits);
  if (name === 'expiry') {
    return (digits) => {
      const month = Number(digits.slice(0, 2));
      return digits.length === 4 && month >= 1 && month <= 12;
    };
  }
  return (digits) => {
    let sum = 0;
    for (let i = 0; i < digits.length; i++) {
      let digit = Number(digits[digits.length - 1 - i]);
      if (i % 2 === 1) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
      sum += digit;
    }
    return digits.length > 1 && sum % 10 === 0;
  };
}

function secretValidator(name: 'luhn' | 'expiry' | 'digits' | undefined): ((secret: Secret) => boolean) | undefined {
  if (name === undefined) return undefined;
  if (name === 'luhn') return (secret) => secret.luhnValid();
  if (name === 'expiry') return (secret) => secret.expiryValid(new Date());
  return (secret) => secret.isAllDigits();
}

export function compileYamlFlow(parsed: ParsedYamlFlow): Flow {
  const { header, steps } = parsed;
  const indexOf = new Map(steps.flatMap((step, i) => (step.id ? [[step.id, i] as const] : [])));
  const jump = (id: string): number => indexOf.get(id)!;
  const settings: Partial<FlowSettings> = {};
  if (header.language) settings.language = header.language;
  if (header.agent) settings.agentTarget = header.agent;
  const keyCode = (key: string | null): number | null => (key === null ? null : key === '*' ? 10 : key === '#' ? 11 : Number(key));
  if (header.agentKey !== undefined) settings.agentKey = keyCode(header.agentKey);
  if (header.repeatKey !== undefined) settings.repeatKey = keyCode(header.repeatKey);
  if (header.fallback) settings.fallback = { apologyPrompt: 'error.apology', unavailablePrompt: 'error.unavailable', then: header.fallback.then };

  /** Runs one step; returns the index of the next one. */
  async function run(call: Call, scope: Scope, step: FlowStep, at: number): Promise<number> {
    const name = step.id ?? `#${step.index + 1}`;
    // The step's id goes with every event it causes, so the call record lists it.
    const stepId = step.id !== undefined ? { id: step.id } : {};
    const keys = {
      ...stepId,
      ...(step.agentKey !== undefined ? { agentKey: step.agentKey } : {}),
      ...(step.repeatKey !== undefined ? { repeatKey: step.repeatKey } : {}),
    };
    const failed = (onFail: string | undefined, reason: string): number => {
      if (onFail) return jump(onFail);
      throw new StepFailedError(name, reason);
    };
    switch (step.action) {
      case 'say':
        await call.say(scope.prompt((step as FlowStep<'say'>).body), keys);
        return at + 1;
      case 'play':
        await call.play(scope.text((step as FlowStep<'play'>).body), keys);
        return at + 1;
      case 'gather': {
        const body = (step as FlowStep<'gather'>).body;
        const validate = digitsValidator(body.validate);
        const result = await call.gather({ ...entryOptions(scope, step, body), ...(validate ? { validate } : {}) });
        if (!result.ok) return failed(body.onFail, result.reason);
        call.values.set(body.into, result.digits);
        return at + 1;
      }
      case 'gatherSecret': {
        const body = (step as FlowStep<'gatherSecret'>).body;
        const validate = secretValidator(body.validate);
        // The loader refuses agentKey/repeatKey on a secure entry: its keys go to the secure store.
        const options = entryOptions(scope, step, body);
        const result = await call.gatherSecret({ ...options, kind: body.kind, ...(validate ? { validate } : {}) });
        if (!result.ok) return failed(body.onFail, result.reason);
        call.values.set(body.into, result.secret);
        return at + 1;
      }
      case 'menu': {
        const body = (step as FlowStep<'menu'>).body;
        const options = Object.fromEntries(Object.keys(body.options).map((key) => [key, key]));
        const choice = await call.menu({
          prompt: scope.prompt(body.prompt),
          options,
          ...(body.invalidPrompt !== undefined ? { invalidPrompt: scope.prompt(body.invalidPrompt) } : {}),
          ...(body.timeoutPrompt !== undefined ? { timeoutPrompt: scope.prompt(body.timeoutPrompt) } : {}),
          ...(body.retries !== undefined ? { retries: body.retries } : {}),
          ...(body.timeout !== undefined ? { timeout: body.timeout } : {}),
          ...(body.bargeIn !== undefined ? { bargeIn: body.bargeIn } : {}),
          ...keys,
        });
        if (choice === null) return failed(body.onFail, 'noInput');
        if (body.into) call.values.set(body.into, choice);
        return jump((body.options as Record<string, string>)[choice]!);
      }
      case 'backend': {
        const body = (step as FlowStep<'backend'>).body;
        const params: Record<string, string | number | Secret> = {};
        for (const [key, value] of Object.entries(body.params ?? {})) {
          const resolved = scope.resolve(value);
          params[key] = isSecret(resolved) || typeof resolved === 'number' ? resolved : resolved === null ? '' : String(resolved);
        }
        let rows;
        try {
          ({ rows } = await call.backend(body.name, stepId).query(body.operation, params));
        } catch (error) {
          if (isFlowEnd(error) || !body.onError) throw error;
          return jump(body.onError);
        }
        call.values.set(`${body.into}.count`, rows.length);
        rows.forEach((row, i) => {
          for (const [column, value] of Object.entries(row)) {
            call.values.set(`${body.into}.${i}.${column}`, value);
            if (i === 0) call.values.set(`${body.into}.${column}`, value);
          }
        });
        return at + 1;
      }
      case 'pay': {
        const body = (step as FlowStep<'pay'>).body;
        const result = await call.pay({
          amountCents: scope.number(body.amount),
          card: scope.secret(body.card),
          expiry: scope.secret(body.expiry),
          cvv: scope.secret(body.cvv),
          zip: scope.secret(body.zip),
          ...stepId,
        });
        call.values.set(`${body.into}.approved`, result.approved);
        call.values.set(`${body.into}.authCode`, result.approved ? result.authCode : null);
        call.values.set(`${body.into}.last4`, result.approved ? result.last4 : null);
        call.values.set(`${body.into}.reason`, result.approved ? null : result.reason);
        return at + 1;
      }
      case 'transfer': {
        const body = (step as FlowStep<'transfer'>).body;
        const context = Object.fromEntries(Object.entries(body.context ?? {}).map(([key, value]) => [key, scope.plain(value)]));
        if (body.target === 'agent') return call.toAgent(context, stepId);
        return call.transfer(scope.text(body.target), context, stepId);
      }
      case 'hangup':
        return call.hangup(stepId);
      case 'goto':
        return jump((step as FlowStep<'goto'>).body);
      case 'branch': {
        const body = (step as FlowStep<'branch'>).body;
        for (const item of body.cases) if (scope.condition(item.if)) return jump(item.goto);
        return body.else ? jump(body.else) : at + 1;
      }
      case 'set':
        for (const [key, value] of Object.entries((step as FlowStep<'set'>).body)) call.values.set(key, scope.resolve(value));
        return at + 1;
      case 'language':
        call.setLanguage(scope.plain((step as FlowStep<'language'>).body) as Language, stepId);
        return at + 1;
      case 'log': {
        const body = (step as FlowStep<'log'>).body;
        const fields = Object.fromEntries(Object.entries(body.fields ?? {}).map(([key, value]) => [key, scope.field(value)]));
        call.log(body.event, fields, stepId);
        return at + 1;
      }
      case 'webhook': {
        const body = (step as FlowStep<'webhook'>).body;
        const payload = Object.fromEntries(Object.entries(body.body).map(([key, value]) => [key, scope.plain(value)]));
        await call.backend(body.backend, stepId).query(`webhook.${body.event}`, payload);
        return at + 1;
      }
    }
  }

  return defineFlow(
    async (call) => {
      const scope = new Scope(call);
      let at = 0;
      for (let count = 0; at < steps.length; count++) {
        if (count >= MAX_STEPS) throw new StepFailedError('flow', 'too many steps without an end');
        at = await run(call, scope, steps[at]!, at);
      }
    },
    { name: header.name, ...settings },
  );
}
