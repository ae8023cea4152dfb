// Prometheus metrics on a registry of our own (never prom-client's global one, so tests
// and embedders get clean, independent sets). The API is a facade rather than raw
// prom-client objects: every label value comes from a fixed enum or from the backend
// names in the configuration, never from anything a caller sent.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { IntervalHistogram } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CallOutcome } from './events.ts';
import { CALL_OUTCOMES } from './events.ts';
import type { LoggerStats } from './logger.ts';
import type { MaskRule } from './masker.ts';

export const PAYMENT_RESULTS = ['approved', 'declined', 'rejected', 'timeout', 'error'] as const;
export type PaymentResult = (typeof PAYMENT_RESULTS)[number];
export const BACKEND_OUTCOMES = ['ok', 'not_found', 'timeout', 'refused', 'error'] as const;
/** Why the media layer dropped an incoming RTP/RTCP packet (its DropReason values). */
export const RTP_DROP_REASONS = [
  'address',
  'malformed',
  'ssrc',
  'payload-type',
  'srtp-auth',
  'srtp-replay',
  'srtp-other',
  'srtcp-auth',
  'srtcp-replay',
  'rtcp-malformed',
] as const;
export type BackendOutcome = (typeof BACKEND_OUTCOMES)[number];

/** Label used for a value outside the fixed set: the observation counts, the value does not leak. */
export const OTHER_LABEL = 'other';

export interface CellState {
  active: number;
  free: number;
}

export interface MetricsOptions {
  /** Backend names from the configuration: the only values the `backend` label may take. */
  backends: readonly string[];
  /** Resolution of the event-loop delay monitor, ms (default 20). */
  eventLoopResolutionMs?: number;
}

export interface WipeObservation {
  bytes: number;
  verified: boolean;
  durationMs: number;
}

export interface Metrics {
  readonly registry: Registry;
  /** Prometheus text exposition of every metric. */
  exposition(): Promise<string>;
  readonly contentType: string;
  /** Reads active calls and free cells from the pool at each scrape. */
  observeCells(source: () => CellState): void;
  /** Reads the logger's dropped-field and write-error counters at each scrape. */
  observeLogger(source: () => LoggerStats): void;
  callEnded(outcome: CallOutcome): void;
  callSetupMs(ms: number): void;
  keyResponseMs(ms: number): void;
  backendQuery(backend: string, outcome: BackendOutcome, ms: number): void;
  payment(result: PaymentResult, ms: number): void;
  wipe(observation: WipeObservation): void;
  /**
   * The pool's final wipe of every cell at shutdown. Its report has one verdict for all of them,
   * so one failed read-back counts every cell as verified="false": a defect is never hidden.
   */
  poolShutdown(report: { cellsWiped: number; verified: boolean }): void;
  mediaClockLatenessMs(ms: number): void;
  /** One ended call's dropped incoming packets, by reason (zero counts may be left out). */
  rtpDropped(byReason: Readonly<Record<string, number>>): void;
  /** Feed for the logger's onMaskHit: each hit is a defect. */
  logMaskHit(rule: MaskRule): void;
  /** Stops the event-loop monitor (safe to call twice). */
  close(): void;
}

const PREFIX = 'traceless_';
const seconds = (ms: number): number => ms / 1000;

function oneOf<T extends string>(allowed: ReadonlySet<string>, value: string): T | typeof OTHER_LABEL {
  return allowed.has(value) ? (value as T) : OTHER_LABEL;
}

export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  const registers = [registry];
  const backends = new Set(options.backends);
  const outcomes = new Set<string>(CALL_OUTCOMES);
  const paymentResults = new Set<string>(PAYMENT_RESULTS);
  const backendOutcomes = new Set<string>(BACKEND_OUTCOMES);
  const dropReasons = new Set<string>(RTP_DROP_REASONS);
  let cells: (() => CellState) | undefined;
  let loggerStats: (() => LoggerStats) | undefined;

  new Gauge({
    name: `${PREFIX}active_calls`,
    help: 'Calls in progress (cells in use).',
    registers,
    collect() {
      this.set(cells?.().active ?? 0);
    },
  });
  new Gauge({
    name: `${PREFIX}free_cells`,
    help: 'Call cells wiped and ready for a new call; 0 means new INVITEs get 503.',
    registers,
    collect() {
      this.set(cells?.().free ?? 0);
    },
  });
  const calls = new Counter({ name: `${PREFIX}calls_total`, help: 'Ended calls by outcome.', labelNames: ['outcome'], registers });
  const callSetup = new Histogram({
    name: `${PREFIX}call_setup_seconds`,
    help: 'INVITE received to 200 OK sent.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers,
  });
  const keyResponse = new Histogram({
    name: `${PREFIX}key_response_seconds`,
    help: 'End of a key press to the first packet of the response prompt.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers,
  });
  const backendLatency = new Histogram({
    name: `${PREFIX}backend_latency_seconds`,
    help: 'Backend query latency by configured backend name and outcome.',
    labelNames: ['backend', 'outcome'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  const payments = new Counter({ name: `${PREFIX}payments_total`, help: 'Payment attempts by result.', labelNames: ['result'], registers });
  const paymentLatency = new Histogram({
    name: `${PREFIX}payment_latency_seconds`,
    help: 'Payment gateway round trip.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const wipes = new Counter({
    name: `${PREFIX}wipes_total`,
    help: 'Cell wipes by read-back result (verified="false" is a defect).',
    labelNames: ['verified'],
    registers,
  });
  const rtpDropped = new Counter({
    name: `${PREFIX}rtp_dropped_packets_total`,
    help: 'Incoming RTP/RTCP packets dropped, by reason (spoofed source, failed SRTP authentication, replay, …), counted at call end.',
    labelNames: ['reason'],
    registers,
  });
  const wipedBytes = new Counter({ name: `${PREFIX}wiped_bytes_total`, help: 'Secret bytes zeroed by cell wipes.', registers });
  const wipeDuration = new Histogram({
    name: `${PREFIX}wipe_duration_seconds`,
    help: 'Time to zero and verify one cell.',
    buckets: [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.01],
    registers,
  });
  const mediaLateness = new Histogram({
    name: `${PREFIX}media_clock_lateness_seconds`,
    help: 'How late the media clock sent each 20 ms tick.',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05],
    registers,
  });
  const maskHits = new Counter({
    name: `${PREFIX}log_mask_hits_total`,
    help: 'Log lines the last-line masker had to change: each is a leak the primary path missed.',
    labelNames: ['rule'],
    registers,
  });
  new Counter({
    name: `${PREFIX}log_dropped_fields_total`,
    help: 'Log fields dropped: not in the event allowlist (unknown) or of the wrong kind (invalid).',
    labelNames: ['reason'],
    registers,
    collect() {
      if (loggerStats === undefined) return;
      const stats = loggerStats();
      this.reset();
      this.inc({ reason: 'unknown' }, stats.unknownFields);
      this.inc({ reason: 'invalid' }, stats.invalidFields);
    },
  });

  // Zero series from the start, so a rate() or an alert on a defect works before the first event.
  for (const outcome of CALL_OUTCOMES) calls.inc({ outcome }, 0);
  for (const result of PAYMENT_RESULTS) payments.inc({ result }, 0);
  for (const verified of ['true', 'false']) wipes.inc({ verified }, 0);
  for (const reason of RTP_DROP_REASONS) rtpDropped.inc({ reason }, 0);
  for (const rule of ['luhn', 'long-run'] satisfies MaskRule[]) maskHits.inc({ rule }, 0);

  new Counter({
    name: `${PREFIX}log_write_errors_total`,
    help: 'Log lines the destination (stdout) failed to take.',
    registers,
    collect() {
      if (loggerStats === undefined) return;
      this.reset();
      this.inc(loggerStats().writeErrors);
    },
  });

  const loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: options.eventLoopResolutionMs ?? 20 });
  loopDelay.enable();
  let loopMonitorOn = true;
  new Gauge({
    name: `${PREFIX}event_loop_delay_seconds`,
    help: 'Event-loop delay since the previous scrape (perf_hooks.monitorEventLoopDelay).',
    labelNames: ['stat'],
    registers,
    collect() {
      // The histogram reads NaN/huge sentinel values before its first sample.
      const value = (ns: number): number => (Number.isFinite(ns) && loopDelay.count > 0 ? ns / 1e9 : 0);
      this.set({ stat: 'p50' }, value(loopDelay.percentile(50)));
      this.set({ stat: 'p99' }, value(loopDelay.percentile(99)));
      this.set({ stat: 'max' }, value(loopDelay.max));
      loopDelay.reset();
    },
  });

  return {
    registry,
    contentType: registry.contentType,
    exposition: () => registry.metrics(),
    observeCells(source) {
      cells = source;
    },
    observeLogger(source) {
      loggerStats = source;
    },
    callEnded(outcome) {
      calls.inc({ outcome: oneOf(outcomes, outcome) });
    },
    callSetupMs(ms) {
      callSetup.observe(seconds(ms));
    },
    keyResponseMs(ms) {
      keyResponse.observe(seconds(ms));
    },
    backendQuery(backend, outcome, ms) {
      backendLatency.observe({ backend: oneOf(backends, backend), outcome: oneOf(backendOutcomes, outcome) }, seconds(ms));
    },
    payment(result, ms) {
      payments.inc({ result: oneOf(paymentResults, result) });
      paymentLatency.observe(seconds(ms));
    },
    wipe({ bytes, verified, durationMs }) {
      wipes.inc({ verified: verified ? 'true' : 'false' });
      wipedBytes.inc(bytes);
      wipeDuration.observe(seconds(durationMs));
    },
    poolShutdown({ cellsWiped, verified }) {
      wipes.inc({ verified: verified ? 'true' : 'false' }, cellsWiped);
    },
    mediaClockLatenessMs(ms) {
      mediaLateness.observe(seconds(ms));
    },
    rtpDropped(byReason) {
      for (const [reason, count] of Object.entries(byReason)) if (count > 0) rtpDropped.inc({ reason: oneOf(dropReasons, reason) }, count);
    },
    logMaskHit(rule) {
      maskHits.inc({ rule });
    },
    close() {
      if (!loopMonitorOn) return;
      loopMonitorOn = false;
      loopDelay.disable();
    },
  };
}
