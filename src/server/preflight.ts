// What `traceless start` checks before the server binds a single port, beyond what the
// schema and the file checks see: that every application's flow loads (with the loader the
// server uses) and that every TLS certificate and key parses and pairs up, as the server's
// listener and the connectors will need them. Each failure is a ConfigProblem at the key
// that named the file, listed together with the schema's and the file checks' problems.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { accessSync, closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { loadFlowFile } from '../flow/commands.ts';
import { FlowLoadError, formatProblem } from '../flow/yaml-loader.ts';
import {
  ConfigError,
  flowFileRefs,
  inspectConfig,
  tlsMaterialRefs,
  type KeyPath,
  type LoadedConfig,
  type TlsMaterialRef,
} from './config-load.ts';

/** PEM files larger than this are not certificates or keys anyone meant to configure. */
const MAX_PEM_BYTES = 1024 * 1024;

interface Problem {
  readonly path: KeyPath;
  readonly message: string;
}

/**
 * loadConfig and the preflight in one round: every schema, file, environment-variable, flow
 * and TLS problem of the file, or the config ready to start. Throws ConfigError (exit 2).
 */
export async function loadConfigForStart(file: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  const inspection = inspectConfig(file, env);
  const problems = [
    ...inspection.problems,
    ...(await preflightProblems(inspection.raw, inspection.baseDir)).map(({ path, message }) => ({
      path: path.join('.'),
      message,
      ...inspection.locate(path),
    })),
  ];
  if (!inspection.loaded || problems.length > 0) throw new ConfigError(file, problems);
  return inspection.loaded;
}

/**
 * The flows and TLS material a (possibly invalid) document names. A file that cannot be read
 * is skipped: the file checks already report it.
 */
export async function preflightProblems(raw: unknown, baseDir: string): Promise<Problem[]> {
  const resolved = (name: string): string => (isAbsolute(name) ? name : resolve(baseDir, name));
  const problems: Problem[] = [];
  for (const { path, file } of flowFileRefs(raw)) problems.push(...(await flowProblems(path, file, resolved(file))));
  for (const tls of tlsMaterialRefs(raw)) problems.push(...tlsProblems(tls, resolved));
  return problems;
}

async function flowProblems(path: KeyPath, name: string, file: string): Promise<Problem[]> {
  if (!readable(file)) return [];
  try {
    await loadFlowFile(file);
    return [];
  } catch (error) {
    // A YAML flow's own problems keep their file:line:col inside the flow file.
    if (error instanceof FlowLoadError) return error.problems.map((problem) => ({ path, message: formatProblem(problem) }));
    const message = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    return [{ path, message: `${name}: does not load as a flow: ${message}` }];
  }
}

/**
 * Builds the secure context the listener or connector would build, piece by piece so the
 * problem names the file at fault. Messages carry OpenSSL's error code, never file contents;
 * the private key is read into a buffer of its own and zeroed after the check.
 */
function tlsProblems(tls: TlsMaterialRef, resolved: (name: string) => string): Problem[] {
  const problems: Problem[] = [];
  const read = (key: 'certFile' | 'caFile' | 'keyFile'): Buffer | undefined => {
    const name = tls[key];
    const bytes = name === undefined ? undefined : readBounded(resolved(name));
    if (bytes === 'too-large') problems.push({ path: [...tls.path, key], message: `${name}: larger than ${MAX_PEM_BYTES} bytes: not a PEM file` });
    return bytes === 'too-large' ? undefined : bytes;
  };
  const certificates = (key: 'certFile' | 'caFile'): Buffer | undefined => {
    const bytes = read(key);
    const problem = bytes === undefined ? undefined : certificateProblem(bytes, key === 'certFile');
    if (problem !== undefined) problems.push({ path: [...tls.path, key], message: `${tls[key]}: ${problem}` });
    return problem === undefined ? bytes : undefined;
  };
  const cert = certificates('certFile');
  const ca = certificates('caFile');
  const key = read('keyFile');
  if (key === undefined) return problems;
  try {
    try {
      createPrivateKey(key);
    } catch (error) {
      problems.push({ path: [...tls.path, 'keyFile'], message: `${tls.keyFile}: not a usable PEM private key (${opensslReason(error)})` });
      return problems;
    }
    if (cert === undefined) return problems;
    try {
      createSecureContext({ cert, key, ...(ca ? { ca } : {}), minVersion: 'TLSv1.2' });
    } catch (error) {
      const mismatch = (error as { code?: string }).code === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH';
      problems.push({
        path: [...tls.path, 'keyFile'],
        message: mismatch ? `${tls.keyFile}: is not the key of ${tls.certFile}` : `${tls.keyFile}: ${opensslReason(error)}`,
      });
    }
    return problems;
  } finally {
    key.fill(0);
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Every certificate in a PEM file (a chain or a CA bundle) must parse; there must be one. */
/**
 * Why a PEM certificate file cannot be used, or undefined. For our own certificate (`own`)
 * the first one must also be valid now: every peer would refuse it. A CA bundle may hold
 * expired roots, as system bundles do, so only its parsing is checked.
 */
function certificateProblem(pem: Buffer, own: boolean, now = Date.now()): string | undefined {
  // Certificates are public: reading them as text is fine (a key is never run through this).
  const blocks = pem.toString('latin1').match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) return 'no PEM certificate in the file (-----BEGIN CERTIFICATE-----)';
  const parsed: X509Certificate[] = [];
  for (const [index, block] of blocks.entries()) {
    try {
      parsed.push(new X509Certificate(block));
    } catch (error) {
      return `certificate ${index + 1} does not parse (${opensslReason(error)})`;
    }
  }
  const leaf = parsed[0];
  if (own && leaf !== undefined) {
    if (Date.parse(leaf.validTo) < now) return `certificate expired on ${leaf.validTo}`;
    if (Date.parse(leaf.validFrom) > now) return `certificate not valid before ${leaf.validFrom}`;
  }
  return undefined;
}

function opensslReason(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  return code ?? message?.split('\n')[0] ?? 'unknown error';
}

function readable(file: string): boolean {
  try {
    accessSync(file, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * A file's bytes in a zero-filled buffer of its own (never the shared 8 KiB
 * pool, so a private key can be zeroed by the caller); 'too-large' past 1 MiB; undefined when
 * the file cannot be read (the file checks report that).
 */
function readBounded(file: string): Buffer | 'too-large' | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = fstatSync(fd).size;
    if (size > MAX_PEM_BYTES) return 'too-large';
    const bytes = Buffer.alloc(size);
    let filled = 0;
    while (filled < size) {
      const read = readSync(fd, bytes, filled, size - filled, filled);
      if (read === 0) break;
      filled += read;
    }
    return bytes.subarray(0, filled);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
