// What `traceless validate` and `traceless simulate` do; src/cli maps them to commander.
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isFlow, type Flow } from './define-flow.ts';
import { checkYamlFlow, formatProblem, loadYamlFlow, FlowLoadError } from './yaml-loader.ts';
import { parseCallerScript, ScriptError, simulate, type SimulationOptions } from './simulator.ts';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { PromptCatalogue } from './catalogue.ts';
import { checkAudio } from './prompt-check.ts';
import { LANGUAGES } from './say-as.ts';

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
  /** 0 ok, 1 the flow failed at run time (it ended in its error fallback), 2 the flow or the arguments are invalid (issue 2's exit codes). */
  exitCode: 0 | 1 | 2;
  output: string;
}

export interface ValidateOptions {
  /** Prompt overlay directories (<dir>/<lang>/<id>.wav): the flow's own prompts, as the server's `prompts.overlays`. */
  prompts?: readonly string[];
  /** Where the catalogue lives (default: the package's prompts/). */
  promptsRoot?: string;
}

/**
 * `traceless validate <flow>`: every problem as file:line:col, or "ok". A YAML flow is
 * checked whole: schema, step references, the static secret and keyed-digit checks, its
 * fixed prompt ids in every language, and the files it plays. A TypeScript flow's code
 * cannot be read that way: only its default export is checked.
 */
export async function validateCommand(flowPath: string, options: ValidateOptions = {}): Promise<CommandResult> {
  try {
    for (const dir of options.prompts ?? []) {
      if (!existsSync(dir) || !statSync(dir).isDirectory()) return { exitCode: 2, output: `${dir}: not a prompt overlay directory (<dir>/<lang>/<id>.wav)` };
    }
    if (isYaml(flowPath)) {
      const catalogue = new PromptCatalogue({ overlays: options.prompts ?? [], ...(options.promptsRoot ? { root: options.promptsRoot } : {}) });
      const audio = (steps: Parameters<typeof checkAudio>[0]) => checkAudio(steps, flowPath, catalogue, LANGUAGES);
      const { problems } = checkYamlFlow(readFileSync(flowPath, 'utf8'), flowPath, audio);
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
  // A test script wants to know the flow went wrong even when the fallback then reached an agent.
  return { exitCode: result.outcome.fallback || result.outcome.status === 'failed' ? 1 : 0, output: `${result.text()}${unused}` };
}
