// Composition: builds every layer from a validated config, in dependency order, and tears
// them down in reverse. Start-up order: hardening → logger/metrics → cells → prompts → flows →
// backends → media → SIP → admin. Nothing listens until everything before it has loaded.
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { CellPool } from '../vault/cell-pool.ts';
import { blockInspectorSignal, enforceHardening, hardeningFindings, readHardeningInput } from '../vault/hardening.ts';
import { createLogger, type LogDestination, type Logger } from '../observe/logger.ts';
import { createMetrics, type Metrics } from '../observe/metrics.ts';
import { createCallerMasker } from '../observe/caller-mask.ts';
import { liveness, readiness } from '../observe/health.ts';
import { PortPool } from '../media/port-pool.ts';
import { MediaClock } from '../media/media-clock.ts';
import type { MediaServices } from '../media/call-media.ts';
import { SipServer, type SipServerConfig } from '../sip/sip-server.ts';
import { createAdmission, type AdmissionCounter } from '../sip/admission.ts';
import type { SipRequest } from '../sip/message.ts';
import { firstHeader } from '../sip/headers.ts';
import { parseNameAddr } from '../sip/name-addr.ts';
import { userPart } from '../sip/uri.ts';
import type { Source, TransportKind } from '../sip/transport.ts';
import { loadFlowFile } from '../flow/commands.ts';
import { defineFlow } from '../flow/define-flow.ts';
import type { Language } from '../flow/say-as.ts';
import { configPath, type LoadedConfig } from './config-load.ts';
import { readSecretRef } from './secret-ref.ts';
import { backendPortFor, buildBackends, paymentPortFor, type Backends } from './backends.ts';
import { handleIncomingCall, recordRejection, type ActiveCall, type AppRuntime, type CutCause, type Rejection } from './call-handler.ts';
import { startAdminHttp, type AdminHttp } from './admin-http.ts';
import { loadPromptAssets, type PromptAssets } from './prompt-assets.ts';
import { testHooks } from './test-hooks.ts';

export interface ServerOptions {
  unsafeDebug?: boolean;
  /** Log destination (default stdout). */
  logDestination?: LogDestination;
  /** Where the prompt catalogue lives (default: the package's prompts/). */
  promptsRoot?: string;
}

export interface RunningServer {
  readonly logger: Logger;
  readonly metrics: Metrics;
  sipAddress(kind: TransportKind): { address: string; port: number } | undefined;
  readonly adminPort: number;
  /** SIGTERM: readiness false, new INVITEs 503, active calls finish (up to drainSeconds), then close. */
  drain(): Promise<void>;
  /** Ends every call (each cell wiped), closes every listener and connection; safe to call twice. */
  close(): Promise<void>;
}

const PACKAGE_VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export async function startServer(loaded: LoadedConfig, options: ServerOptions = {}): Promise<RunningServer> {
  const { config } = loaded;
  const findings = hardeningFindings(readHardeningInput(), { unsafeDebug: options.unsafeDebug === true });
  enforceHardening(findings);
  blockInspectorSignal();

  const metrics = createMetrics({ backends: Object.keys(config.backends) });
  const logger = createLogger({
    level: config.log.level,
    ...(options.logDestination ? { destination: options.logDestination } : {}),
    allowedNumbers: Object.keys(config.numbers).filter((number) => number !== '*'),
    onMaskHit: (rule) => metrics.logMaskHit(rule),
  });
  metrics.observeLogger(() => logger.stats());
  for (const finding of findings) logger.event('security.warning', { code: finding.id, detail: finding.remedy });
  if (testHooks.gc) logger.event('security.warning', { code: 'test-gc', detail: 'TRACELESS_TEST_GC: POST /test/gc forces garbage collection (tests only)' });
  if (testHooks.leakKeys) logger.event('security.warning', { code: 'test-leak-canary', detail: 'TRACELESS_TEST_LEAK_CANARY: secure keys are copied into strings (leaking test build)' });
  if (config.insecureDevelopment) logger.event('security.warning', { code: 'insecure-development', detail: 'plaintext PostgreSQL connections are allowed' });
  if (config.sip.trustedPeers === undefined && config.sip.auth === undefined) {
    logger.event('security.warning', { code: 'open-admission', detail: 'no trustedPeers and no auth: every source may call' });
  }

  const pool = new CellPool({ cells: config.cells.max, slotsPerCell: config.cells.secretsPerCall, logger });
  metrics.observeCells(() => ({ active: pool.stats.active, free: pool.stats.free }));
  const memlock = pool.memoryLock();
  if (memlock.state !== 'locked') logger.event('security.warning', { code: 'memlock', detail: memlock.remedy ?? 'raise ulimit -l' });

  // Closed last to first: the pool's final wipe is counted before the metrics stop.
  const closers: Array<() => Promise<void> | void> = [
    () => metrics.close(),
    () => {
      const report = pool.shutdown();
      metrics.poolShutdown(report);
      logger.event('vault.shutdown', { callsEnded: report.callsEnded, cellsWiped: report.cellsWiped, verified: report.verified });
    },
  ];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.splice(0).reverse()) {
      try {
        await close();
      } catch (error) {
        logger.error({ code: (error as { code?: string }).code ?? 'close-failed' }, 'close failed');
      }
    }
    logger.flush();
  };

  try {
    const assets = loadPromptAssets(loaded, options.promptsRoot ? { promptsRoot: options.promptsRoot } : {});
    const prompts = assets.store;

    const backends = buildBackends(loaded, logger);
    closers.push(() => backends.close());
    await backends.warm();
    const apps = await loadApps(loaded, backends, assets);

    const clock = new MediaClock({
      onStreamError: () => logger.error({ code: 'media-stream-error' }, 'a media stream failed'),
      onLateness: (ms) => metrics.mediaClockLatenessMs(ms),
    });
    closers.push(() => clock.close());
    const media: MediaServices = {
      pool: new PortPool(config.media.portRange),
      clock,
      config: {
        bindAddress: config.media.address,
        ...(config.media.advertiseAddress ? { advertisedAddress: config.media.advertiseAddress } : {}),
        srtpPolicy: config.media.srtp,
        inactivityMs: config.media.inactivitySeconds * 1000,
      },
    };

    let draining = false;
    /** What calls still up at close are ended for: SIGINT's close, or the drain limit. */
    let cutCause: CutCause = 'shutdown';
    const calls = new Set<ActiveCall>();
    const services = {
      pool,
      media,
      prompts,
      apps,
      logger,
      metrics,
      callerMask: createCallerMasker({ mode: config.log.callerNumber }),
      inbandDtmf: config.media.inbandDtmf,
      configuredNumbers: new Set(Object.keys(config.numbers).filter((number) => number !== '*')),
      track(call: ActiveCall) {
        calls.add(call);
        void call.done.finally(() => calls.delete(call));
      },
    };
    const sip = await SipServer.start(sipConfig(loaded, {
      onCall: (call) => handleIncomingCall(call, services),
      admission: admissionHook(loaded, () => draining, () => pool.stats.active, (rejection) => recordRejection(rejection, services)),
      onReject: ({ invite, ...rejection }) => recordRejection({ ...rejection, ...inviteParties(invite) }, services),
      routing: (dialled) => config.numbers[dialled] ?? config.numbers['*'] ?? FALLBACK_APP,
      logger,
      // SIP traces only at trace level; the logger redacts credentials, keys and bodies.
      ...(logger.isLevelEnabled('trace')
        ? {
            onTrace: (direction: 'in' | 'out', transport: TransportKind, bytes: Buffer) =>
              logger.event('sip.trace', { direction, transport, bytes: bytes.length, message: bytes }),
          }
        : {}),
    }));
    closers.push(() => sip.close());
    // Before SIP closes: each call still up is hung up by its own handler and waited for, so
    // its cell is wiped and its record written with the real cause — not left to the pool.
    closers.push(async () => {
      if (calls.size === 0) return;
      for (const call of calls) call.cut(cutCause);
      await settledWithin([...calls].map((call) => call.done), CALL_END_GRACE_MS);
      // One loop turn for the BYEs just queued to reach the sockets: a UDP send made in the
      // same turn as the socket's close is dropped, and the caller would never hear our goodbye.
      await new Promise<void>((resolve) => setImmediate(resolve));
    });

    const loopDelay = eventLoopDelay();
    closers.push(() => void loopDelay.close());
    const admin: AdminHttp = await startAdminHttp({
      address: config.admin.address,
      port: config.admin.port,
      ...(config.admin.token ? { token: readSecretRef(loaded, config.admin.token) } : {}),
      ...(testHooks.gc ? { testGc: testHooks.gc } : {}),
      metrics: async () => ({ contentType: metrics.contentType, body: await metrics.exposition() }),
      liveness: () => liveness({ eventLoopDelayMaxMs: loopDelay.maxSinceLastCheckMs() }),
      readiness: () =>
        readiness({
          started: true,
          draining,
          cells: { free: pool.stats.free, total: config.cells.max },
          memlock: memlock.state,
          backends: backends.health(),
        }),
    });
    closers.push(() => admin.close());

    logger.event('server.start', {
      version: PACKAGE_VERSION,
      cells: config.cells.max,
      memlock: memlock.state,
      sipListeners: config.sip.listeners.length,
      adminListener: `${config.admin.address}:${admin.port}`,
    });

    return {
      logger,
      metrics,
      sipAddress: (kind) => sip.address(kind),
      adminPort: admin.port,
      async drain() {
        draining = true;
        const started = performance.now();
        logger.event('server.drain', { phase: 'started', activeCalls: calls.size });
        const finished = await settledWithin([...calls].map((call) => call.done), config.drainSeconds * 1000);
        logger.event('server.drain', { phase: finished ? 'complete' : 'timeout', activeCalls: calls.size, elapsedMs: performance.now() - started });
        if (!finished) cutCause = 'drain-timeout';
        await closeAll();
      },
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** How long calls cut at close may take to end (BYE sent, flow stopped, cell wiped) before exit goes on. */
const CALL_END_GRACE_MS = 5000;

/** True when every promise settled within `ms`; false when the time ran out first. */
async function settledWithin(promises: readonly Promise<unknown>[], ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<false>((resolve) => {
    timer = setTimeout(resolve, ms, false);
  });
  try {
    return await Promise.race([Promise.allSettled(promises).then(() => true), limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** The longest event-loop stall between two liveness checks. */
function eventLoopDelay() {
  const histogram = monitorEventLoopDelay({ resolution: 20 });
  histogram.enable();
  return {
    maxSinceLastCheckMs(): number {
      const maxMs = histogram.max / 1e6;
      histogram.reset();
      return maxMs;
    },
    close: () => histogram.disable(),
  };
}

/**
 * Numbers nobody configured get this app: answered (100, 200, media) exactly like a configured
 * one, then told the service is unavailable — so numbers cannot be enumerated by response.
 */
const FALLBACK_APP = 'not-in-service';
const notInService = defineFlow(async (call) => {
  await call.say('error.unavailable');
});

async function loadApps(loaded: LoadedConfig, backends: Backends, assets: PromptAssets): Promise<Map<string, AppRuntime>> {
  const apps = new Map<string, AppRuntime>();
  const firstLanguage = Object.values(loaded.config.applications)[0]?.languages[0] ?? 'en-US';
  apps.set(FALLBACK_APP, {
    name: FALLBACK_APP,
    flow: notInService,
    settings: { agentTarget: null, language: firstLanguage as Language, catalogue: assets.lookup },
    prompts: assets.forApp(FALLBACK_APP),
    backendFor: (cell) => backendPortFor(backends, [], cell),
    payment: paymentPortFor(backends, false),
  });
  for (const [name, app] of Object.entries(loaded.config.applications)) {
    const flow = await loadFlowFile(configPath(loaded, app.flow));
    apps.set(name, {
      name,
      flow,
      settings: { agentTarget: app.agentUri, language: app.languages[0] as Language, catalogue: assets.lookup },
      prompts: assets.forApp(name),
      backendFor: (cell) => backendPortFor(backends, app.backends, cell),
      payment: paymentPortFor(backends, app.payment),
    });
  }
  return apps;
}

/** Which admission counter a refusal moved: the reason its line and record give. */
function refusalReason(before: Readonly<Record<AdmissionCounter, number>>, after: Readonly<Record<AdmissionCounter, number>>): string {
  // A wrong password moves both auth-failed and challenged; the failure is the news.
  if (after['auth-failed'] > before['auth-failed']) return 'auth-failed';
  const moved = (Object.keys(after) as AdmissionCounter[]).find((counter) => counter !== 'admitted' && after[counter] > before[counter]);
  return moved ?? 'refused';
}

/** Who the INVITE says is calling whom (user parts; the rejection masks or drops them). */
function inviteParties(invite: SipRequest): { dialled: string; caller: string } {
  const from = firstHeader(invite, 'From');
  const callerUri = from === undefined ? undefined : parseNameAddr(from)?.uri;
  return { dialled: userPart(invite.uri) ?? '', caller: (callerUri === undefined ? undefined : userPart(callerUri)) ?? '' };
}

function admissionHook(
  loaded: LoadedConfig,
  draining: () => boolean,
  activeCalls: () => number,
  onReject: (rejection: Rejection) => void,
) {
  const { sip, cells } = loaded.config;
  const users = new Map((sip.auth?.users ?? []).map((user) => [user.username, readSecretRef(loaded, user.password)]));
  const admission = createAdmission({
    maxCalls: cells.max,
    activeCalls,
    inviteRate: { perSecond: sip.invitesPerSecondPerSource, burst: Math.max(1, Math.ceil(sip.invitesPerSecondPerSource)) },
    ...(sip.trustedPeers ? { trustedPeers: sip.trustedPeers } : {}),
    ...(sip.auth
      ? { digest: { realm: sip.auth.realm, credentials: (username: string) => users.get(username), algorithms: sip.auth.algorithms } }
      : {}),
  });
  return (invite: SipRequest, source: Source) => {
    const before = { ...admission.counters };
    const decision = draining() ? DRAINING : admission.hook(invite, source);
    if (!decision.ok) {
      const reason = draining() ? 'draining' : refusalReason(before, admission.counters);
      onReject({ method: invite.method, status: decision.status, reason, transport: source.kind, ...inviteParties(invite) });
    }
    return decision;
  };
}

const DRAINING = { ok: false, status: 503, reason: 'Service Unavailable', retryAfter: 30 } as const;

function sipConfig(
  loaded: LoadedConfig,
  hooks: Pick<SipServerConfig, 'onCall' | 'admission' | 'onReject' | 'routing' | 'logger' | 'onTrace'>,
): SipServerConfig {
  const { sip } = loaded.config;
  const stream = { maxConnections: sip.maxConnections, idleTimeoutMs: sip.idleTimeoutSeconds * 1000 };
  const config: { -readonly [K in keyof SipServerConfig]: SipServerConfig[K] } = { ...hooks, maxTransactions: sip.maxTransactions, minSessionExpires: sip.minSessionExpiresSeconds };
  for (const listener of sip.listeners) {
    if (listener.transport === 'udp') config.udp = { host: listener.address, port: listener.port };
    else if (listener.transport === 'tcp') config.tcp = { host: listener.address, port: listener.port, ...stream };
    else if (listener.tls) {
      config.tls = {
        host: listener.address,
        port: listener.port,
        ...stream,
        cert: readFileSync(configPath(loaded, listener.tls.certFile)),
        key: readFileSync(configPath(loaded, listener.tls.keyFile)),
        ...(listener.tls.caFile ? { ca: readFileSync(configPath(loaded, listener.tls.caFile)) } : {}),
        verifyClients: listener.tls.requireClientCert,
      };
    }
  }
  return config;
}
