// The customer-side systems of the parking demo, each in its own process: the city
// database (PostgreSQL, TLS with client-certificate login) and the test payment gateway
// (HTTPS with mutual TLS). `traceless demo` calls startDemoStack() and points the IVR's
// connectors at what it returns; stop() (also run on SIGINT/SIGTERM) ends both processes
// and removes every temporary file, certificates included.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPki } from './certs.ts';
import { AUDITOR_ROLE } from './city-schema.ts';
import type { Pki } from './certs.ts';

const here = dirname(fileURLToPath(import.meta.url));

export interface ClientTlsPaths {
  /** The demo CA to pin. */
  ca: string;
  /** The IVR's client certificate and key. */
  cert: string;
  key: string;
}

export interface DemoStack {
  db: {
    host: string;
    port: number;
    database: string;
    user: string;
    tls: ClientTlsPaths;
    /** The city's read-only auditor login (never configured in the IVR): role and client certificate. */
    auditor: { user: string; cert: string; key: string };
    /** The database process (stopping it stops PostgreSQL: what tests of an outage do). */
    pid: number;
  };
  gateway: { url: string; host: string; port: number; tls: ClientTlsPaths; pid: number };
  /** Stops both processes and removes every temporary file; safe to call twice. */
  stop(): Promise<void>;
}

export interface DemoStackOptions {
  /**
   * Parent directory for temporary files (default: the OS temp dir). When running as root
   * it must be traversable by the `postgres` user (e.g. mode 0755), which owns the database.
   */
  tmpRoot?: string;
  /** Stop the stack on SIGINT/SIGTERM and exit (default true). Pass false to do it yourself. */
  handleSignals?: boolean;
  /** A file of citations, one per line, each seeded as an unpaid load-test ticket (city-schema.ts). */
  loadTestCitations?: string;
}

export interface ReadyProcess<T> {
  info: T;
  child: ChildProcess;
  /** SIGINT, then waits for exit; safe to call twice. */
  stop(): Promise<void>;
}

const MAX_STDERR = 16 * 1024;

/**
 * Spawns `node --import tsx <script> <args>` and waits for its first stdout line, a JSON
 * object with ready: true. The child keeps our pipe as stdin and exits when it closes.
 */
export function spawnReady<T>(script: string, args: string[]): Promise<ReadyProcess<T>> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, script), ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    cwd: join(here, '..', '..'),
    // Its own process group: Ctrl-C (or a supervisor's group kill) reaches only the IVR, which
    // then stops this child in order. Signalled all at once, postgres would exit under its
    // parent's feet and the orderly stop would wait for it forever.
    detached: true,
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    if (stderr.length < MAX_STDERR) stderr += chunk.toString('utf8');
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      await exited;
    })();
    return stopping;
  };
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      const end = buffered.indexOf('\n');
      if (end < 0) return;
      child.stdout!.off('data', onData);
      try {
        const { ready, ...info } = JSON.parse(buffered.slice(0, end)) as T & { ready?: boolean };
        if (ready !== true) throw new Error('not ready');
        resolve({ info: info as T, child, stop });
      } catch {
        void stop();
        reject(new Error(`${script} did not report ready: ${stderr}`));
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${script} exited (${code ?? 'signal'}) before it was ready: ${stderr}`)));
  });
}

export interface CityDbInfo {
  host: string;
  port: number;
  database: string;
  user: string;
}

export function startCityDbProcess(pki: Pki, options: Pick<DemoStackOptions, 'tmpRoot' | 'loadTestCitations'> = {}): Promise<ReadyProcess<CityDbInfo>> {
  const args = ['--ca', pki.ca, '--cert', pki.server.cert, '--key', pki.server.key];
  if (options.tmpRoot) args.push('--tmp-root', options.tmpRoot);
  if (options.loadTestCitations) args.push('--load-test-citations', options.loadTestCitations);
  return spawnReady<CityDbInfo>('city-db.ts', args);
}

export function startGatewayProcess(pki: Pki): Promise<ReadyProcess<{ port: number }>> {
  return spawnReady<{ port: number }>('test-gateway.ts', ['--ca', pki.ca, '--cert', pki.server.cert, '--key', pki.server.key]);
}

export async function startDemoStack(options: DemoStackOptions = {}): Promise<DemoStack> {
  const pki = createPki({ auditorName: AUDITOR_ROLE, ...(options.tmpRoot ? { tmpRoot: options.tmpRoot } : {}) });
  const clientTls: ClientTlsPaths = { ca: pki.ca, cert: pki.client.cert, key: pki.client.key };
  const started: Array<ReadyProcess<unknown>> = [];
  let stopping: Promise<void> | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    void stop().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      await Promise.allSettled(started.map((child) => child.stop()));
      pki.remove();
    })();
    return stopping;
  };
  if (options.handleSignals ?? true) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  // Both start in parallel; whatever did start is stopped again if the other failed.
  const [db, gateway] = await Promise.allSettled([startCityDbProcess(pki, options), startGatewayProcess(pki)]);
  for (const outcome of [db, gateway]) if (outcome.status === 'fulfilled') started.push(outcome.value);
  try {
    if (db.status === 'rejected') throw db.reason;
    if (gateway.status === 'rejected') throw gateway.reason;
    const auditor = { user: AUDITOR_ROLE, cert: pki.auditor!.cert, key: pki.auditor!.key };
    return {
      db: { ...db.value.info, tls: clientTls, auditor, pid: db.value.child.pid! },
      gateway: {
        url: `https://localhost:${gateway.value.info.port}/v1/charges`,
        host: 'localhost',
        port: gateway.value.info.port,
        tls: clientTls,
        pid: gateway.value.child.pid!,
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
