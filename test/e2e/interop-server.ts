// The real server for the interop harnesses: `bin/traceless start` with a config and a flow
// written to a temp dir, its stdout JSON lines collected as events a harness can wait on. Runs
// inside the harness's loopback-only network namespace (test/support/loopback-namespace.ts), so
// the fixed ports below cannot collide with anything: the namespace is new for every run.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { TestPki } from '../sip/tls-fixture.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SIP_PORT = 5060;
export const SIPS_PORT = 5061;
/** The number the peers dial: configured, so the log masker leaves it readable. */
export const DIALLED = '5551000';
/** The server's RTP port range (baresip and sipp use ports outside it). */
export const MEDIA_PORTS = { min: 40000, max: 40099 };
const START_TIMEOUT_MS = 30_000;
const WAIT_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

export type ServerEvent = Record<string, unknown> & { event?: string; callId?: string };

export interface ServerOptions {
  /** Working directory for the config and flow files (the harness's temp dir). */
  readonly dir: string;
  /** The entries the flow expects, each digits + terminator (interop-flow.ts). */
  readonly entries: readonly string[];
  /** Adds a TLS listener with this PKI's server certificate. */
  readonly pki?: TestPki;
}

interface Waiter {
  match: (event: ServerEvent) => boolean;
  /** Matches still to see before this one resolves. */
  remaining: number;
  resolve: (event: ServerEvent) => void;
}

export class InteropServer {
  readonly events: ServerEvent[] = [];
  stderr = '';
  exitCode: number | null = null;
  readonly #waiters = new Set<Waiter>();
  readonly #exited: Promise<void>;
  readonly #child;

  private constructor(configFile: string) {
    this.#child = spawn(join(ROOT, 'bin', 'traceless'), ['start', '-c', configFile], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#exited = once(this.#child, 'exit').then(([code]) => {
      this.exitCode = code as number | null;
    });
    this.#child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    createInterface({ input: this.#child.stdout }).on('line', (line) => {
      let event: ServerEvent;
      try {
        event = JSON.parse(line) as ServerEvent;
      } catch {
        return;
      }
      this.events.push(event);
      for (const waiter of this.#waiters) {
        if (waiter.match(event) && --waiter.remaining === 0) {
          this.#waiters.delete(waiter);
          waiter.resolve(event);
        }
      }
    });
  }

  /** Writes config + flow, starts the server and waits for its server.start line. */
  static async start(options: ServerOptions): Promise<InteropServer> {
    const flowFile = join(options.dir, 'flow.ts');
    const flowModule = fileURLToPath(new URL('./interop-flow.ts', import.meta.url));
    writeFileSync(
      flowFile,
      `import { keysFlow } from ${JSON.stringify(flowModule)};\nexport default keysFlow(${JSON.stringify(options.entries)});\n`,
    );
    const listeners: unknown[] = [{ transport: 'udp', address: '127.0.0.1', port: SIP_PORT }];
    if (options.pki) {
      listeners.push({
        transport: 'tls',
        address: '127.0.0.1',
        port: SIPS_PORT,
        tls: { certFile: options.pki.paths.serverCert, keyFile: options.pki.paths.serverKey },
      });
    }
    const config = {
      sip: { listeners, trustedPeers: ['127.0.0.0/8'] },
      // srtp is left at its default (if-tls): SRTP required for calls that come over TLS. In-band
      // detection is on (also the default): the SRTP test keys digits as tones in its audio.
      media: { address: '127.0.0.1', portRange: MEDIA_PORTS, inbandDtmf: true },
      cells: { max: 4 },
      numbers: { [DIALLED]: 'interop' },
      applications: { interop: { flow: flowFile, agentUri: 'sip:agent@127.0.0.1' } },
      admin: { address: '127.0.0.1', port: 0 },
    };
    const configFile = join(options.dir, 'config.yaml');
    // JSON is YAML: no serialiser needed.
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    const server = new InteropServer(configFile);
    try {
      await server.waitFor((e) => e.event === 'server.start', 'server.start', 1, START_TIMEOUT_MS);
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  /**
   * The `occurrence`-th event (1 = first, counting those already seen) that matches; rejects on
   * timeout or exit.
   */
  waitFor(match: (event: ServerEvent) => boolean, what: string, occurrence = 1, timeoutMs = WAIT_TIMEOUT_MS): Promise<ServerEvent> {
    const seen = this.events.filter(match);
    if (seen.length >= occurrence) return Promise.resolve(seen[occurrence - 1]!);
    return new Promise((resolve, reject) => {
      const fail = (why: string): void => {
        this.#waiters.delete(waiter);
        clearTimeout(timer);
        reject(new Error(`no ${what} from the server (${why}); last lines:\n${this.events.slice(-10).map((e) => JSON.stringify(e)).join('\n')}\n${this.stderr.slice(-1500)}`));
      };
      const waiter: Waiter = {
        match,
        remaining: occurrence - seen.length,
        resolve: (event) => {
          clearTimeout(timer);
          resolve(event);
        },
      };
      const timer = setTimeout(() => fail('timeout'), timeoutMs);
      void this.#exited.then(() => fail('the server exited'));
      this.#waiters.add(waiter);
    });
  }

  /** Every line of one call (by our callId). */
  callEvents(callId: string): ServerEvent[] {
    return this.events.filter((e) => e.callId === callId);
  }

  /** SIGINT (ends calls, wipes cells, exits 0), bounded; SIGKILL if it does not go. Safe twice. */
  async stop(): Promise<void> {
    if (this.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGINT');
    let timer: NodeJS.Timeout | undefined;
    const late = await Promise.race([
      this.#exited.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), STOP_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    if (late) {
      this.#child.kill('SIGKILL');
      await this.#exited;
    }
  }
}
