// The flow runtime's view of the world. Media, vault, connectors and SIP are reached only
// through these small interfaces; src/server wires the real implementations, the simulator
// wires fakes. Nothing here carries a sensitive value as a string.
import type { DtmfCode, KeyPushResult, KeySink, Secret, SecretKind } from '../vault/types.ts';
import type { ChargeRequest, ChargeResult } from '../connectors/payment-gateway.ts';

/** One piece of a play list: a clip reference (catalogue key `<lang>/<id>` or an audio file) or silence. */
export type PlayItem = { readonly clip: string } | { readonly silenceMs: number };

/** 'done' = played to the end; 'interrupted' = a key barged in; 'stopped' = stop() was called. */
export type PlayOutcome = 'done' | 'interrupted' | 'stopped';

export interface AudioPort {
  /** Plays the items back to back. With bargeIn the port may end playback itself on a key press. */
  play(items: readonly PlayItem[], opts: { bargeIn: boolean }): Promise<PlayOutcome>;
  /** Stops the current play list (its promise resolves 'stopped'); safe to call when idle. */
  stop(): void;
}

export type Unsubscribe = () => void;

export interface KeyPort {
  /** Plain key presses (menus, non-sensitive gathers). Never called while a sink is routed. */
  onKey(listener: (code: DtmfCode) => void): Unsubscribe;
  /** While a sink is routed every key goes straight into it; null restores plain delivery. */
  routeTo(sink: KeySink | null): void;
  /** Value-free notice that the routed sink took a key, so the gather's timers can react. */
  onSecureKey(listener: (result: KeyPushResult) => void): Unsubscribe;
}

/** Collects a secure entry in the cell's arena; it is the KeySink that KeyPort.routeTo receives. */
export interface SecretBuilder extends KeySink {
  /** Keys stored so far. */
  count(): number;
  /** Zeroes what was keyed so the caller can try again. */
  clear(): void;
  /** Ends the entry and returns it as a Secret handle; the builder takes no more keys. */
  finish(): Secret;
}

/** A value a flow may keep for the length of the call; dropped (and wiped) with the cell. */
export type CallValue = string | number | boolean | null | Secret;

export interface CallValues {
  get(name: string): CallValue | undefined;
  set(name: string, value: CallValue): void;
}

export interface CellPort {
  /** `terminator` is the DTMF code that ends entry (not stored), or null for none. */
  newSecretBuilder(kind: SecretKind, maxLength: number, terminator: DtmfCode | null): SecretBuilder;
  /** Moves bytes (e.g. a sensitive backend column) into the arena; the source buffer is zeroed. */
  importSecret(kind: SecretKind, bytes: Uint8Array): Secret;
  /** Throws (the vault's CrossCellError, or SecretWipedError) unless the Secret was made in this call's cell. */
  assertOwns(secret: Secret): void;
  readonly values: CallValues;
}

export type BackendParam = string | number | Secret;
export type BackendCell = string | number | null | Secret;
export interface BackendResult {
  rows: Array<Record<string, BackendCell>>;
}

export interface BackendPort {
  /** Rejects when the backend is down, slow or refuses us; the flow's fallback then applies. */
  query(backend: string, operation: string, params: Record<string, BackendParam>): Promise<BackendResult>;
}

/** The payment connector's own request and result shapes: a flow pays exactly what a gateway takes. */
export type { ChargeRequest, ChargeResult };

export interface PaymentPort {
  charge(request: ChargeRequest): Promise<ChargeResult>;
}

export interface CallControlPort {
  /** Blind transfer (REFER) with a small context header of non-sensitive values. */
  transfer(target: string, context: Record<string, string>): Promise<void>;
  hangup(): Promise<void>;
  /** Aborts when the caller hangs up; the flow stops at its next await. */
  readonly hangupSignal: AbortSignal;
}

export interface TimerHandle {
  cancel(): void;
}

/** All flow timers go through here so tests and the simulator run on a virtual clock. */
export interface Scheduler {
  /** Monotonic milliseconds. */
  now(): number;
  setTimer(ms: number, callback: () => void): TimerHandle;
}

/** pino-compatible subset; the runtime logs counts and outcomes, never key values. */
export interface FlowLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** Everything a flow needs from one call's cell and its connections. */
export interface FlowPorts {
  audio: AudioPort;
  keys: KeyPort;
  cell: CellPort;
  backend: BackendPort;
  payment: PaymentPort;
  call: CallControlPort;
  scheduler: Scheduler;
  logger: FlowLogger;
}
