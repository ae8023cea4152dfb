// The incoming-call hand-off: where SIP meets media, the cell and the flow. One call's whole
// life is here, and every way out of it — BYE either side, CANCEL, transfer, session timer,
// media inactivity, flow error, shutdown — ends in the same place: cell.release(), which closes
// what the call holds, zeroes the arena and reads it back before the cell serves another call.
import { randomInt } from 'node:crypto';
import type { CellPool } from '../vault/cell-pool.ts';
import type { Cell, ReleaseReason, ReleaseReport } from '../vault/cell.ts';
import type { IncomingCall, EndCause } from '../sip/incoming-call.ts';
import type { TransportKind } from '../sip/transport.ts';
import { CallMedia, type MediaServices } from '../media/call-media.ts';
import { Player } from '../media/player.ts';
import { DtmfReceiver } from '../media/dtmf-receiver.ts';
import { INFO_DTMF_TYPES } from '../media/dtmf-info.ts';
import type { PromptStore } from '../media/prompt-store.ts';
import type { Logger } from '../observe/logger.ts';
import type { Metrics } from '../observe/metrics.ts';
import { UNLISTED_DIALLED, type CallOutcome, type EventFields } from '../observe/events.ts';
import { startCallRecord, type CallRecordBuilder } from '../observe/call-record.ts';
import type { CallerMasker } from '../observe/caller-mask.ts';
import type { Flow } from '../flow/define-flow.ts';
import type { FlowSettings, FlowEvent } from '../flow/call-context.ts';
import type { BackendPort, PaymentPort } from '../flow/ports.ts';
import { runFlow, type FlowOutcome } from '../flow/runner.ts';
import { cellPort } from '../flow/vault-cell-port.ts';
import { audioPort, callControlPort, keyPort, KeyResponseClock, realScheduler, type PromptSource } from './call-ports.ts';

/** What the server knows about one configured application. */
export interface AppRuntime {
  readonly name: string;
  readonly flow: Flow;
  readonly settings: Partial<FlowSettings>;
  /** Each call gets a backend port that returns sensitive columns into its own cell. */
  readonly backendFor: (cell: Cell) => BackendPort;
  readonly payment: PaymentPort;
  /** The clips and audio files this app's flows may play (absent: the catalogue in services.prompts). */
  readonly prompts?: PromptSource;
}

export interface CallHandlerServices {
  readonly pool: CellPool;
  readonly media: MediaServices;
  readonly prompts: PromptStore;
  readonly apps: ReadonlyMap<string, AppRuntime>;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly callerMask: CallerMasker;
  readonly inbandDtmf: boolean;
  /** The numbers the configuration names: only these are logged as dialled, any other as "other". */
  readonly configuredNumbers: ReadonlySet<string>;
  /** Called with every call as it arrives, so drain can wait for it and shutdown can end it. */
  readonly track: (call: ActiveCall) => void;
}

/** Why the server itself ended a call that was still up (its record's hang-up cause). */
export type CutCause = 'drain-timeout' | 'shutdown';

/** One call as the server's lifecycle sees it. */
export interface ActiveCall {
  /** Settles once the call has ended, its cell is wiped and its record written. */
  readonly done: Promise<void>;
  /** Hangs the call up from our side; it ends as outcome 'failed' with this cause. */
  cut(cause: CutCause): void;
}

const RETRY_AFTER_SECONDS = '5';

/**
 * The dialled number as logs and records may carry it. The Request-URI user part is whatever
 * the caller sent — an unconfigured number routed to "not in service" can be a card number —
 * so only the numbers the configuration names are written; every other is "other".
 */
export function dialledLabel(dialled: string, configured: ReadonlySet<string>): string {
  return configured.has(dialled) ? dialled : UNLISTED_DIALLED;
}

/** A request refused with a final failure response. */
export interface Rejection {
  readonly method: string;
  readonly status: number;
  /** Why, as a log id of our own (e.g. full, rate-limited, draining, untrusted, no-cell). */
  readonly reason: string;
  readonly transport: TransportKind;
  /** Request-URI user part, when known (logged only if configured). */
  readonly dialled?: string;
  /** From user part, when known (masked before it is written). */
  readonly caller?: string;
}

export type RejectionServices = Pick<CallHandlerServices, 'logger' | 'metrics' | 'callerMask' | 'configuredNumbers'>;

function logRejection(logger: Logger, callId: string | undefined, rejection: Rejection): void {
  const { method, status, reason, transport } = rejection;
  logger.event('sip.reject', { ...(callId === undefined ? {} : { callId }), method, status, reason, transport });
}

/**
 * Every refused INVITE is a call attempt that ended: a sip.reject line, calls_total{outcome=
 * "rejected"} and its call record (never answered, no cell so no wipe, hang-up cause = reason).
 * A 401 is the exception: it is the first half of every digest-authenticated call (the caller
 * retries with credentials), so it gets the line alone — counting it would record each
 * authenticated call twice, once as rejected. Other methods get the line alone: no call.
 */
export function recordRejection(rejection: Rejection, services: RejectionServices): void {
  if (rejection.method !== 'INVITE' || rejection.status === 401) {
    logRejection(services.logger, undefined, rejection);
    return;
  }
  const callId = newCallId();
  logRejection(services.logger, callId, rejection);
  const record = startCallRecord({
    callId,
    dialled: dialledLabel(rejection.dialled ?? '', services.configuredNumbers),
    caller: services.callerMask.mask(rejection.caller ?? ''),
    sink: services.logger,
  });
  record.finish('rejected', rejection.reason);
  services.metrics.callEnded('rejected');
}

function releaseReason(outcome: FlowOutcome['status'] | 'rejected'): ReleaseReason {
  return outcome;
}

/** What ended the call, as the call record's hang-up cause. */
function causeOf(cause: EndCause | null, mediaTimedOut: boolean, flowFailed = false): string {
  if (mediaTimedOut) return 'media-timeout';
  // A flow that threw hangs up itself (after its apology): ours, but not an ordinary goodbye.
  if (flowFailed && (cause === null || cause === 'local-bye')) return 'flow-error';
  return cause ?? 'local-bye';
}

export function handleIncomingCall(call: IncomingCall, services: CallHandlerServices): void {
  const cut: { cause: CutCause | null } = { cause: null };
  services.track({
    done: runCall(call, services, cut),
    cut(cause) {
      cut.cause ??= cause;
      call.hangup();
    },
  });
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/**
 * Our own id for a call in logs and records: letters only, so the log masker never mistakes it
 * for a number, and unrelated to the SIP Call-ID (which peers fill with whatever they like).
 */
function newCallId(): string {
  let id = 'c';
  for (let i = 0; i < 11; i++) id += LETTERS[randomInt(LETTERS.length)];
  return id;
}

async function runCall(call: IncomingCall, services: CallHandlerServices, cut: { readonly cause: CutCause | null }): Promise<void> {
  const { logger } = services;
  const setupStart = performance.now();
  const app = services.apps.get(call.application);
  const cell = app ? services.pool.acquire() : null;
  if (!app || !cell) {
    // Admission already checked for a free cell; this covers the race and a routing slip.
    call.reject(503, 'Service Unavailable', [{ name: 'Retry-After', value: RETRY_AFTER_SECONDS }]);
    const { dialled, caller, transport } = call;
    recordRejection({ method: 'INVITE', status: 503, reason: app ? 'no-cell' : 'no-app', transport, dialled, caller }, services);
    return;
  }
  const callId = newCallId();
  const log = logger.child({ callId, component: 'call' });
  const dialled = dialledLabel(call.dialled, services.configuredNumbers);
  const caller = services.callerMask.mask(call.caller);
  const record = startCallRecord({ callId, dialled, caller, sink: logger });
  log.event('call.start', {
    callId,
    dialled,
    caller,
    app: app.name,
    transport: call.transport,
  });

  let ending: CallEnding;
  try {
    ending = await serveCall(call, app, cell, { callId, setupStart, log, record }, services);
  } catch (error) {
    // Nothing below should throw (the flow runner catches flow errors); if something does,
    // the call still ends and the cell is still wiped.
    log.error({ code: (error as { code?: string }).code ?? 'call-failed' }, 'call handling failed');
    call.hangup();
    ending = { outcome: 'failed', cause: 'internal-error' };
  }
  // Ended by our drain limit or shutdown: not the caller's choice, and not a finished call.
  // (Our hang-up reaches the flow as the caller's: it ends 'abandoned'.)
  if (cut.cause !== null && ending.outcome === 'abandoned') ending = { outcome: 'failed', cause: cut.cause };
  finish({ callId, startedAt: setupStart }, cell, record, services, ending.outcome, ending.cause);
}

interface CallEnding {
  outcome: CallOutcome;
  cause: string;
}

/** Answers, runs the flow and hangs up; returns how the call ended. The caller releases the cell. */
async function serveCall(
  call: IncomingCall,
  app: AppRuntime,
  cell: Cell,
  { callId, setupStart, log, record }: { callId: string; setupStart: number; log: Logger; record: CallRecordBuilder },
  services: CallHandlerServices,
): Promise<CallEnding> {
  const { metrics } = services;
  const ended = new AbortController();
  let endCause: EndCause | null = null;
  let mediaTimedOut = false;
  call.on('ended', (cause) => {
    endCause = cause;
    // A completed transfer ends the dialog too, but the flow learns that from transfer()'s
    // result; signalling it as a hang-up would win the race and record 'abandoned'.
    if (cause !== 'transfer') ended.abort();
  });

  const player = cell.attach(new Player());
  const receiver = cell.attach(new DtmfReceiver({ inband: services.inbandDtmf }));
  const answered = await CallMedia.answer(
    call.remoteSdp,
    { source: player, input: receiver, signallingSecure: call.transport === 'tls' },
    services.media,
  );
  if (!answered.ok) {
    call.reject(answered.error.status, answered.error.status === 503 ? 'Service Unavailable' : 'Not Acceptable Here');
    logRejection(log, callId, { method: 'INVITE', status: answered.error.status, reason: answered.error.code, transport: call.transport });
    return { outcome: 'rejected', cause: 'media-rejected' };
  }
  const media = cell.attach(answered.media);
  // Closed before the media (last attached first): the call's drops, read while its stats exist.
  cell.attach({ close: () => metrics.rtpDropped(media.stats.droppedBy) });
  // The player and receiver stop with the call; the media session closes first so no
  // packet is decoded into a receiver that is already gone.
  cell.attach({ close: () => call.close() });
  media.on('inactive', ({ silentMs }) => {
    mediaTimedOut = true;
    log.event('media.inactive', { callId, silentMs });
    call.hangup();
  });
  call.on('info', (info) => {
    // RFC 6086 §4.2.2: a body we cannot take is refused; an INFO without a body is just answered.
    if (info.body.length === 0) return;
    const outcome = receiver.info(info.contentType, info.body);
    if (outcome === 'unsupported') info.refuse({ status: 415, accept: INFO_DTMF_TYPES });
    else if (outcome === 'malformed') info.refuse({ status: 400 });
  });
  call.on('reinvite', (offer) => {
    const result = media.answerReoffer(offer.sdp);
    if (result.ok) offer.answer(result.answerSdp);
    else offer.reject();
  });

  if (ended.signal.aborted || !call.accept(answered.answerSdp)) {
    return { outcome: 'abandoned', cause: causeOf(endCause, false) };
  }
  record.answered();
  const setupMs = performance.now() - setupStart;
  metrics.callSetupMs(setupMs);
  log.event('call.answer', { callId, setupMs });

  const keyResponse = new KeyResponseClock((ms) => metrics.keyResponseMs(ms));
  const observation = { callId, log, metrics, record, lastStep: null };
  const observe = (event: FlowEvent): void => observeFlow(event, observation);
  const outcome = await runFlow(
    app.flow,
    {
      audio: audioPort(player, app.prompts ?? services.prompts, keyResponse),
      keys: keyPort(receiver, player, keyResponse),
      cell: cellPort(cell),
      backend: app.backendFor(cell),
      payment: app.payment,
      call: callControlPort(call, ended.signal, (target, outcome, latencyMs) =>
        // The app's agent URI is logged as `agent`, any other target as `other`: URIs can carry numbers.
        log.event('transfer', { callId, target: target === app.settings.agentTarget ? 'agent' : 'other', outcome, latencyMs }),
      ),
      scheduler: realScheduler,
      logger: log,
    },
    app.settings,
    observe,
  );
  call.hangup();
  return { outcome: outcome.status, cause: causeOf(endCause, mediaTimedOut, outcome.error !== undefined) };
}

/** The flow's outcomes in the log vocabulary's terms. */
const PAYMENT_RESULTS = { approved: 'approved', declined: 'declined', invalid: 'rejected', unavailable: 'error' } as const;
const GATHER_OUTCOMES = { noInput: 'timeout', invalid: 'invalid', agent: 'agent' } as const;
/** How a gather that succeeded ended: the terminator, the maximum, or a timeout after enough keys. */
const GATHER_COMPLETIONS = { terminator: 'terminator', max: 'max', interDigitTimeout: 'complete', totalTimeout: 'complete' } as const;
const MENU_OUTCOMES = { ok: 'chosen', noInput: 'timeout', invalid: 'invalid', agent: 'agent' } as const;

function gatherOutcome(event: Extract<FlowEvent, { type: 'gather.done' }>): EventFields<'gather.done'>['outcome'] {
  if (event.outcome === 'ok') return GATHER_COMPLETIONS[event.completion ?? 'totalTimeout'];
  return GATHER_OUTCOMES[event.outcome as keyof typeof GATHER_OUTCOMES] ?? 'invalid';
}
const BACKEND_OUTCOMES = { ok: 'ok', timeout: 'timeout', error: 'error' } as const;

interface FlowObservation {
  readonly callId: string;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly record: CallRecordBuilder;
  /** The step the record last listed: one step's several events (prompt, open, armed, done, retries) list it once. */
  lastStep: string | null;
}

function observeFlow(event: FlowEvent, observation: FlowObservation): void {
  const { callId, log, metrics, record } = observation;
  // The record lists steps by id as the flow reaches them — an entry with barge-in from its
  // input.open, before any prompt ends — each time the flow comes back to one.
  if (event.type !== 'key.ignored' && event.id !== observation.lastStep) {
    observation.lastStep = event.id;
    record.step(event.id);
  }
  switch (event.type) {
    case 'input.open':
      // Keys are taken from here on (barge-in): what an automated caller waits for.
      log.event('flow.step', { callId, step: event.step, kind: 'open' });
      return;
    case 'input.armed':
      log.event('flow.step', { callId, step: event.step, kind: 'armed' });
      return;
    case 'gather.done':
      // Counts and outcomes only: never which keys.
      if (event.step === 'menu') {
        log.event('menu.choice', { callId, step: event.step, outcome: MENU_OUTCOMES[event.outcome as keyof typeof MENU_OUTCOMES] ?? 'invalid' });
      } else {
        log.event('gather.done', {
          callId,
          step: event.step,
          secure: event.step === 'gatherSecret',
          outcome: gatherOutcome(event),
          keys: event.keys,
        });
      }
      return;
    case 'backend':
      // Counts and timings only: rows say how many, never what.
      log.event('backend.query', { callId, backend: event.backend, operation: event.operation, outcome: event.outcome, latencyMs: event.ms, rows: event.rows });
      record.backendLatency(event.backend, event.ms);
      metrics.backendQuery(event.backend, event.outcome === 'ok' && event.rows === 0 ? 'not_found' : BACKEND_OUTCOMES[event.outcome], event.ms);
      return;
    case 'payment':
      log.event('payment.result', { callId, gateway: 'payment', result: PAYMENT_RESULTS[event.outcome], latencyMs: event.ms });
      record.paymentLatency(event.ms);
      metrics.payment(PAYMENT_RESULTS[event.outcome], event.ms);
      return;
    case 'play':
    case 'language':
    case 'log':
    case 'hangup':
    case 'transfer':
      return; // in the record's steps only
    case 'key.ignored':
      return; // the flow's own bookkeeping; the simulator shows it, the record has no use for it
  }
}

/** The one exit: release (close cascade + verified wipe), then the call record and metrics. */
function finish(
  { callId, startedAt }: { callId: string; startedAt: number },
  cell: Cell,
  record: CallRecordBuilder,
  services: CallHandlerServices,
  outcome: CallOutcome,
  cause: string,
): ReleaseReport | null {
  const report = cell.release(releaseReason(outcome));
  if (report) {
    record.wiped(report.wipe);
    services.metrics.wipe({ bytes: report.wipe.bytes, verified: report.wipe.verified, durationMs: report.wipeSeconds * 1000 });
    services.logger.event('cell.wipe', {
      callId,
      cell: report.cellId,
      bytes: report.wipe.bytes,
      verified: report.wipe.verified,
      durationMs: report.wipeSeconds * 1000,
    });
  }
  record.finish(outcome, cause);
  services.logger.event('call.end', { callId, outcome, cause, durationMs: performance.now() - startedAt });
  services.metrics.callEnded(outcome);
  return report;
}
