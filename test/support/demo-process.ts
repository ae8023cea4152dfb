// Runs `bin/traceless demo` for end-to-end tests: free loopback ports, its stdout JSON lines
// as an event stream a test can await, the `demo.ready` line (SIP/admin ports, the city
// database's connection info and process), and a teardown that SIGINTs it and waits —
// killing its whole process group only as a last resort (the database and gateway run in
// groups of their own and stop when the demo's end closes their stdin).
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 30_000;
/** How long one awaited event may take before the test fails with the recent lines. */
const DEFAULT_WAIT_MS = 60_000;
const MAX_STDERR = 64 * 1024;

/** One stdout line the demo wrote as JSON (log events, call records, demo.ready). */
export type DemoEvent = Record<string, unknown> & { event?: string; callId?: string };

export interface DemoInfo {
  sip: { host: string; port: number };
  admin: { host: string; port: number };
  db: {
    host: string;
    port: number;
    database: string;
    user: string;
    pid: number;
    tls: { ca: string; cert: string; key: string };
    auditor: { user: string; cert: string; key: string };
  };
  gateway: { url: string; pid: number };
}

async function bindsUdp(port: number): Promise<boolean> {
  const socket = createSocket('udp4');
  try {
    socket.bind(port, HOST);
    await Promise.race([once(socket, 'listening'), once(socket, 'error').then(([error]) => Promise.reject(error))]);
    return true;
  } catch {
    return false;
  } finally {
    socket.close();
  }
}

async function bindsTcp(port: number): Promise<boolean> {
  const server = createServer();
  try {
    server.listen(port, HOST);
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error))]);
    return true;
  } catch {
    return false;
  } finally {
    server.close();
  }
}

/**
 * Where SIP and admin ports are drawn from: above the media port range every server uses by
 * default (20000-29999), so one run's SIP port is never a pair another run's RTP wants.
 */
const SIP_PORTS = { from: 30_000, to: 60_000 };

/** A random high port free on 127.0.0.1 for UDP and TCP (SIP listens on both). */
export async function freeSipAndTcpPort(exclude: readonly number[] = []): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = randomInt(SIP_PORTS.from, SIP_PORTS.to);
    if (exclude.includes(port)) continue;
    if ((await bindsUdp(port)) && (await bindsTcp(port))) return port;
  }
  throw new Error('no free loopback port found');
}

interface Waiter {
  from: number;
  match: (event: DemoEvent) => boolean;
  resolve: (found: { event: DemoEvent; index: number }) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
  what: string;
}

export class DemoProcess {
  /** Every JSON line so far, in order. */
  readonly events: DemoEvent[] = [];
  /** Lines that were not JSON (the banner), for diagnostics. */
  readonly textLines: string[] = [];
  stderr = '';
  /** True once a stderr chunk was dropped because `stderr` had reached its cap (MAX_STDERR). */
  stderrTruncated = false;
  readonly #stdoutChunks: Buffer[] = [];
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  readonly #closed: Promise<void>;
  readonly #waiters = new Set<Waiter>();
  #exitError: Error | undefined;
  #stopping: Promise<void> | undefined;
  info!: DemoInfo;

  private constructor(child: ChildProcess) {
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    this.#closed = new Promise((resolve) => child.once('close', () => resolve()));
    child.once('exit', (code, signal) => {
      this.#exitError = new Error(`the demo exited (${code ?? signal}): ${this.stderr.slice(-2000)}`);
      for (const waiter of this.#waiters) this.#settle(waiter, () => waiter.reject(this.#exitError!));
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      if (this.stderr.length < MAX_STDERR) this.stderr += chunk.toString('utf8');
      else this.stderrTruncated = true;
    });
    child.stdout!.on('data', (chunk: Buffer) => this.#stdoutChunks.push(chunk));
    createInterface({ input: child.stdout! }).on('line', (line) => this.#onLine(line));
  }

  /**
   * Starts the demo on free ports and waits for its demo.ready line. `args` are extra demo
   * options (e.g. --log-level trace); `env` is added to this process's environment.
   */
  static async start(options: { args?: readonly string[]; env?: NodeJS.ProcessEnv } = {}): Promise<DemoProcess> {
    const sipPort = await freeSipAndTcpPort();
    const adminPort = await freeSipAndTcpPort([sipPort, sipPort + 10]);
    // detached: its own process group, so a last-resort kill reaches the database and gateway too.
    const args = ['demo', '--sip-port', String(sipPort), '--admin-port', String(adminPort), ...(options.args ?? [])];
    const child = spawn(join(ROOT, 'bin', 'traceless'), args, {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, ...options.env },
    });
    const demo = new DemoProcess(child);
    try {
      const { event } = await demo.waitFor((e) => e.event === 'demo.ready', { from: 0, timeoutMs: START_TIMEOUT_MS, what: 'demo.ready' });
      demo.info = event as unknown as DemoInfo;
    } catch (error) {
      await demo.stop();
      throw error;
    }
    return demo;
  }

  /** The IVR's own process (bin/traceless execs node, so this is the server). */
  get pid(): number {
    return this.#child.pid!;
  }

  get exited(): boolean {
    return this.#child.exitCode !== null || this.#child.signalCode !== null;
  }

  /** The exit status once it has exited (null while running or when a signal ended it). */
  get exitCode(): number | null {
    return this.#child.exitCode;
  }

  /** Index the next line will get: a cursor for waitFor. */
  get cursor(): number {
    return this.events.length;
  }

  #onLine(line: string): void {
    let event: DemoEvent;
    try {
      const parsed: unknown = JSON.parse(line);
      if (parsed === null || typeof parsed !== 'object') throw new Error('not an object');
      event = parsed as DemoEvent;
    } catch {
      this.textLines.push(line);
      return;
    }
    const index = this.events.push(event) - 1;
    for (const waiter of this.#waiters) {
      if (index >= waiter.from && waiter.match(event)) this.#settle(waiter, () => waiter.resolve({ event, index }));
    }
  }

  #settle(waiter: Waiter, action: () => void): void {
    if (!this.#waiters.delete(waiter)) return;
    clearTimeout(waiter.timer);
    action();
  }

  /**
   * The first event at or after `from` that matches. Fails (never hangs) if the demo exits or
   * nothing matches within the timeout, quoting the last lines for the diagnosis.
   */
  waitFor(
    match: (event: DemoEvent) => boolean,
    options: { from: number; timeoutMs?: number; what?: string },
  ): Promise<{ event: DemoEvent; index: number }> {
    for (let i = options.from; i < this.events.length; i++) {
      const event = this.events[i]!;
      if (match(event)) return Promise.resolve({ event, index: i });
    }
    if (this.#exitError) return Promise.reject(this.#exitError);
    return new Promise((resolve, reject) => {
      const what = options.what ?? 'event';
      const waiter: Waiter = {
        from: options.from,
        match,
        resolve,
        reject,
        what,
        timer: setTimeout(() => {
          const recent = this.events.slice(-15).map((e) => JSON.stringify(e)).join('\n');
          this.#settle(waiter, () => reject(new Error(`no ${what} from the demo; last lines:\n${recent}\n${this.stderr.slice(-2000)}`)));
        }, options.timeoutMs ?? DEFAULT_WAIT_MS),
      };
      this.#waiters.add(waiter);
    });
  }

  /** Events of one call (by our callId) between two cursors. */
  eventsOf(callId: string, from = 0, to = this.events.length): DemoEvent[] {
    return this.events.slice(from, to).filter((e) => e.callId === callId);
  }

  /** Resolves when the process has exited (e.g. after a signal the test sent). */
  whenExited(): Promise<void> {
    return this.#exited;
  }

  /**
   * Resolves when the process has exited and its stdout and stderr are closed: every byte it
   * wrote has been read (`exit` can come before the last output).
   */
  whenClosed(): Promise<void> {
    return this.#closed;
  }

  /** Everything the demo wrote to stdout so far, byte for byte (not re-serialised from events). */
  stdoutBytes(): Buffer {
    return Buffer.concat(this.#stdoutChunks);
  }

  /** Sends a signal to the IVR process alone (SIGTERM: drain). */
  signal(signal: NodeJS.Signals): void {
    this.#child.kill(signal);
  }

  /** GET or POST on the admin listener; resolves with the status and body text. */
  async admin(path: string, method: 'GET' | 'POST' = 'GET'): Promise<{ status: number; body: string }> {
    const response = await fetch(`http://${this.info.admin.host}:${this.info.admin.port}${path}`, { method });
    return { status: response.status, body: await response.text() };
  }

  /** SIGINT, then wait for exit; SIGKILL to the whole process group if it does not go. Safe to call twice. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      if (this.exited) return;
      this.#child.kill('SIGINT');
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), STOP_TIMEOUT_MS);
      });
      const late = await Promise.race([this.#exited.then(() => false), gaveUp]);
      clearTimeout(timer);
      if (late) {
        try {
          process.kill(-this.#child.pid!, 'SIGKILL');
        } catch {
          // the group is already gone
        }
        await this.#exited;
        throw new Error(`the demo did not stop within ${STOP_TIMEOUT_MS} ms of SIGINT and was killed`);
      }
    })();
    return this.#stopping;
  }
}

/**
 * One call's view of the demo's events: a cursor that only moves forward, so each wait finds
 * the next matching line of this call and never one already consumed.
 */
export class DemoCallLog {
  #cursor: number;
  constructor(
    private readonly demo: DemoProcess,
    readonly callId: string,
    from: number,
  ) {
    this.#cursor = from;
  }

  /** Waits for the next event of this call that matches, and moves past it. */
  async next(match: (event: DemoEvent) => boolean, what: string, timeoutMs?: number): Promise<DemoEvent> {
    const { event, index } = await this.demo.waitFor((e) => e.callId === this.callId && match(e), {
      from: this.#cursor,
      what: `${what} for call ${this.callId}`,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
    this.#cursor = index + 1;
    return event;
  }

  /**
   * The next entry step that takes keys: its `open` line, written as its prompt starts (keys
   * barge in from then on). Its `armed` line follows on the first key or at the prompt's end,
   * so waiting for `open` never mistakes one step for the next.
   */
  nextInput(step?: 'gather' | 'gatherSecret' | 'menu'): Promise<DemoEvent> {
    return this.next((e) => e.event === 'flow.step' && e.kind === 'open' && (step === undefined || e.step === step), `open ${step ?? 'entry'}`);
  }

  /** This call's record (it is written once, at the end). */
  cdr(): Promise<DemoEvent> {
    return this.demo.waitFor((e) => e.event === 'cdr' && e.callId === this.callId, { from: 0, what: `cdr for call ${this.callId}` }).then((f) => f.event);
  }

  /** Every line of this call so far. */
  all(): DemoEvent[] {
    return this.demo.eventsOf(this.callId);
  }
}
