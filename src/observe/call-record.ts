// The call record: exactly one JSON line per call, written when the call ends
// ("event":"cdr"). A builder collects performance facts while the call runs; finish()
// validates them against a strict schema and writes once — a second finish() is a no-op,
// whichever exit path (BYE, CANCEL, transfer, timeout, error) reaches it first.
import { z } from 'zod';
import type { MaskedCaller } from './caller-mask.ts';
import { isMaskedCaller } from './caller-mask.ts';
import type { CallOutcome } from './events.ts';
import { CALL_OUTCOMES, isDialledLabel, isLogId } from './events.ts';

/** Bounds that keep one record one modest line, however long or looping the call. */
export const MAX_RECORDED_STEPS = 64;
export const MAX_RECORDED_LATENCIES = 32;

const logId = z.string().refine(isLogId, 'a short id of letters, digits and . _ - : @ / +');
const ms = z.number().nonnegative().finite();
const isoTime = z.iso.datetime();

export const callRecordSchema = z.strictObject({
  callId: logId,
  /** A configured number, or "other" for any number the configuration does not name. */
  dialled: z.string().refine(isDialledLabel, 'a configured number (digits with an optional +) or "other"'),
  caller: z.string().refine(isMaskedCaller, 'a masked caller'),
  startTime: isoTime,
  answerTime: isoTime.nullable(),
  endTime: isoTime,
  durationMs: ms,
  outcome: z.enum(CALL_OUTCOMES),
  /** Flow steps visited, by id, in order; the first MAX_RECORDED_STEPS only. */
  steps: z.array(logId).max(MAX_RECORDED_STEPS),
  /** Steps visited beyond the recorded ones. */
  stepsOmitted: z.number().int().nonnegative(),
  backendLatencies: z.array(z.strictObject({ backend: logId, ms })).max(MAX_RECORDED_LATENCIES),
  paymentLatencies: z.array(ms).max(MAX_RECORDED_LATENCIES),
  /** null when the call never had a cell (rejected before one was taken). */
  wipe: z.strictObject({ bytes: z.number().int().nonnegative(), verified: z.boolean() }).nullable(),
  hangupCause: logId,
  /** Present only on a defective record: names of fields that failed the schema and were left out. */
  invalidFields: z.array(z.string()).optional(),
});

export type CallRecord = z.infer<typeof callRecordSchema>;

/** Where finished records go; the logger is one (it writes them as "event":"cdr" lines). */
export interface CallRecordSink {
  callRecord(record: Partial<CallRecord>): void;
}

export interface WipeResult {
  bytes: number;
  verified: boolean;
}

export interface CallRecordClock {
  /** Wall time, for the ISO timestamps. */
  now(): Date;
  /** Monotonic milliseconds, for the duration (immune to wall-clock steps). */
  monotonicMs(): number;
}

const systemClock: CallRecordClock = { now: () => new Date(), monotonicMs: () => performance.now() };

export interface CallRecordStart {
  callId: string;
  dialled: string;
  caller: MaskedCaller;
  sink: CallRecordSink;
  clock?: CallRecordClock;
}

export interface CallRecordBuilder {
  answered(): void;
  step(stepId: string): void;
  backendLatency(backend: string, ms: number): void;
  paymentLatency(ms: number): void;
  wiped(result: WipeResult): void;
  /** Writes the record; returns false (and writes nothing) when it was already written. */
  finish(outcome: CallOutcome, hangupCause: string): boolean;
  readonly finished: boolean;
}

const round = (value: number): number => Math.round(value * 1000) / 1000;

/**
 * The record's fields that pass the schema on their own, and the names of those that do
 * not: a defective record still says what it can, and says that it is defective.
 */
function salvage(candidate: Record<string, unknown>): Partial<CallRecord> {
  const shape = callRecordSchema.shape;
  const kept: Record<string, unknown> = {};
  const invalid: string[] = [];
  for (const key of Object.keys(shape) as Array<keyof typeof shape>) {
    if (key === 'invalidFields') continue;
    if (shape[key].safeParse(candidate[key]).success) kept[key] = candidate[key];
    else invalid.push(key);
  }
  return { ...kept, invalidFields: invalid } as Partial<CallRecord>;
}

export function startCallRecord(start: CallRecordStart): CallRecordBuilder {
  const clock = start.clock ?? systemClock;
  const startTime = clock.now();
  const startMono = clock.monotonicMs();
  let answerTime: Date | null = null;
  const steps: string[] = [];
  let stepsOmitted = 0;
  const backendLatencies: Array<{ backend: string; ms: number }> = [];
  const paymentLatencies: number[] = [];
  let wipe: WipeResult | null = null;
  let finished = false;

  return {
    answered() {
      if (!finished && answerTime === null) answerTime = clock.now();
    },
    step(stepId) {
      if (finished) return;
      if (steps.length < MAX_RECORDED_STEPS) steps.push(stepId);
      else stepsOmitted++;
    },
    backendLatency(backend, latency) {
      if (!finished && backendLatencies.length < MAX_RECORDED_LATENCIES) backendLatencies.push({ backend, ms: round(latency) });
    },
    paymentLatency(latency) {
      if (!finished && paymentLatencies.length < MAX_RECORDED_LATENCIES) paymentLatencies.push(round(latency));
    },
    wiped(result) {
      if (!finished) wipe = { bytes: result.bytes, verified: result.verified };
    },
    finish(outcome, hangupCause) {
      if (finished) return false;
      finished = true;
      const candidate = {
        callId: start.callId,
        dialled: start.dialled,
        caller: start.caller,
        startTime: startTime.toISOString(),
        answerTime: answerTime === null ? null : answerTime.toISOString(),
        endTime: clock.now().toISOString(),
        durationMs: round(Math.max(0, clock.monotonicMs() - startMono)),
        outcome,
        steps,
        stepsOmitted,
        backendLatencies,
        paymentLatencies,
        wipe,
        hangupCause,
      };
      const parsed = callRecordSchema.safeParse(candidate);
      start.sink.callRecord(parsed.success ? parsed.data : salvage(candidate));
      return true;
    },
    get finished() {
      return finished;
    },
  };
}
