// Loads a YAML flow: parse with node ranges, validate each step against its action's
// schema, check step references and variables, run the static secret check, then compile
// to the same Flow the TypeScript API produces. Every problem carries file:line:col.
import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { ACTION_NAMES, actionSchemas, extrasFor, flowHeaderSchema, stepExtras, type ActionName, type FlowHeader, type FlowStep } from './flow-schema.ts';
import { checkKeyedLogs, checkStepReferences, checkSecretFlow, type Finding } from './secret-check.ts';
import { compileYamlFlow } from './yaml-runtime.ts';
import type { Flow } from './define-flow.ts';

export type Path = ReadonlyArray<string | number>;

export interface FlowProblem {
  file: string;
  line: number;
  col: number;
  code: string;
  message: string;
}

export class FlowLoadError extends Error {
  readonly code = 'FLOW_INVALID';
  constructor(readonly problems: readonly FlowProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'FlowLoadError';
  }
}

export function formatProblem(problem: FlowProblem): string {
  return `${problem.file}:${problem.line}:${problem.col}: ${problem.message} [${problem.code}]`;
}

export interface ParsedYamlFlow {
  header: FlowHeader;
  steps: FlowStep[];
}

/** Finds the YAML node at a path (or its nearest existing ancestor); `key` points at a map key. */
function nodeAt(doc: Document, path: Path, key = false): YamlNode | null {
  let node: unknown = doc.contents;
  let found: YamlNode | null = (doc.contents as YamlNode | null) ?? null;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i]!;
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
      if (!pair) break;
      if (key && i === path.length - 1 && isScalar(pair.key)) return pair.key;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment];
    } else break;
    if (node && typeof node === 'object' && 'range' in node) found = node as YamlNode;
    else break;
  }
  return found;
}

class Reporter {
  readonly problems: FlowProblem[] = [];
  constructor(
    private readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  at(path: Path, code: string, message: string, key = false): void {
    const node = nodeAt(this.doc, path, key);
    const offset = node?.range?.[0] ?? 0;
    const { line, col } = this.lines.linePos(offset);
    this.problems.push({ file: this.file, line, col, code, message });
  }

  zod(issues: readonly z.core.$ZodIssue[], base: Path): void {
    for (const issue of issues) {
      const path = [...base, ...(issue.path as Array<string | number>)];
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) this.at([...path, key], 'FLOW_SCHEMA', `unknown key '${key}'`, true);
      } else {
        const where = path.length > 0 ? `${path.join('.')}: ` : '';
        this.at(path, 'FLOW_SCHEMA', `${where}${issue.message}`);
      }
    }
  }
}

function parseSteps(raw: ReadonlyArray<Record<string, unknown>>, report: Reporter): FlowStep[] {
  const steps: FlowStep[] = [];
  raw.forEach((step, index) => {
    const base: Path = ['steps', index];
    const actions = Object.keys(step).filter((key): key is ActionName => (ACTION_NAMES as string[]).includes(key));
    if (actions.length !== 1) {
      report.at(base, 'FLOW_STEP_ACTION', actions.length === 0 ? `a step needs one action (${ACTION_NAMES.join(', ')})` : `a step has exactly one action, found ${actions.join(' and ')}`);
      return;
    }
    const action = actions[0]!;
    let ok = true;
    const extras = extrasFor(action);
    for (const key of Object.keys(step)) {
      if (key === action || key in extras) continue;
      if (key in stepExtras) {
        report.at([...base, key], 'FLOW_SCHEMA', `${key} does not apply to ${action}: during a secure entry every key goes to the secure store`, true);
      } else report.at([...base, key], 'FLOW_SCHEMA', `unknown key '${key}'`, true);
      ok = false;
    }
    const parsedExtras = (['id', 'agentKey', 'repeatKey'] as const).map((name) => [name, stepExtras[name].safeParse(step[name])] as const);
    for (const [name, result] of parsedExtras) {
      if (!result.success) {
        report.zod(result.error.issues, [...base, name]);
        ok = false;
      }
    }
    const body = actionSchemas[action].safeParse(step[action]);
    if (!body.success) {
      report.zod(body.error.issues, [...base, action]);
      ok = false;
    }
    if (!ok || !body.success) return;
    steps.push({
      action,
      body: body.data,
      index,
      ...(typeof step.id === 'string' ? { id: step.id } : {}),
      ...(typeof step.agentKey === 'boolean' ? { agentKey: step.agentKey } : {}),
      ...(typeof step.repeatKey === 'boolean' ? { repeatKey: step.repeatKey } : {}),
    } as FlowStep);
  });
  return steps;
}

/**
 * Parses and checks a flow; returns the problems instead of throwing. `extra` adds checks
 * of its own (e.g. prompt ids against a catalogue) once the flow is otherwise sound; their
 * findings get file:line:col like the rest.
 */
export function checkYamlFlow(
  text: string,
  file: string,
  extra?: (steps: readonly FlowStep[]) => Finding[],
): { flow: ParsedYamlFlow | null; problems: FlowProblem[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const report = new Reporter(file, doc, lines);
  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      const { line, col } = lines.linePos(error.pos[0]);
      report.problems.push({ file, line, col, code: 'FLOW_YAML', message: error.message.split('\n')[0]! });
    }
    return { flow: null, problems: report.problems };
  }
  const header = flowHeaderSchema.safeParse(doc.toJS());
  if (!header.success) {
    report.zod(header.error.issues, []);
    return { flow: null, problems: report.problems };
  }
  const steps = parseSteps(header.data.steps, report);
  if (report.problems.length > 0) return { flow: null, problems: report.problems };
  const findings: Finding[] = [...checkStepReferences(steps), ...checkSecretFlow(steps), ...checkKeyedLogs(steps), ...(extra?.(steps) ?? [])];
  for (const finding of findings) report.at(finding.path, finding.code, finding.message);
  if (report.problems.length > 0) return { flow: null, problems: report.problems };
  return { flow: { header: header.data, steps }, problems: [] };
}

/** Loads a YAML flow file; throws FlowLoadError listing every problem with file:line:col. */
export function loadYamlFlow(file: string, text = readFileSync(file, 'utf8')): Flow {
  const { flow, problems } = checkYamlFlow(text, file);
  if (!flow) throw new FlowLoadError(problems);
  return compileYamlFlow(flow);
}
