// `traceless demo`: the parking line against its own city database and test payment gateway,
// each a separate process on loopback with a throwaway CA (apps/parking/demo-stack.ts).
import { fileURLToPath } from 'node:url';
import { configSchema } from '../server/config-schema.ts';
import type { LoadedConfig } from '../server/config-load.ts';
import { startServer } from '../server/server.ts';
import { startDemoStack, type DemoStack } from '../../apps/parking/demo-stack.ts';
import { CITY_OPERATIONS } from '../../apps/parking/backends.ts';
import { runUntilSignal } from './run-until-signal.ts';

const packageRoot = fileURLToPath(new URL('../..', import.meta.url));

export type DemoLogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

export interface DemoOptions {
  sipPort: number;
  adminPort: number;
  /** Seconds without RTP before a call is hung up (config media.inactivitySeconds, default 30). */
  mediaTimeoutSeconds?: number;
  /** Log level (config log.level, default info); `trace` adds redacted SIP traces. */
  logLevel?: DemoLogLevel;
}

/** The demo's configuration, built from the running stack and checked by the same schema as a file. */
export function demoConfig(stack: Pick<DemoStack, 'db' | 'gateway'>, options: DemoOptions): LoadedConfig {
  const tls = (paths: { ca: string; cert: string; key: string }) => ({
    caFile: paths.ca,
    certFile: paths.cert,
    keyFile: paths.key,
    serverName: 'localhost',
  });
  const config = configSchema.parse({
    sip: {
      listeners: [
        { transport: 'udp', address: '127.0.0.1', port: options.sipPort },
        { transport: 'tcp', address: '127.0.0.1', port: options.sipPort },
      ],
      trustedPeers: ['127.0.0.0/8', '::1/128'],
    },
    media: { address: '127.0.0.1', inactivitySeconds: options.mediaTimeoutSeconds ?? 30 },
    cells: { max: 200 },
    numbers: { '3115550100': 'parking', '*': 'parking' },
    applications: {
      parking: {
        flow: 'apps/parking/flow.ts',
        languages: ['en-US', 'es-US'],
        agentUri: `sip:agent@127.0.0.1:${options.sipPort + 10}`,
        backends: ['city'],
        payment: true,
      },
    },
    backends: {
      city: {
        type: 'postgres',
        host: stack.db.host,
        port: stack.db.port,
        database: stack.db.database,
        user: stack.db.user,
        tls: tls(stack.db.tls),
        operations: CITY_OPERATIONS,
      },
    },
    payment: { type: 'https-gateway', chargeUrl: stack.gateway.url, tls: tls(stack.gateway.tls) },
    admin: { address: '127.0.0.1', port: options.adminPort },
    log: { level: options.logLevel ?? 'info' },
  });
  return { config, baseDir: packageRoot };
}

/**
 * One machine-readable line, printed once the demo answers, for scripts and the end-to-end
 * tests: where to call, and how to reach the city database (host, port, roles, the paths of
 * the throwaway certificates — never their contents) and its process, e.g. to stop it.
 */
export function demoReadyLine(stack: Pick<DemoStack, 'db' | 'gateway'>, sipPort: number, adminPort: number): Record<string, unknown> {
  const { db, gateway } = stack;
  return {
    event: 'demo.ready',
    sip: { host: '127.0.0.1', port: sipPort, transports: ['udp', 'tcp'] },
    admin: { host: '127.0.0.1', port: adminPort },
    db: {
      host: db.host,
      port: db.port,
      database: db.database,
      user: db.user,
      pid: db.pid,
      tls: { ca: db.tls.ca, cert: db.tls.cert, key: db.tls.key },
      auditor: db.auditor,
    },
    gateway: { url: gateway.url, pid: gateway.pid },
  };
}

export async function runDemo(options: DemoOptions): Promise<void> {
  const stack = await startDemoStack({ handleSignals: false });
  try {
    const server = await startServer(demoConfig(stack, options));
    const sip = server.sipAddress('udp');
    const uri = `sip:3115550100@127.0.0.1:${sip?.port ?? options.sipPort}`;
    process.stdout.write(`${JSON.stringify(demoReadyLine(stack, sip?.port ?? options.sipPort, server.adminPort))}\n`);
    process.stdout.write(
      [
        '',
        'Traceless demo: the parking-ticket line is answering.',
        `  call it:  ${uri}`,
        `  sipp:     sipp -sn uac -m 1 -s 3115550100 127.0.0.1:${sip?.port ?? options.sipPort}`,
        `  baresip:  baresip -e "/dial ${uri}"`,
        `  metrics:  http://127.0.0.1:${server.adminPort}/metrics`,
        '  test data: citation 12345678, plate 7ABC123 (keyed 7222123) state 01; card 4111111111111111',
        'Ctrl-C stops everything and removes every temporary file.',
        '',
      ].join('\n'),
    );
    await runUntilSignal(server, () => stack.stop());
  } catch (error) {
    await stack.stop();
    throw error;
  }
}
