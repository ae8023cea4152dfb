// The one logger: pino JSON lines to stdout. Operational facts go through `event()`,
// which writes only the allowlisted fields of the fixed vocabulary (events.ts). The
// pino-style methods are for internal diagnostics; their objects are scrubbed of
// Secret-like values and byte buffers. Every serialized line, of either kind, then
// passes the masker (masker.ts) on its way to the destination.
import { pino } from 'pino';
import type { Logger as PinoLogger } from 'pino';
import type { CallRecord, CallRecordSink } from './call-record.ts';
import { callRecordSchema } from './call-record.ts';
import type { ContextBindings, EventFields, EventName } from './events.ts';
import { COMPILED_CONTEXT, COMPILED_EVENTS } from './events.ts';
import type { LogMasker, MaskHitCounts, MaskRule } from './masker.ts';
import { createLogMasker } from './masker.ts';
import { scrubForLog } from './secret-like.ts';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/** Where lines go: anything with write(), e.g. a stream. Lines end with '\n'. */
export interface LogDestination {
  write(line: string): unknown;
  flushSync?(): void;
}

export interface LoggerOptions {
  level: LogLevel;
  /**
   * Default: stdout, each event-loop turn's lines in one synchronous write at the turn's end
   * (see TurnBatch), and whatever is pending when the process exits.
   */
  destination?: LogDestination;
  /** The masker's long-digit-run threshold (default 7). */
  minLongDigitRun?: number;
  /** The service's own published numbers, which call records name and the masker must leave alone. */
  allowedNumbers?: readonly string[];
  /** Called on each masker hit, e.g. to feed a metric. */
  onMaskHit?: (rule: MaskRule) => void;
}

export interface LoggerStats {
  /** Fields not in an event's (or the context's) allowlist, dropped. */
  unknownFields: number;
  /** Allowlisted fields whose value was outside the field's kind, dropped. */
  invalidFields: number;
  /** Reserved keys (event, level, time, msg) in a diagnostic object, dropped. */
  reservedFields: number;
  /** Events not in the vocabulary, not written. */
  unknownEvents: number;
  /** Lines the destination failed to take: logging never takes a call down with it. */
  writeErrors: number;
  /** Masker hits: each one is a defect of the primary path. */
  maskHits: MaskHitCounts;
}

/** pino-compatible: `log.info(obj, msg)` or `log.info(msg)`. */
export interface DiagnosticLogFn {
  (obj: object, msg?: string): void;
  (msg: string): void;
}

export interface Logger extends CallRecordSink {
  /** Writes one event of the fixed vocabulary with its allowlisted fields. */
  event<N extends EventName>(name: N, fields: EventFields<N>): void;
  /**
   * Writes a call record as one "event":"cdr" line, whatever the level (unless silent):
   * records are the operator's accounting, not diagnostics. Only the record's own fields
   * are written; call-record.ts validates them before they get here.
   */
  callRecord(record: Partial<CallRecord>): void;
  /** A logger whose lines all carry the given context (callId, cell, component, backend). */
  child(bindings: ContextBindings): Logger;
  isLevelEnabled(level: LogLevel): boolean;
  readonly level: LogLevel;
  trace: DiagnosticLogFn;
  debug: DiagnosticLogFn;
  info: DiagnosticLogFn;
  warn: DiagnosticLogFn;
  error: DiagnosticLogFn;
  fatal: DiagnosticLogFn;
  /** Counters shared by this logger and all its children. */
  stats(): LoggerStats;
  /** Pushes buffered lines out (a no-op for synchronous destinations). */
  flush(): void;
}

const RECORD_FIELDS = callRecordSchema.shape;

/** Keys a diagnostic object may not set: they would forge or break a line's frame. */
const RESERVED_KEYS = new Set(['event', 'level', 'time', 'msg']);

interface Shared {
  readonly pino: PinoLogger;
  readonly masker: LogMasker;
  /** The masked write path, for lines serialised here rather than by pino. */
  readonly write: (line: string) => void;
  readonly destination: LogDestination;
  readonly counters: Omit<LoggerStats, 'maskHits'>;
}

/** A batch this large is written at once rather than at the end of the turn. */
const BATCH_CHARS = 16 * 1024;

/** Batches with lines pending, written by the one 'exit' listener if the process ends first. */
const pendingBatches = new Set<TurnBatch>();
let exitHookInstalled = false;

/**
 * Lines written during one event-loop turn leave in one write(2) when the turn ends (setImmediate),
 * or at once when BATCH_CHARS have gathered: one system call per turn instead of one per line
 * (at a thousand calls, per-line writes were 5–6% of the server's busy time). The write itself
 * stays synchronous, so lines keep their order and nothing waits in memory past the turn; flush()
 * and the process's 'exit' event (normal exit, process.exit, an uncaught exception) write what is
 * pending. What is lost: a SIGKILL (or a signal nobody handles; the CLI handles SIGTERM and
 * SIGINT) mid-turn loses that turn's lines, where a write per line lost none already written.
 */
export class TurnBatch implements LogDestination {
  private lines: string[] = [];
  private chars = 0;
  private scheduled = false;

  constructor(
    private readonly target: LogDestination,
    private readonly onError: () => void,
  ) {}

  write(line: string): void {
    this.lines.push(line);
    this.chars += line.length;
    if (this.chars >= BATCH_CHARS) return this.writePending();
    pendingBatches.add(this);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.endOfTurn);
  }

  flushSync(): void {
    this.writePending();
    this.target.flushSync?.();
  }

  private readonly endOfTurn = (): void => {
    this.scheduled = false;
    this.writePending();
  };

  /** Writes the pending lines now, in one write. */
  writePending(): void {
    pendingBatches.delete(this);
    if (this.lines.length === 0) return;
    const chunk = this.lines.length === 1 ? this.lines[0]! : this.lines.join('');
    this.lines = [];
    this.chars = 0;
    try {
      this.target.write(chunk);
    } catch {
      this.onError();
    }
  }
}

function stdout(onError: () => void): LogDestination {
  const stream = pino.destination({ dest: 1, sync: true });
  stream.on('error', onError);
  const batch = new TurnBatch(stream, onError);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const pending of [...pendingBatches]) pending.writePending();
    });
  }
  return batch;
}

export function createLogger(options: LoggerOptions): Logger {
  const counters = { unknownFields: 0, invalidFields: 0, reservedFields: 0, unknownEvents: 0, writeErrors: 0 };
  const destination = options.destination ?? stdout(() => counters.writeErrors++);
  const masker = createLogMasker({
    ...(options.minLongDigitRun !== undefined && { minLongRun: options.minLongDigitRun }),
    ...(options.allowedNumbers !== undefined && { allowedNumbers: options.allowedNumbers }),
    ...(options.onMaskHit !== undefined && { onHit: options.onMaskHit }),
  });
  const maskingStream = {
    write(line: string): void {
      try {
        destination.write(masker.mask(line));
      } catch {
        counters.writeErrors++;
      }
    },
  };
  const instance = pino(
    {
      level: options.level,
      base: null,
      // ISO time, not epoch milliseconds: a 13-digit run would read as a card number.
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err },
    },
    maskingStream,
  );
  const shared: Shared = {
    pino: instance,
    masker,
    write: (line) => maskingStream.write(line),
    destination,
    counters,
  };
  return wrap(shared, {});
}

function wrap(shared: Shared, context: Readonly<Record<string, unknown>>): Logger {
  const { pino: log, counters } = shared;

  function event<N extends EventName>(name: N, fields: EventFields<N>): void {
    const compiled = COMPILED_EVENTS.get(name);
    if (compiled === undefined || typeof fields !== 'object' || fields === null) {
      counters.unknownEvents++;
      return;
    }
    if (!log.isLevelEnabled(compiled.level)) return;
    const line: Record<string, unknown> = { event: name, ...context };
    const dropped = compiled.fields.apply(fields, line);
    counters.unknownFields += dropped.unknown;
    counters.invalidFields += dropped.invalid;
    log[compiled.level](line);
  }

  function diagnostic(level: Exclude<LogLevel, 'silent'>): DiagnosticLogFn {
    return (objOrMsg: object | string, msg?: string): void => {
      if (!log.isLevelEnabled(level)) return;
      if (typeof objOrMsg !== 'object' || objOrMsg === null) {
        log[level]({ ...context }, String(objOrMsg));
        return;
      }
      const obj = objOrMsg instanceof Error ? { err: objOrMsg } : (scrubForLog(objOrMsg) as Record<string, unknown>);
      const line: Record<string, unknown> = { ...context };
      for (const key of Object.keys(obj)) {
        if (RESERVED_KEYS.has(key)) counters.reservedFields++;
        else line[key] = obj[key];
      }
      if (msg === undefined) log[level](line);
      else log[level](line, msg);
    };
  }

  function callRecord(record: Partial<CallRecord>): void {
    if (log.level === 'silent' || typeof record !== 'object' || record === null) return;
    const line: Record<string, unknown> = { level: 'info', time: new Date().toISOString(), event: 'cdr' };
    for (const key of Object.keys(record)) {
      if (Object.hasOwn(RECORD_FIELDS, key)) line[key] = scrubForLog((record as Record<string, unknown>)[key]);
      else counters.unknownFields++;
    }
    shared.write(`${JSON.stringify(line)}\n`);
  }

  return {
    event,
    callRecord,
    child(bindings) {
      const merged: Record<string, unknown> = { ...context };
      const dropped = COMPILED_CONTEXT.apply(typeof bindings === 'object' && bindings !== null ? bindings : {}, merged);
      counters.unknownFields += dropped.unknown;
      counters.invalidFields += dropped.invalid;
      return wrap(shared, merged);
    },
    isLevelEnabled: (level) => log.isLevelEnabled(level),
    get level() {
      return log.level as LogLevel;
    },
    trace: diagnostic('trace'),
    debug: diagnostic('debug'),
    info: diagnostic('info'),
    warn: diagnostic('warn'),
    error: diagnostic('error'),
    fatal: diagnostic('fatal'),
    stats: () => ({ ...counters, maskHits: shared.masker.hits() }),
    flush() {
      shared.destination.flushSync?.();
    },
  };
}
