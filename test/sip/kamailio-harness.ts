// Runs inside a loopback-only network namespace (loopback-namespace.ts): the test UAS on UDP,
// two Kamailio proxies in a chain (sipp → edge → core → UAS, both record-routing unless told
// not to), then sipp as the UAC with one scenario sent to the edge. Prints as JSON sipp's exit
// code and message log, what the UAS saw, the ports, and every message each proxy traced
// (fixtures/kamailio/proxy.cfg writes them to its stderr).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startTestUas } from './test-uas.ts';

export interface ProxyTrace {
  proxy: 'edge' | 'core';
  /** received-request / received-reply (from peer) or sent-request (to peer). */
  event: string;
  peer: string;
  text: string;
}

export interface KamailioRun {
  code: number | null;
  stderr: string;
  ports: { uas: number; core: number; edge: number; sipp: number };
  traces: ProxyTrace[];
  sippMessages: string;
}

const SIPP_PORT = 5070;
const TRACE = /KAMTRACE (edge|core) (\S+) (\S+)\n([\s\S]*?)\nKAMTRACE-END/g;

/** A free UDP port on loopback (the namespace is private, so nothing else can take it meanwhile). */
async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const { port } = socket.address();
  socket.close();
  return port;
}

class Proxy {
  private stderr = '';
  private readonly child: ChildProcess;
  readonly exited: Promise<unknown>;

  constructor(
    readonly name: 'edge' | 'core',
    readonly port: number,
    nextHop: number,
    dir: string,
    recordRoute: boolean,
  ) {
    const run = join(dir, name);
    mkdirSync(run);
    const defines = [`LISTEN=udp:127.0.0.1:${port}`, `NEXT_HOP="sip:127.0.0.1:${nextHop}"`, `PROXY_NAME="${name}"`];
    if (!recordRoute) defines.push('NO_RECORD_ROUTE');
    // -DD: foreground, children forked; -E: log to stderr; -Y/-P/-w: every file it might write
    // lands in the temp dir. Its own process group, so stop() reaches the children too.
    const args = ['-f', resolve(import.meta.dirname, '../fixtures/kamailio/proxy.cfg'), '-DD', '-E', '-Y', run, '-P', join(run, 'kamailio.pid'), '-w', run, '-m', '16', '-M', '4'];
    this.child = spawn('kamailio', [...args, ...defines.flatMap((define) => ['-A', define])], { cwd: run, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('latin1')));
    this.exited = once(this.child, 'close'); // after its last stderr bytes
  }

  get failure(): string {
    return `kamailio ${this.name} exited ${this.child.exitCode}: ${this.stderr.slice(-2000)}`;
  }

  traces(): ProxyTrace[] {
    return [...this.stderr.matchAll(TRACE)].map(([, proxy, event, peer, text]) => ({ proxy: proxy as 'edge' | 'core', event: event!, peer: peer!, text: text! }));
  }

  /** SIGTERM to the group (the main process also stops its children), SIGKILL if it lingers. */
  async stop(): Promise<void> {
    const group = -this.child.pid!;
    const signal = (name: NodeJS.Signals) => {
      try {
        process.kill(group, name);
      } catch {
        // ESRCH: the group is already gone
      }
    };
    if (this.child.exitCode === null && this.child.signalCode === null) {
      signal('SIGTERM');
      const fallback = setTimeout(() => signal('SIGKILL'), 5000);
      await this.exited;
      clearTimeout(fallback);
    }
    signal('SIGKILL'); // any child the main process left behind
  }
}

const [scenario = '', service = '', routing = 'record-route', ...extra] = process.argv.slice(2);
const { server, report, settled } = await startTestUas({ udp: { host: '127.0.0.1', port: 0 } });
const dir = mkdtempSync(join(tmpdir(), 'traceless-kamailio-'));
const proxies: Proxy[] = [];
try {
  const uas = server.address('udp')!.port;
  const core = new Proxy('core', await freeUdpPort(), uas, dir, routing === 'record-route');
  proxies.push(core);
  const edge = new Proxy('edge', await freeUdpPort(), core.port, dir, routing === 'record-route');
  proxies.push(edge);
  // Ready when an OPTIONS from the UAS comes back through edge → core → UAS with 200
  // (Timer E retransmits it until both proxies have bound their sockets).
  const probe = server.options('udp', { address: '127.0.0.1', port: edge.port });
  const down = Promise.race(proxies.map((proxy) => proxy.exited.then(() => proxy.failure)));
  const ready = await Promise.race([probe, down]);
  if (ready !== 200) throw new Error(`proxies not ready (${String(ready)})`);

  const messages = join(dir, 'sipp-messages.log');
  const child = spawn(
    'sipp',
    [`127.0.0.1:${edge.port}`, '-sf', resolve(import.meta.dirname, '../fixtures/sipp', scenario), '-s', service, '-t', 'u1', '-i', '127.0.0.1', '-p', String(SIPP_PORT), '-m', '1', '-nostdin', '-timeout', '30s', '-timeout_error', '-trace_msg', '-message_file', messages, ...extra],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code === 0) await settled();
  await Promise.all(proxies.map((proxy) => proxy.stop())); // so every trace line is in
  const run: KamailioRun = {
    code,
    stderr: stderr.slice(0, 1000),
    ports: { uas, core: core.port, edge: edge.port, sipp: SIPP_PORT },
    traces: proxies.flatMap((proxy) => proxy.traces()),
    sippMessages: existsSync(messages) ? readFileSync(messages, 'latin1') : '',
  };
  process.stdout.write(`${JSON.stringify({ ...run, ...report })}\n`);
} finally {
  await Promise.all(proxies.map((proxy) => proxy.stop()));
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
