// Reads and validates the configuration file before anything is started: every problem is
// collected and reported by its path (and line:column in the file), never just the first.
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { LineCounter, parseDocument, isMap, isNode, isScalar, type Document } from 'yaml';
import type { z } from 'zod';
import { configSchema, crossReferenceProblems, secretRef, type TracelessConfig } from './config-schema.ts';

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

/** A key's path as segments (array indexes as numbers), as zod and the YAML document name it. */
export type KeyPath = ReadonlyArray<string | number>;

/** What a configuration file holds, checked: the config when the schema passed, and every problem. */
export interface ConfigInspection {
  readonly file: string;
  /** Folder of the config file: relative paths in it are resolved from here. */
  readonly baseDir: string;
  /** The document as parsed, before the schema: checks that run even when the schema fails read this. */
  readonly raw: unknown;
  /** Present when the schema passed (reference problems may still be listed). */
  readonly loaded?: LoadedConfig;
  /** Schema, cross-reference and reference (files, env vars) problems, in one list. */
  readonly problems: readonly ConfigProblem[];
  /** Line and column of a key in the file (of its nearest ancestor that is written there). */
  locate(path: KeyPath): { line?: number; column?: number };
}

/** Parses, validates and checks references (files readable, env vars set). Throws ConfigError. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const inspection = inspectConfig(file, env);
  if (!inspection.loaded || inspection.problems.length > 0) throw new ConfigError(file, inspection.problems);
  return inspection.loaded;
}

/**
 * Every problem loadConfig would report, in one round: the schema's, and those of the files
 * and environment variables named by whatever parts of the document are usable — a file with
 * a schema error still gets its missing certificate and unset variable listed. Throws
 * ConfigError only when there is no document to check (unreadable file, YAML syntax).
 */
export function inspectConfig(file: string, env: NodeJS.ProcessEnv = process.env): ConfigInspection {
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
  const locate = (path: KeyPath): { line?: number; column?: number } => {
    for (let depth = path.length; depth >= 0; depth--) {
      const node = document.getIn(path.slice(0, depth) as unknown[], true);
      if (isNode(node) && node.range) {
        const position = lineCounter.linePos(node.range[0]);
        return { line: position.line, column: position.col };
      }
    }
    return {};
  };
  const at = (path: KeyPath, message: string): ConfigProblem => ({ path: path.join('.'), message, ...locate(path) });
  const raw: unknown = document.toJS();
  const baseDir = dirname(resolve(file));
  const parsed = configSchema.safeParse(raw);
  const issues = parsed.success ? [] : parsed.error.issues;
  // A key the schema refused (a .mp3 where a .wav belongs, tls on a udp listener) is not
  // looked for on disk as well: one problem per key. An unknown key refuses only itself.
  const refused = issues.filter((issue) => issue.code !== 'unrecognized_keys').map((issue) => issue.path.map(String));
  const usable = (path: KeyPath): boolean => !refused.some((prefix) => prefix.every((part, index) => String(path[index]) === part));
  const problems = [
    ...unquotedNumbers(document, lineCounter),
    ...issues.map((issue) => problemFrom(issue, locate)),
    ...crossReferenceProblems(raw).map(({ path, message }) => at(path, message)),
    ...referenceProblems(raw, baseDir, env)
      .filter(({ path }) => usable(path))
      .map(({ path, message }) => at(path, message)),
  ];
  return {
    file,
    baseDir,
    raw,
    ...(parsed.success ? { loaded: { config: parsed.data, baseDir, file } } : {}),
    problems,
    locate,
  };
}

/**
 * Dialled numbers must be quoted YAML strings: unquoted, YAML reads `0311555` as the integer
 * 311555 and `+13115550100` as 13115550100, and the number a caller dials would silently
 * never match. Only the document still knows how a key was written.
 */
function unquotedNumbers(document: Document, lineCounter: LineCounter): ConfigProblem[] {
  const numbers = document.get('numbers', true);
  if (!isMap(numbers)) return [];
  return numbers.items.flatMap(({ key }) => {
    if (!isScalar(key) || typeof key.value === 'string') return [];
    const written = key.source ?? String(key.value);
    const position = key.range ? lineCounter.linePos(key.range[0]) : undefined;
    return [
      {
        path: `numbers.${written}`,
        message: `write the dialled number in quotes ("${written}"): unquoted, YAML reads it as ${typeof key.value === 'number' ? `the number ${key.value}` : 'a non-string'}`,
        ...(position ? { line: position.line, column: position.col } : {}),
      },
    ];
  });
}

function problemFrom(
  issue: z.core.$ZodIssue,
  locate: (path: KeyPath) => { line?: number; column?: number },
): ConfigProblem {
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    return { path, message: `unknown key(s): ${issue.keys.join(', ')}`, ...locate(issue.path as KeyPath) };
  }
  return { path, message: issue.message, ...locate(issue.path as KeyPath) };
}

// Loose readers over the raw document: a part of the wrong shape is the schema's to report.
const record = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const text = (value: unknown): string | undefined => (typeof value === 'string' && value.length > 0 ? value : undefined);
const entries = (value: unknown): Array<[string, unknown]> => Object.entries(record(value) ?? {});

/** One place the config names TLS material: a SIP TLS listener (server side) or a client of a backend or the gateway. */
export interface TlsMaterialRef {
  /** Path of the `tls` object, e.g. `['backends', 'city', 'tls']`. */
  readonly path: KeyPath;
  readonly side: 'server' | 'client';
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly caFile?: string;
}

/** Every `tls` object of the (possibly invalid) document, with the file names it gives. */
export function tlsMaterialRefs(raw: unknown): TlsMaterialRef[] {
  const config = record(raw);
  const refs: TlsMaterialRef[] = [];
  const add = (path: KeyPath, side: TlsMaterialRef['side'], value: unknown): void => {
    const tls = record(value);
    if (!tls) return;
    const [certFile, keyFile, caFile] = [text(tls.certFile), text(tls.keyFile), text(tls.caFile)];
    refs.push({ path, side, ...(certFile ? { certFile } : {}), ...(keyFile ? { keyFile } : {}), ...(caFile ? { caFile } : {}) });
  };
  list(record(config?.sip)?.listeners).forEach((listener, index) => add(['sip', 'listeners', index, 'tls'], 'server', record(listener)?.tls));
  for (const [name, backend] of entries(config?.backends)) add(['backends', name, 'tls'], 'client', record(backend)?.tls);
  add(['payment', 'tls'], 'client', record(config?.payment)?.tls);
  return refs;
}

/** Every application's flow file in the (possibly invalid) document. */
export function flowFileRefs(raw: unknown): Array<{ path: KeyPath; file: string }> {
  return entries(record(raw)?.applications).flatMap(([name, app]) => {
    const file = text(record(app)?.flow);
    return file ? [{ path: ['applications', name, 'flow'], file }] : [];
  });
}

/**
 * Every file the config names must be readable and every env var set — checked before any
 * port opens, on each part of the document that can be read, whether or not the schema passed.
 */
function referenceProblems(raw: unknown, baseDir: string, env: NodeJS.ProcessEnv): Array<{ path: KeyPath; message: string }> {
  const problems: Array<{ path: KeyPath; message: string }> = [];
  const resolved = (value: string): string => (isAbsolute(value) ? value : resolve(baseDir, value));
  const file = (path: KeyPath, value: unknown): void => {
    const name = text(value);
    if (name === undefined) return;
    try {
      accessSync(resolved(name), constants.R_OK);
    } catch {
      problems.push({ path, message: `file not readable: ${name}` });
    }
  };
  const secret = (path: KeyPath, value: unknown): void => {
    const ref = secretRef.safeParse(value);
    if (!ref.success) return;
    if ('file' in ref.data) file([...path, 'file'], ref.data.file);
    else if (env[ref.data.env] === undefined || env[ref.data.env] === '') {
      problems.push({ path: [...path, 'env'], message: `environment variable ${ref.data.env} is not set` });
    }
  };
  const config = record(raw);
  for (const tls of tlsMaterialRefs(raw)) {
    file([...tls.path, 'certFile'], tls.certFile);
    file([...tls.path, 'keyFile'], tls.keyFile);
    file([...tls.path, 'caFile'], tls.caFile);
  }
  list(record(record(config?.sip)?.auth)?.users).forEach((user, index) => secret(['sip', 'auth', 'users', index, 'password'], record(user)?.password));
  for (const [name, backend] of entries(config?.backends)) {
    const fields = record(backend);
    if (fields?.type === 'postgres' && fields.tls === undefined && config?.insecureDevelopment !== true) {
      problems.push({ path: ['backends', name, 'tls'], message: 'required (plaintext needs insecureDevelopment: true)' });
    }
  }
  secret(['admin', 'token'], record(config?.admin)?.token);
  for (const flow of flowFileRefs(raw)) file(flow.path, flow.file);
  for (const [name, app] of entries(config?.applications)) {
    list(record(app)?.audio).forEach((path, index) => file(['applications', name, 'audio', index], path));
  }
  list(record(config?.prompts)?.overlays).forEach((dir, index) => {
    const name = text(dir);
    if (name === undefined) return;
    let isDirectory = false;
    try {
      isDirectory = statSync(resolved(name)).isDirectory();
    } catch {
      // reported below
    }
    if (!isDirectory) problems.push({ path: ['prompts', 'overlays', index], message: `not a readable directory: ${name}` });
  });
  return problems;
}
