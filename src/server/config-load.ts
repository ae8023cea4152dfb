// Reads and validates the configuration file before anything is started: every problem is
// collected and reported by its path (and line:column in the file), never just the first.
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { LineCounter, parseDocument, isNode } from 'yaml';
import type { z } from 'zod';
import { configSchema, crossReferenceProblems, type SecretRef, type TracelessConfig } from './config-schema.ts';

export interface ConfigProblem {
  /** Dotted path of the key, e.g. `sip.listeners.0.tls.key`. */
  readonly path: string;
  readonly message: string;
  readonly line?: number;
  readonly column?: number;
}

export class ConfigError extends Error {
  readonly code = 'TRACELESS_CONFIG_INVALID';
  constructor(
    readonly file: string,
    readonly problems: readonly ConfigProblem[],
  ) {
    super(`${file}: ${problems.length} configuration problem(s)`);
    this.name = 'ConfigError';
  }

  /** One line per problem: `file:line:col: path: message`. */
  describe(): string {
    return this.problems
      .map((problem) => {
        const where = problem.line ? `${this.file}:${problem.line}:${problem.column ?? 1}` : this.file;
        return `${where}: ${problem.path || '(root)'}: ${problem.message}`;
      })
      .join('\n');
  }
}

export interface LoadedConfig {
  readonly config: TracelessConfig;
  /** Folder of the config file: relative paths in it are resolved from here. */
  readonly baseDir: string;
  /** The config file, for errors found after loading (absent for a config built in code). */
  readonly file?: string;
}

/** Resolves a path written in the config relative to the config file's folder. */
export function configPath(loaded: LoadedConfig, path: string): string {
  return isAbsolute(path) ? path : resolve(loaded.baseDir, path);
}

/** Parses, validates and checks references (files readable, env vars set). Throws ConfigError. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [{ path: '', message: `cannot read the file (${(error as NodeJS.ErrnoException).code})` }]);
  }
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigError(
      file,
      document.errors.map((error) => {
        const position = lineCounter.linePos(error.pos[0]);
        return { path: '', message: `YAML: ${error.message.split('\n')[0]}`, line: position.line, column: position.col };
      }),
    );
  }
  const locate = (path: readonly PropertyKey[]): { line?: number; column?: number } => {
    for (let depth = path.length; depth >= 0; depth--) {
      const node = document.getIn(path.slice(0, depth) as unknown[], true);
      if (isNode(node) && node.range) {
        const position = lineCounter.linePos(node.range[0]);
        return { line: position.line, column: position.col };
      }
    }
    return {};
  };
  const raw: unknown = document.toJS();
  const parsed = configSchema.safeParse(raw);
  const problems = [
    ...(parsed.success ? [] : parsed.error.issues.map((issue) => problemFrom(issue, locate))),
    ...crossReferenceProblems(raw).map(({ path, message }) => ({ path: path.join('.'), message, ...locate(path) })),
  ];
  if (!parsed.success || problems.length > 0) throw new ConfigError(file, problems);
  const loaded: LoadedConfig = { config: parsed.data, baseDir: dirname(resolve(file)), file };
  const referenceProblems = checkReferences(loaded, env).map((problem) => ({
    ...problem,
    ...locate(problem.path.split('.').map((part) => (/^\d+$/.test(part) ? Number(part) : part))),
  }));
  if (referenceProblems.length > 0) throw new ConfigError(file, referenceProblems);
  return loaded;
}

function problemFrom(
  issue: z.core.$ZodIssue,
  locate: (path: readonly PropertyKey[]) => { line?: number; column?: number },
): ConfigProblem {
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    return { path, message: `unknown key(s): ${issue.keys.join(', ')}`, ...locate(issue.path) };
  }
  return { path, message: issue.message, ...locate(issue.path) };
}

/** Every file the config names must be readable and every env var set — checked before any port opens. */
function checkReferences(loaded: LoadedConfig, env: NodeJS.ProcessEnv): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const file = (path: string, value: string | undefined): void => {
    if (value === undefined) return;
    try {
      accessSync(configPath(loaded, value), constants.R_OK);
    } catch {
      problems.push({ path, message: `file not readable: ${value}` });
    }
  };
  const secret = (path: string, ref: SecretRef | undefined): void => {
    if (!ref) return;
    if ('file' in ref) file(`${path}.file`, ref.file);
    else if (env[ref.env] === undefined || env[ref.env] === '') {
      problems.push({ path: `${path}.env`, message: `environment variable ${ref.env} is not set` });
    }
  };
  const { config } = loaded;
  config.sip.listeners.forEach((listener, index) => {
    const at = `sip.listeners.${index}.tls`;
    file(`${at}.certFile`, listener.tls?.certFile);
    file(`${at}.caFile`, listener.tls?.caFile);
    file(`${at}.keyFile`, listener.tls?.keyFile);
  });
  config.sip.auth?.users.forEach((user, index) => secret(`sip.auth.users.${index}.password`, user.password));
  const clientTls = (at: string, tls: { caFile: string; certFile: string; keyFile: string } | undefined): void => {
    if (!tls) return;
    file(`${at}.caFile`, tls.caFile);
    file(`${at}.certFile`, tls.certFile);
    file(`${at}.keyFile`, tls.keyFile);
  };
  for (const [name, backend] of Object.entries(config.backends)) {
    clientTls(`backends.${name}.tls`, backend.tls);
    if (backend.type === 'postgres' && !backend.tls && !config.insecureDevelopment) {
      problems.push({ path: `backends.${name}.tls`, message: 'required (plaintext needs insecureDevelopment: true)' });
    }
  }
  if (config.payment) clientTls('payment.tls', config.payment.tls);
  secret('admin.token', config.admin.token);
  for (const [name, app] of Object.entries(config.applications)) {
    file(`applications.${name}.flow`, app.flow);
    app.audio.forEach((path, index) => file(`applications.${name}.audio.${index}`, path));
  }
  config.prompts.overlays.forEach((dir, index) => {
    const path = configPath(loaded, dir);
    let isDirectory = false;
    try {
      isDirectory = statSync(path).isDirectory();
    } catch {
      // reported below
    }
    if (!isDirectory) problems.push({ path: `prompts.overlays.${index}`, message: `not a readable directory: ${dir}` });
  });
  return problems;
}
