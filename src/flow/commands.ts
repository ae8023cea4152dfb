// What `traceless validate` and `traceless simulate` do; src/cli maps them to commander.
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isFlow, type Flow } from './define-flow.ts';
import { checkYamlFlow, formatProblem, loadYamlFlow, FlowLoadError } from './yaml-loader.ts';
import { parseCallerScript, ScriptError, simulate, type SimulationOptions } from './simulator.ts';
import { readFileSync } from 'node:fs';

export class FlowFileError extends Error {
  readonly code = 'FLOW_FILE';
  constructor(message: string) {
    super(message);
    this.name = 'FlowFileError';
  }
}

const isYaml = (path: string): boolean => ['.yaml', '.yml'].includes(extname(path));

/** A YAML flow, or a TypeScript/JavaScript module whose default export is a defineFlow(...). */
export async function loadFlowFile(path: string): Promise<Flow> {
  if (isYaml(path)) return loadYamlFlow(path);
  const module = (await import(pathToFileURL(resolve(path)).href)) as { default?: unknown };
  if (!isFlow(module.default)) throw new FlowFileError(`${path}: the default export is not a defineFlow(...) flow`);
  return module.default;
}

export interface CommandResult {
  /** 0 ok, 1 the flow failed at run time, 2 the flow or the arguments are invalid (issue 2's exit codes). */
  exitCode: 0 | 1 | 2;
  output: string;
}

/** `traceless validate <flow>`: every problem as file:line:col, or "ok". */
export async function validateCommand(flowPath: string): Promise<CommandResult> {
  try {
    if (isYaml(flowPath)) {
      const { problems } = checkYamlFlow(readFileSync(flowPath, 'utf8'), flowPath);
      if (problems.length > 0) return { exitCode: 2, output: problems.map(formatProblem).join('\n') };
    } else await loadFlowFile(flowPath);
    return { exitCode: 0, output: `${flowPath}: ok` };
  } catch (error) {
    return { exitCode: 2, output: error instanceof Error ? error.message : String(error) };
  }
}

/** `traceless simulate <flow> --keys "1,12345678#"`: the transcript and the outcome. */
export async function simulateCommand(
  flowPath: string,
  keys: string,
  options: Omit<SimulationOptions, 'caller'> = {},
): Promise<CommandResult> {
  let flow: Flow;
  let caller;
  try {
    caller = parseCallerScript(keys);
    flow = await loadFlowFile(flowPath);
  } catch (error) {
    if (error instanceof FlowLoadError || error instanceof FlowFileError || error instanceof ScriptError) return { exitCode: 2, output: error.message };
    throw error;
  }
  const result = await simulate(flow, { ...options, caller });
  const unused = result.unusedTurns > 0 ? `\n(${result.unusedTurns} caller turn(s) not used)` : '';
  return { exitCode: result.outcome.status === 'failed' ? 1 : 0, output: `${result.text()}${unused}` };
}
