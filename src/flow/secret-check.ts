// Static checks over a validated YAML flow: every step reference exists, every variable
// is assigned somewhere, and — the secret check — no secret can reach a sink other than
// the allowed ones:
//   allowed: backend params (as a plain reference), payment fields, branch conditions
//            (comparisons and validators), `set` aliases (the copy stays secret), and the
//            masked read-back parts `last4` / `spell` of a say or prompt (as the vault
//            allows them: last4 only for a card or account number, spell never for a card
//            number or CVV).
//   rejected: prompt ids and other say parts, play, log, webhook body, transfer target
//            and context, language, interpolation into any text (even in allowed sinks,
//            since interpolating turns the secret into a string).
// The analysis is flow-insensitive: a variable is secret if ANY step can make it secret.
//
// The keyed-digits check (issue 8: key presses are logged as counts and outcomes, never
// digits — for plain gathers too): a variable a plain `gather` fills, or a `set` copies or
// interpolates from one, may not reach a `log` step. Menu choices may be logged.
import { INTERPOLATION, REFERENCE, type Expr, type FlowStep } from './flow-schema.ts';
import type { SecretKind } from '../vault/types.ts';

export interface Finding {
  path: ReadonlyArray<string | number>;
  code: string;
  message: string;
}

type Path = ReadonlyArray<string | number>;

function referenceOf(value: unknown): string | null {
  return typeof value === 'string' ? (REFERENCE.exec(value)?.[1] ?? null) : null;
}

function interpolationsOf(value: unknown): string[] {
  if (typeof value !== 'string') return [];
  return [...value.matchAll(INTERPOLATION)].map((match) => match[1]!);
}

const root = (name: string): string => name.split('.')[0]!;

/** Step ids unique and every goto/onFail/onError/menu option pointing at a step. */
export function checkStepReferences(steps: readonly FlowStep[]): Finding[] {
  const findings: Finding[] = [];
  const ids = new Set<string>();
  for (const step of steps) {
    if (!step.id) continue;
    if (ids.has(step.id)) findings.push({ path: ['steps', step.index, 'id'], code: 'FLOW_DUPLICATE_ID', message: `step id '${step.id}' is used twice` });
    ids.add(step.id);
  }
  const target = (id: string | undefined, path: Path): void => {
    if (id !== undefined && !ids.has(id)) findings.push({ path, code: 'FLOW_UNKNOWN_STEP', message: `no step with id '${id}'` });
  };
  const assigned = new Set<string>();
  for (const step of steps) {
    const body = step.body as Record<string, unknown>;
    if (typeof body === 'object' && body !== null && typeof body.into === 'string') assigned.add(body.into);
    if (step.action === 'set') for (const name of Object.keys(body)) assigned.add(name);
  }
  for (const step of steps) {
    const base: Path = ['steps', step.index, step.action];
    const body = step.body as Record<string, unknown>;
    if (step.action === 'goto') target(step.body as string, base);
    if (typeof body === 'object' && body !== null) {
      if (typeof body.onFail === 'string') target(body.onFail, [...base, 'onFail']);
      if (typeof body.onError === 'string') target(body.onError, [...base, 'onError']);
    }
    if (step.action === 'menu') {
      const menu = step.body as FlowStep<'menu'>['body'];
      for (const [key, id] of Object.entries(menu.options)) target(id, [...base, 'options', key]);
    }
    if (step.action === 'branch') {
      const branch = step.body as FlowStep<'branch'>['body'];
      branch.cases.forEach((item, i) => target(item.goto, [...base, 'cases', i, 'goto']));
      target(branch.else, [...base, 'else']);
    }
    visitStrings(step.body, base, (value, path) => {
      for (const name of [referenceOf(value), ...interpolationsOf(value)]) {
        if (name !== null && !assigned.has(root(name))) {
          findings.push({ path, code: 'FLOW_UNKNOWN_VARIABLE', message: `variable '${root(name)}' is never set` });
        }
      }
    });
  }
  return findings;
}

function visitStrings(value: unknown, path: Path, visit: (value: string, path: Path) => void): void {
  if (typeof value === 'string') visit(value, path);
  else if (Array.isArray(value)) value.forEach((item, i) => visitStrings(item, [...path, i], visit));
  else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) visitStrings(item, [...path, key], visit);
  }
}

/** Which variables hold secrets, and of what kind ('column' for sensitive backend columns). */
class Taint {
  readonly #vars = new Map<string, SecretKind | 'column'>();
  readonly #columns: Array<{ into: string; column: string }> = [];

  addVar(name: string, kind: SecretKind | 'column'): boolean {
    if (this.#vars.has(name)) return false;
    this.#vars.set(name, kind);
    return true;
  }

  addColumn(into: string, column: string): void {
    this.#columns.push({ into, column });
  }

  /** The secret kind behind a reference path, or null when it is not secret. */
  kindOf(path: string): SecretKind | 'column' | null {
    const direct = this.#vars.get(path);
    if (direct) return direct;
    const parts = path.split('.');
    for (const { into, column } of this.#columns) {
      if (parts[0] !== into) continue;
      const col = parts.length === 2 ? parts[1] : parts.length === 3 && /^\d+$/.test(parts[1]!) ? parts[2] : undefined;
      if (col === column) return 'column';
    }
    return null;
  }
}

function computeTaint(steps: readonly FlowStep[]): Taint {
  const taint = new Taint();
  for (const step of steps) {
    if (step.action === 'gatherSecret') {
      const body = step.body as FlowStep<'gatherSecret'>['body'];
      taint.addVar(body.into, body.kind);
    }
    if (step.action === 'backend') {
      const body = step.body as FlowStep<'backend'>['body'];
      for (const column of body.sensitive ?? []) taint.addColumn(body.into, column);
    }
  }
  // `set` copies propagate secrecy until nothing changes.
  for (let changed = true; changed; ) {
    changed = false;
    for (const step of steps) {
      if (step.action !== 'set') continue;
      for (const [name, value] of Object.entries(step.body as Record<string, Expr>)) {
        const ref = referenceOf(value);
        const kind = ref === null ? null : taint.kindOf(ref);
        if (kind && taint.addVar(name, kind)) changed = true;
      }
    }
  }
  return taint;
}

/** Variables holding plain-gather digits: gather `into`, and `set` names fed from them. */
function keyedVariables(steps: readonly FlowStep[]): Set<string> {
  const keyed = new Set<string>();
  for (const step of steps) {
    if (step.action === 'gather') keyed.add((step.body as FlowStep<'gather'>['body']).into);
  }
  for (let changed = true; changed; ) {
    changed = false;
    for (const step of steps) {
      if (step.action !== 'set') continue;
      for (const [name, value] of Object.entries(step.body as Record<string, Expr>)) {
        const sources = [referenceOf(value), ...interpolationsOf(value)];
        if (!keyed.has(name) && sources.some((source) => source !== null && keyed.has(root(source)))) {
          keyed.add(name);
          changed = true;
        }
      }
    }
  }
  return keyed;
}

export function checkKeyedLogs(steps: readonly FlowStep[]): Finding[] {
  const keyed = keyedVariables(steps);
  const findings: Finding[] = [];
  for (const step of steps) {
    if (step.action !== 'log') continue;
    visitStrings(step.body, ['steps', step.index, 'log'], (text, path) => {
      for (const name of [referenceOf(text), ...interpolationsOf(text)]) {
        if (name !== null && keyed.has(root(name))) {
          findings.push({ path, code: 'FLOW_KEYED_LOG', message: `'${root(name)}' holds digits the caller keyed: a log line keeps counts and outcomes, never keys` });
        }
      }
    });
  }
  return findings;
}

/** Kinds whose last four digits the vault reads back (Secret.last4). 'column': decided by the backend's import at run time. */
const LAST4_KINDS: ReadonlySet<SecretKind | 'column'> = new Set(['pan', 'account', 'column']);

export function checkSecretFlow(steps: readonly FlowStep[]): Finding[] {
  const taint = computeTaint(steps);
  const findings: Finding[] = [];
  const leak = (path: Path, name: string, sink: string): void => {
    findings.push({ path, code: 'FLOW_SECRET_LEAK', message: `secret '${name}' may not reach ${sink}` });
  };
  /** Neither a reference nor an interpolation of a secret. */
  const forbid = (value: unknown, path: Path, sink: string): void => {
    visitStrings(value, path, (text, at) => {
      for (const name of [referenceOf(text), ...interpolationsOf(text)]) {
        if (name !== null && taint.kindOf(name)) leak(at, name, sink);
      }
    });
  };
  /** A plain reference is fine (the secret is passed as a handle); interpolation is not. */
  const referenceOnly = (value: unknown, path: Path, sink: string): void => {
    for (const name of interpolationsOf(value)) {
      if (taint.kindOf(name)) leak(path, name, `${sink} as text (pass it as a plain reference)`);
    }
  };
  const prompt = (spec: unknown, path: Path, sink: string): void => {
    if (spec === undefined) return;
    if (!Array.isArray(spec)) return forbid(spec, path, sink);
    spec.forEach((part: Record<string, unknown>, i) => {
      const at = [...path, i];
      if ('last4' in part) {
        const name = referenceOf(part.last4);
        const kind = name === null ? null : taint.kindOf(name);
        if (kind !== null && !LAST4_KINDS.has(kind)) {
          findings.push({ path: [...at, 'last4'], code: 'FLOW_SECRET_LEAK', message: `secret '${name}' is a ${kind}: last4 reads back only a card or account number` });
        }
        return;
      }
      if ('spell' in part) {
        const name = referenceOf(part.spell);
        const kind = name === null ? null : taint.kindOf(name);
        if (kind === 'pan' || kind === 'cvv') {
          findings.push({ path: [...at, 'spell'], code: 'FLOW_SECRET_LEAK', message: `secret '${name}' is a ${kind}: only its last4 may be read back` });
        }
        return;
      }
      forbid(part, at, sink);
    });
  };

  for (const step of steps) {
    const base: Path = ['steps', step.index, step.action];
    const body = step.body as Record<string, unknown>;
    switch (step.action) {
      case 'say':
        prompt(step.body, base, 'a spoken prompt (use last4 or spell for read-back)');
        break;
      case 'play':
        forbid(step.body, base, 'play');
        break;
      case 'gather':
      case 'gatherSecret':
      case 'menu':
        for (const key of ['prompt', 'invalidPrompt', 'timeoutPrompt']) prompt(body[key], [...base, key], 'a spoken prompt');
        break;
      case 'backend':
        forbid(body.name, [...base, 'name'], 'a backend name');
        forbid(body.operation, [...base, 'operation'], 'a backend operation');
        for (const [key, value] of Object.entries((body.params as Record<string, unknown> | undefined) ?? {})) {
          referenceOnly(value, [...base, 'params', key], 'backend params');
        }
        break;
      case 'pay':
        referenceOnly(body.amount, [...base, 'amount'], 'a payment amount');
        break;
      case 'transfer':
        forbid(body.target, [...base, 'target'], 'a transfer target');
        forbid(body.context, [...base, 'context'], 'a transfer context header');
        break;
      case 'set':
        for (const [key, value] of Object.entries(body)) referenceOnly(value, [...base, key], 'a copied value');
        break;
      case 'language':
        forbid(step.body, base, 'a language switch');
        break;
      case 'log':
        forbid(body, base, 'a log line');
        break;
      case 'webhook':
        forbid(body, base, 'a webhook');
        break;
      case 'branch':
      case 'goto':
      case 'hangup':
        break;
    }
  }
  return findings;
}
