// The `call` object a flow receives: every step a flow can take, built on the ports.
// Plain keys come through one listener and go to whichever step is waiting; secure keys go
// from the media layer straight into a SecretBuilder, and this file only hears the outcome.
import { randomUUID } from 'node:crypto';
import { DTMF_POUND, DTMF_STAR } from '../vault/types.ts';
import type { DtmfCode, KeyPushResult, Secret, SecretKind } from '../vault/types.ts';
import type { ChargeResult, FlowPorts, PlayItem, PlayOutcome, BackendParam, BackendResult, CallValue, CallValues, SecretBuilder, TimerHandle } from './ports.ts';
import { initialGatherState, transition, type CompletionReason, type GatherAction, type GatherEnd, type GatherKey, type GatherSpec, type PromptPart, type TimerName } from './gather-machine.ts';
import { charactersClips, currencyClips, dateClips, digitsClips, DIGIT_CLIPS, numberClips, ordinalClips, LANGUAGES, type Language } from './say-as.ts';
import { assertNoSecret, isSecret } from './secret-guard.ts';
import { KeyedInput } from './keyed-input.ts';
import { BackendUnavailableError, FlowEnd, FlowUsageError, UnknownPromptError } from './errors.ts';

/** One piece of something spoken. Dynamic values are spoken from clips only. */
export type SayPart =
  | { prompt: string; lang?: Language }
  | { digits: string }
  /** Letters and digits one by one, e.g. a licence plate. */
  | { characters: string }
  | { number: number }
  | { currency: number }
  | { date: string }
  | { ordinal: number }
  | { file: string }
  | { silenceMs: number }
  /** Masked read-back: the last four digits of a card or account number. */
  | { last4: Secret }
  /** Digit-by-digit read-back of a secret (never a card number or CVV; the vault refuses). */
  | { spell: Secret };

/** A prompt id, or a list of parts played back to back. A Secret is neither. */
export type Prompt = string | readonly SayPart[];

/** Per-step switches for the flow-wide keys (both on by default). */
export interface StepKeys {
  agentKey?: boolean;
  repeatKey?: boolean;
}

/**
 * A step's id names it in the flow's events and so in the call record ("flow steps visited
 * by id"); without one the step kind ('say', 'gather', ...) stands in. Ids are constants of
 * the flow, never caller input: letters, digits, _ . and -, at most 64.
 */
export interface StepId {
  id?: string;
}

export interface StepOptions extends StepKeys, StepId {}

export interface GatherOptions extends StepOptions {
  prompt?: Prompt;
  min?: number;
  max?: number;
  /** '#' by default; null for none. */
  terminator?: '#' | '*' | null;
  firstDigitTimeout?: number;
  interDigitTimeout?: number;
  totalTimeout?: number;
  bargeIn?: boolean;
  retries?: number;
  invalidPrompt?: Prompt;
  timeoutPrompt?: Prompt;
}

export interface PlainGatherOptions extends GatherOptions {
  validate?: (digits: string) => boolean | Promise<boolean>;
}

/** No flow-wide keys here: during a secure entry every key goes to the secure store. */
export interface SecretGatherOptions extends Omit<GatherOptions, 'agentKey' | 'repeatKey'> {
  kind: SecretKind;
  validate?: (secret: Secret) => boolean | Promise<boolean>;
}

export type MenuKey = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9' | '*' | '#';

export interface MenuOptions<T extends string> extends StepOptions {
  prompt: Prompt;
  options: Partial<Record<MenuKey, T>>;
  retries?: number;
  invalidPrompt?: Prompt;
  timeoutPrompt?: Prompt;
  timeout?: number;
  bargeIn?: boolean;
}

export type GatherResult = { ok: true; digits: string } | { ok: false; reason: 'noInput' | 'invalid' };
export type SecretGatherResult = { ok: true; secret: Secret } | { ok: false; reason: 'noInput' | 'invalid' };

export interface PaymentRequest extends StepId {
  amountCents: number;
  card: Secret;
  expiry: Secret;
  cvv: Secret;
  zip: Secret;
}

/** What the runtime did with a log field that held keyed digits. */
export const KEYED_FIELD = '[keyed]';

export interface BackendHandle {
  query(operation: string, params: Record<string, BackendParam>): Promise<BackendResult>;
}

/** What the runtime needs to know about the prompt catalogue. */
export interface PromptLookup {
  has(language: string, id: string): boolean;
}

export interface FlowSettings {
  language: Language;
  /** Transfer target for the agent key and the fallback; null = no agent (hang up instead). */
  agentTarget: string | null;
  /** Flow-wide keys; null turns one off for the whole flow. */
  agentKey: DtmfCode | null;
  repeatKey: DtmfCode | null;
  /** Played when a step fails, before the agent transfer or hangup. */
  fallback: { apologyPrompt: string; unavailablePrompt: string; then: 'agent' | 'hangup' };
  gatherDefaults: { firstDigitTimeout: number; interDigitTimeout: number; totalTimeout: number; retries: number };
  backendTimeoutMs: number;
  invalidPrompt: string;
  timeoutPrompt: string;
  /** Prompts played before the agent transfer; empty for none. */
  agentPrompt: string | null;
  catalogue: PromptLookup | null;
}

export const DEFAULT_SETTINGS: FlowSettings = {
  language: 'en-US',
  agentTarget: null,
  agentKey: 0,
  repeatKey: DTMF_STAR,
  fallback: { apologyPrompt: 'error.apology', unavailablePrompt: 'error.unavailable', then: 'agent' },
  gatherDefaults: { firstDigitTimeout: 5000, interDigitTimeout: 3000, totalTimeout: 30000, retries: 2 },
  backendTimeoutMs: 10000,
  invalidPrompt: 'gather.invalid',
  timeoutPrompt: 'gather.timeout',
  agentPrompt: 'agent.transfer',
  catalogue: null,
};

export type EntryStep = 'gather' | 'gatherSecret' | 'menu';

/**
 * Observer for the simulator and the step log: what the runtime did, never a key value.
 * Every event a step causes carries that step's `id` (its own, or its kind when it has none),
 * so a call record can list the steps visited by id. An entry step's first event is always
 * its 'play' (even with nothing to play), so a step the caller barges into is never missed.
 */
export type FlowEvent =
  | { type: 'play'; id: string; items: readonly PlayItem[] }
  /** An entry step takes keys from now on, its prompt still playing (barge-in). */
  | { type: 'input.open'; id: string; step: EntryStep }
  /** The entry's prompt ended and it waits for keys (once per attempt). */
  | { type: 'input.armed'; id: string; step: EntryStep }
  /** outcome: ok, noInput, invalid or agent; `completion` says how an ok entry ended (terminator, max, or a timeout after enough keys). */
  | { type: 'gather.done'; id: string; step: EntryStep; outcome: string; keys: number; completion?: CompletionReason }
  /**
   * A key that did nothing: the terminator pressed just after an entry filled up (dropped,
   * not passed to the next step), a key during a prompt that takes none (no barge-in), or a
   * key that is neither the agent nor the repeat key while a plain prompt plays.
   */
  | { type: 'key.ignored'; reason: 'terminator-after-full-entry' | 'no-barge-in' | 'not-a-flow-key' }
  /** `ms`: how long the caller waited for the answer (scheduler time). */
  | { type: 'backend'; id: string; backend: string; operation: string; outcome: 'ok' | 'error' | 'timeout'; rows: number; ms: number }
  | { type: 'payment'; id: string; outcome: 'approved' | 'declined' | 'invalid' | 'unavailable'; ms: number }
  | { type: 'transfer'; id: string; target: string; context: Record<string, string> }
  | { type: 'hangup'; id: string }
  | { type: 'language'; id: string; language: Language }
  | { type: 'log'; id: string; event: string };

export type FlowObserver = (event: FlowEvent) => void;

const DIGIT_KEYS: Record<string, DtmfCode> = { '*': DTMF_STAR, '#': DTMF_POUND };
/** Same rule as a YAML step id (flow-schema.ts). */
const STEP_ID = /^[A-Za-z][\w.-]{0,63}$/;

/** The entry's first play, and what repeats and retries play as its question. */
type EntryPrompts = Record<PromptPart, readonly PlayItem[]> & { readonly opening: readonly PlayItem[] };
function keyText(code: DtmfCode): string {
  if (code >= 0 && code <= 9) return String(code);
  if (code === DTMF_STAR) return '*';
  if (code === DTMF_POUND) return '#';
  return '';
}
function keyCode(key: string): DtmfCode {
  return DIGIT_KEYS[key] ?? Number(key);
}

/** What one entry step (gather, secure gather, menu) plugs into the shared timeout machine. */
interface EntryIO {
  readonly step: EntryStep;
  readonly id: string;
  readonly spec: GatherSpec;
  readonly prompts: EntryPrompts;
  /** Plain entries classify each key; secure entries get outcomes from their builder. */
  classify?(code: DtmfCode, count: number): GatherKey;
  accept(code: DtmfCode | null): void;
  discard(): void;
  validate(): Promise<boolean>;
  /** Secure entries: the sink to route keys to for the current attempt. */
  sink?(): SecretBuilder;
}

export class CallContext {
  readonly #ports: FlowPorts;
  readonly #settings: FlowSettings;
  readonly #observe: FlowObserver;
  #language: Language;
  #lastPrompt: readonly PlayItem[] = [];
  #plainKeyHandler: ((code: DtmfCode) => void) | null = null;
  #secureKeyHandler: ((result: KeyPushResult) => void) | null = null;
  #swallow: { code: DtmfCode; until: number } | null = null;
  #ended: FlowEnd | null = null;
  #agentContext: Record<string, string> = {};
  readonly #keyed = new KeyedInput();
  readonly #values: CallValues;
  readonly #unsubscribe: Array<() => void> = [];

  constructor(ports: FlowPorts, settings: FlowSettings, observe: FlowObserver = () => {}) {
    this.#ports = ports;
    this.#settings = settings;
    this.#observe = observe;
    this.#language = settings.language;
    const values = ports.cell.values;
    this.#values = {
      get: (name) => values.get(name),
      set: (name, value) => {
        if (isSecret(value)) this.#own(value);
        values.set(name, value);
      },
    };
    this.#unsubscribe.push(
      ports.keys.onKey((code) => this.#onPlainKey(code)),
      ports.keys.onSecureKey((result) => this.#onSecureKey(result)),
    );
  }

  get language(): Language {
    return this.#language;
  }

  setLanguage(language: Language, step: StepId = {}): void {
    const id = this.#stepId(step, 'language');
    if (!LANGUAGES.includes(language)) throw new FlowUsageError(`unsupported language ${String(language)}`);
    this.#language = language;
    this.#observe({ type: 'language', id, language });
  }

  /** Call-scoped values, kept in the cell and dropped (secrets wiped) with it. A Secret stored here must be this call's own. */
  get values(): { get(name: string): CallValue | undefined; set(name: string, value: CallValue): void } {
    return this.#values;
  }

  // ----- speaking -----------------------------------------------------------------

  async say(prompt: Prompt, options: StepOptions = {}): Promise<void> {
    await this.#say(prompt, options, 'say');
  }

  async play(file: string, options: StepOptions = {}): Promise<void> {
    await this.#say([{ file }], options, 'play');
  }

  sayDigits(digits: string, options?: StepOptions): Promise<void> {
    return this.say([{ digits }], options);
  }
  sayNumber(value: number, options?: StepOptions): Promise<void> {
    return this.say([{ number: value }], options);
  }
  sayCurrency(cents: number, options?: StepOptions): Promise<void> {
    return this.say([{ currency: cents }], options);
  }
  sayDate(isoDate: string, options?: StepOptions): Promise<void> {
    return this.say([{ date: isoDate }], options);
  }
  sayOrdinal(value: number, options?: StepOptions): Promise<void> {
    return this.say([{ ordinal: value }], options);
  }

  async #say(prompt: Prompt, options: StepOptions, kind: 'say' | 'play'): Promise<void> {
    const id = this.#stepId(options, kind);
    const items = this.render(prompt);
    this.#lastPrompt = items;
    await this.#playWithFlowKeys(items, options, id);
  }

  /** Turns a prompt into clip references for the current language; throws on any secret leak. */
  render(prompt: Prompt): PlayItem[] {
    if (typeof prompt === 'string') return [this.#promptClip(prompt, this.#language)];
    if (!Array.isArray(prompt)) {
      assertNoSecret(prompt, 'say');
      throw new FlowUsageError('say takes a prompt id or a list of parts');
    }
    const lang = this.#language;
    const clips = (ids: readonly string[]): PlayItem[] => ids.map((id) => ({ clip: `${lang}/${id}` }));
    const items: PlayItem[] = [];
    for (const part of prompt as readonly SayPart[]) {
      if ('last4' in part) items.push(...clips(digitsClips(this.#own(part.last4).last4())));
      else if ('spell' in part) items.push(...clips(this.#own(part.spell).spell(DIGIT_CLIPS)));
      else {
        assertNoSecret(part, 'say');
        if ('prompt' in part) items.push(this.#promptClip(part.prompt, part.lang ?? lang));
        else if ('digits' in part) items.push(...clips(digitsClips(part.digits)));
        else if ('characters' in part) items.push(...clips(charactersClips(part.characters)));
        else if ('number' in part) items.push(...clips(numberClips(part.number, lang)));
        else if ('currency' in part) items.push(...clips(currencyClips(part.currency, lang)));
        else if ('date' in part) items.push(...clips(dateClips(part.date, lang)));
        else if ('ordinal' in part) items.push(...clips(ordinalClips(part.ordinal, lang)));
        else if ('file' in part) items.push({ clip: part.file });
        else if ('silenceMs' in part) items.push({ silenceMs: part.silenceMs });
        else throw new FlowUsageError('unknown say part');
      }
    }
    return items;
  }

  #promptClip(id: string, lang: Language): PlayItem {
    assertNoSecret(id, 'say');
    if (typeof id !== 'string') throw new FlowUsageError('a prompt id must be a string');
    if (this.#settings.catalogue && !this.#settings.catalogue.has(lang, id)) throw new UnknownPromptError(lang, id);
    return { clip: `${lang}/${id}` };
  }

  /** Plays with the flow-wide keys live: the agent key transfers, the repeat key replays. */
  async #playWithFlowKeys(items: readonly PlayItem[], keys: StepKeys, id: string): Promise<void> {
    this.#assertLive();
    const { agent, repeat } = this.#flowKeys(keys, null);
    for (;;) {
      let pressed: 'agent' | 'repeat' | null = null;
      this.#plainKeyHandler = (code) => {
        if (pressed) return;
        if (code === agent) pressed = 'agent';
        else if (code === repeat) pressed = 'repeat';
        // Keys that mean nothing here are dropped, not typed ahead.
        else return this.#observe({ type: 'key.ignored', reason: 'not-a-flow-key' });
        this.#ports.audio.stop();
      };
      try {
        this.#observe({ type: 'play', id, items });
        await this.#guard(this.#ports.audio.play(items, { bargeIn: false }));
      } finally {
        this.#plainKeyHandler = null;
      }
      if (pressed === 'agent') return this.toAgent();
      if (pressed !== 'repeat') return;
      items = this.#lastPrompt.length > 0 ? this.#lastPrompt : items;
    }
  }

  // ----- key entry ----------------------------------------------------------------

  async gather(options: PlainGatherOptions): Promise<GatherResult> {
    const id = this.#stepId(options, 'gather');
    const spec = this.#spec(options);
    const terminator = options.terminator === undefined ? '#' : options.terminator;
    const terminatorCode = terminator === null ? null : keyCode(terminator);
    const flowKeys = this.#flowKeys(options, terminatorCode);
    const digits: string[] = [];
    const end = await this.#runEntry({
      step: 'gather',
      id,
      spec,
      prompts: this.#entryPrompts(options),
      classify: (code, count) => {
        if (code === terminatorCode) return 'terminator';
        // The agent key only counts as the first key, so it can still be a digit later on.
        if (code === flowKeys.agent && count === 0) return 'agent';
        if (code === flowKeys.repeat) return 'repeat';
        return code >= 0 && code <= 9 ? 'digit' : 'rejected';
      },
      accept: (code) => {
        if (code !== null) digits.push(keyText(code));
      },
      discard: () => {
        digits.length = 0;
      },
      validate: async () => {
        // Whatever the validator sees could be kept by the flow: it is keyed input from now on.
        const entry = this.#keyed.remember(digits.join(''));
        return options.validate ? options.validate(entry) : true;
      },
    });
    this.#afterEntry(end, spec, terminatorCode);
    if (end.ok) return { ok: true, digits: this.#keyed.remember(digits.join('')) };
    if (end.reason === 'agent') return this.toAgent();
    return { ok: false, reason: end.reason };
  }

  async gatherSecret(options: SecretGatherOptions): Promise<SecretGatherResult> {
    const id = this.#stepId(options, 'gatherSecret');
    const spec = this.#spec(options);
    const terminator = options.terminator === undefined ? '#' : options.terminator;
    const terminatorCode = terminator === null ? null : keyCode(terminator);
    const newBuilder = (): SecretBuilder => this.#ports.cell.newSecretBuilder(options.kind, spec.max, terminatorCode);
    let builder = newBuilder();
    let sealed: Secret | null = null;
    const end = await this.#runEntry({
      step: 'gatherSecret',
      id,
      spec,
      prompts: this.#entryPrompts(options),
      accept: () => {},
      discard: () => {
        // After a failed validation the builder is spent; the next attempt gets a fresh one.
        if (sealed) {
          sealed = null;
          builder = newBuilder();
        } else builder.clear();
      },
      validate: async () => {
        sealed = builder.finish();
        return options.validate ? options.validate(sealed) : true;
      },
      sink: () => builder,
    });
    this.#afterEntry(end, spec, terminatorCode);
    if (end.ok && sealed) return { ok: true, secret: sealed };
    if (!end.ok && end.reason !== 'agent') return { ok: false, reason: end.reason };
    throw new FlowUsageError('secure gather ended without a value');
  }

  async menu<T extends string>(options: MenuOptions<T>): Promise<T | null> {
    const id = this.#stepId(options, 'menu');
    const spec: GatherSpec = {
      min: 1,
      max: 1,
      firstDigitTimeoutMs: options.timeout ?? this.#settings.gatherDefaults.firstDigitTimeout,
      interDigitTimeoutMs: options.timeout ?? this.#settings.gatherDefaults.firstDigitTimeout,
      totalTimeoutMs: this.#settings.gatherDefaults.totalTimeout,
      retries: options.retries ?? this.#settings.gatherDefaults.retries,
      bargeIn: options.bargeIn ?? true,
    };
    const choices = new Map<DtmfCode, T>();
    for (const [key, value] of Object.entries(options.options) as Array<[MenuKey, T | undefined]>) {
      if (value !== undefined) choices.set(keyCode(key), value);
    }
    const flowKeys = this.#flowKeys(options, null);
    let chosen: T | null = null;
    const end = await this.#runEntry({
      step: 'menu',
      id,
      spec,
      prompts: this.#entryPrompts(options),
      classify: (code) => {
        if (choices.has(code)) return 'digit';
        if (code === flowKeys.agent) return 'agent';
        if (code === flowKeys.repeat) return 'repeat';
        return 'rejected';
      },
      accept: (code) => {
        chosen = code === null ? null : (choices.get(code) ?? null);
      },
      discard: () => {
        chosen = null;
      },
      validate: async () => chosen !== null,
    });
    if (end.ok) return chosen;
    if (end.reason === 'agent') return this.toAgent();
    return null;
  }

  /**
   * A caller who fills the entry often presses the terminator anyway; that key is not
   * meant for the next step, so it is dropped if it comes within the inter-digit time.
   */
  #afterEntry(end: GatherEnd, spec: GatherSpec, terminator: DtmfCode | null): void {
    if (end.ok && end.reason === 'max' && terminator !== null) {
      this.#swallow = { code: terminator, until: this.#ports.scheduler.now() + spec.interDigitTimeoutMs };
    }
  }

  /** The step's flow-wide keys: off when the step or the flow turns them off; the repeat key never shadows the terminator. */
  #flowKeys(keys: StepKeys, terminator: DtmfCode | null): { agent: DtmfCode | null; repeat: DtmfCode | null } {
    const agent = keys.agentKey !== false ? this.#settings.agentKey : null;
    const repeat = keys.repeatKey !== false && this.#settings.repeatKey !== terminator ? this.#settings.repeatKey : null;
    return { agent, repeat };
  }

  #spec(options: GatherOptions): GatherSpec {
    const defaults = this.#settings.gatherDefaults;
    const min = options.min ?? 1;
    const max = options.max ?? 32;
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max < 1 || min > max) {
      throw new FlowUsageError('gather needs whole numbers 0 <= min <= max, max >= 1');
    }
    return {
      min,
      max,
      firstDigitTimeoutMs: options.firstDigitTimeout ?? defaults.firstDigitTimeout,
      interDigitTimeoutMs: options.interDigitTimeout ?? defaults.interDigitTimeout,
      totalTimeoutMs: options.totalTimeout ?? defaults.totalTimeout,
      retries: options.retries ?? defaults.retries,
      bargeIn: options.bargeIn ?? true,
    };
  }

  /**
   * An entry without a prompt of its own opens in silence, but its question is the last
   * prompt the caller heard (say('menu.options') then gather()): the repeat key and the
   * retries replay that one.
   */
  #entryPrompts(options: { prompt?: Prompt; invalidPrompt?: Prompt; timeoutPrompt?: Prompt }): EntryPrompts {
    const own = options.prompt === undefined ? null : this.render(options.prompt);
    return {
      opening: own ?? [],
      prompt: own ?? this.#lastPrompt,
      invalid: this.render(options.invalidPrompt ?? this.#settings.invalidPrompt),
      timeout: this.render(options.timeoutPrompt ?? this.#settings.timeoutPrompt),
    };
  }

  /** Drives the gather machine for one entry step until it finishes. */
  #runEntry(io: EntryIO): Promise<GatherEnd> {
    this.#assertLive();
    const { scheduler, audio, keys } = this.#ports;
    return new Promise<GatherEnd>((resolve, reject) => {
      let state = initialGatherState();
      const timers = new Map<TimerName, TimerHandle>();
      let playToken = 0;
      let opened = false;
      let currentKey: DtmfCode | null = null;
      let closed = false;

      const close = (): void => {
        closed = true;
        for (const timer of timers.values()) timer.cancel();
        timers.clear();
        if (io.sink) keys.routeTo(null);
        this.#plainKeyHandler = null;
        this.#secureKeyHandler = null;
        this.#ports.call.hangupSignal.removeEventListener('abort', onHangup);
      };
      const failWith = (error: unknown): void => {
        if (closed) return;
        close();
        audio.stop();
        reject(error);
      };
      const onHangup = (): void => failWith(new FlowEnd('callerHungUp'));

      const perform = (action: GatherAction): void => {
        switch (action.type) {
          case 'play': {
            if (io.sink) keys.routeTo(io.sink());
            // The machine's first play is the step's opening; later ones are repeats and retries.
            const items = opened ? action.parts.flatMap((part) => io.prompts[part]) : io.prompts.opening;
            opened = true;
            if (action.parts.includes('prompt') && io.prompts.prompt.length > 0) this.#lastPrompt = io.prompts.prompt;
            const start = (): void => {
              const token = ++playToken;
              this.#observe({ type: 'play', id: io.id, items });
              const ended = (outcome: PlayOutcome): void => {
                if (token !== playToken || closed) return;
                // The media layer stopped for a key that never reached the entry (a swallowed
                // terminator): play the prompt again rather than leave the caller in silence.
                if (outcome === 'interrupted' && state.phase === 'prompting') start();
                else dispatch({ type: 'promptEnded' });
              };
              if (items.length === 0) queueMicrotask(() => ended('done'));
              else audio.play(items, { bargeIn: io.spec.bargeIn }).then(ended, failWith);
            };
            start();
            break;
          }
          case 'stopPrompt':
            playToken++;
            audio.stop();
            break;
          case 'startTimer':
            timers.get(action.timer)?.cancel();
            timers.set(
              action.timer,
              scheduler.setTimer(action.ms, () => {
                timers.delete(action.timer);
                dispatch({ type: 'timeout', timer: action.timer });
              }),
            );
            break;
          case 'cancelTimer':
            timers.get(action.timer)?.cancel();
            timers.delete(action.timer);
            break;
          case 'acceptKey':
            io.accept(currentKey);
            break;
          case 'discardEntry':
            io.discard();
            break;
          case 'validate':
            if (io.sink) keys.routeTo(null);
            io.validate().then((ok) => dispatch({ type: 'validated', ok }), failWith);
            break;
          case 'finish':
            close();
            this.#observe({
              type: 'gather.done',
              id: io.id,
              step: io.step,
              outcome: action.end.ok ? 'ok' : action.end.reason,
              keys: state.count,
              ...(action.end.ok ? { completion: action.end.reason } : {}),
            });
            resolve(action.end);
            break;
        }
      };
      const dispatch = (event: Parameters<typeof transition>[1]): void => {
        if (closed) return;
        const before = state;
        if (event.type === 'key' && before.phase === 'prompting' && !io.spec.bargeIn && event.key !== 'agent' && event.key !== 'repeat') {
          // The machine drops it (so it cannot become the first digit); the transcript says so.
          this.#observe({ type: 'key.ignored', reason: 'no-barge-in' });
        }
        const step = transition(state, event, io.spec);
        state = step.state;
        try {
          for (const action of step.actions) perform(action);
        } catch (error) {
          failWith(error);
        }
        if (before.phase === 'prompting' && state.phase === 'collecting') this.#observe({ type: 'input.armed', id: io.id, step: io.step });
      };

      if (this.#ports.call.hangupSignal.aborted) return failWith(new FlowEnd('callerHungUp'));
      this.#ports.call.hangupSignal.addEventListener('abort', onHangup);
      if (io.classify) {
        const classify = io.classify;
        this.#plainKeyHandler = (code) => {
          currentKey = code;
          dispatch({ type: 'key', key: classify(code, state.count) });
        };
      } else {
        // Plain keys during a secure entry (before routing, or a flow-wide key) are dropped.
        this.#plainKeyHandler = () => {};
        this.#secureKeyHandler = (result) => {
          currentKey = null;
          const key: GatherKey = result === 'stored' ? 'digit' : result;
          dispatch({ type: 'key', key });
        };
      }
      dispatch({ type: 'start' });
      // With barge-in the caller may key as soon as the prompt starts (keys are routed above).
      if (io.spec.bargeIn && !closed) this.#observe({ type: 'input.open', id: io.id, step: io.step });
    });
  }

  #onSecureKey(result: KeyPushResult): void {
    const swallow = this.#swallow;
    this.#swallow = null;
    // The sink does not store a terminator, so dropping this notice drops the key.
    if (swallow && result === 'terminator' && this.#ports.scheduler.now() <= swallow.until) return this.#keyIgnored();
    this.#secureKeyHandler?.(result);
  }

  #onPlainKey(code: DtmfCode): void {
    const swallow = this.#swallow;
    this.#swallow = null;
    if (swallow && swallow.code === code && this.#ports.scheduler.now() <= swallow.until) return this.#keyIgnored();
    this.#plainKeyHandler?.(code);
  }

  #keyIgnored(): void {
    // A dropped terminator.
    this.#observe({ type: 'key.ignored', reason: 'terminator-after-full-entry' });
  }

  // ----- backends and payment ---------------------------------------------------------

  backend(name: string, step: StepId = {}): BackendHandle {
    const id = this.#stepId(step, 'backend');
    assertNoSecret(name, 'backend name');
    return {
      query: async (operation, params) => {
        this.#assertLive();
        assertNoSecret(operation, 'backend operation');
        for (const value of Object.values(params)) if (isSecret(value)) this.#own(value);
        let timer: TimerHandle | null = null;
        const started = this.#ports.scheduler.now();
        const ms = (): number => this.#ports.scheduler.now() - started;
        const timeout = new Promise<never>((_, reject) => {
          timer = this.#ports.scheduler.setTimer(this.#settings.backendTimeoutMs, () =>
            reject(new BackendUnavailableError(name, operation, 'timeout')),
          );
        });
        try {
          const result = await this.#guard(Promise.race([this.#ports.backend.query(name, operation, params), timeout]));
          this.#observe({ type: 'backend', id, backend: name, operation, outcome: 'ok', rows: result.rows.length, ms: ms() });
          return result;
        } catch (error) {
          if (error instanceof FlowEnd) throw error;
          const outcome = error instanceof BackendUnavailableError ? 'timeout' : 'error';
          this.#observe({ type: 'backend', id, backend: name, operation, outcome, rows: 0, ms: ms() });
          throw error instanceof BackendUnavailableError ? error : new BackendUnavailableError(name, operation, 'error');
        } finally {
          (timer as TimerHandle | null)?.cancel();
        }
      },
    };
  }

  /** One authorization attempt with its own idempotency key; a gateway failure is 'unavailable'. */
  async pay(request: PaymentRequest): Promise<ChargeResult> {
    this.#assertLive();
    const { id: stepId, amountCents, card, expiry, cvv, zip } = request;
    const id = this.#stepId({ id: stepId }, 'pay');
    if (!Number.isInteger(amountCents) || amountCents <= 0) throw new FlowUsageError('pay needs a positive whole amount in cents');
    for (const secret of [card, expiry, cvv, zip]) this.#own(secret);
    let result: ChargeResult;
    const started = this.#ports.scheduler.now();
    try {
      result = await this.#guard(this.#ports.payment.charge({ amountCents, card, expiry, cvv, zip, idempotencyKey: randomUUID() }));
    } catch (error) {
      if (error instanceof FlowEnd) throw error;
      result = { approved: false, reason: 'unavailable' };
    }
    this.#observe({ type: 'payment', id, outcome: result.approved ? 'approved' : result.reason, ms: this.#ports.scheduler.now() - started });
    return result;
  }

  // ----- leaving the flow -------------------------------------------------------------

  /** Blind transfer; the context header carries only non-sensitive strings. Ends the flow. */
  async transfer(target: string, context: Record<string, string> = {}, step: StepId = {}): Promise<never> {
    const id = this.#stepId(step, 'transfer');
    this.#assertLive();
    assertNoSecret(target, 'transfer target');
    assertNoSecret(context, 'transfer context');
    for (const value of Object.values(context)) {
      if (typeof value !== 'string') throw new FlowUsageError('transfer context values must be strings');
    }
    this.#observe({ type: 'transfer', id, target, context });
    await this.#guard(this.#ports.call.transfer(target, context));
    throw this.#end(new FlowEnd('transferred'));
  }

  /**
   * Non-sensitive facts sent with every agent transfer from here on, including one the
   * caller asks for with the agent key (e.g. path, amount due). Merged; checked for secrets.
   */
  setAgentContext(values: Record<string, string>): void {
    assertNoSecret(values, 'agent context');
    this.#agentContext = { ...this.#agentContext, ...values };
  }

  /** Transfer to the configured agent (or hang up when there is none). */
  async toAgent(context: Record<string, string> = {}, step: StepId = {}): Promise<never> {
    const id = this.#stepId(step, 'agent');
    const target = this.#settings.agentTarget;
    if (target === null) return this.hangup({ id });
    if (this.#settings.agentPrompt) {
      const items = this.render(this.#settings.agentPrompt);
      this.#observe({ type: 'play', id, items });
      await this.#guard(this.#ports.audio.play(items, { bargeIn: false }));
    }
    return this.transfer(target, { language: this.#language, ...this.#agentContext, ...context }, { id });
  }

  async hangup(step: StepId = {}): Promise<never> {
    const id = this.#stepId(step, 'hangup');
    this.#assertLive();
    this.#observe({ type: 'hangup', id });
    await this.#ports.call.hangup();
    throw this.#end(new FlowEnd('hungUp'));
  }

  /**
   * Structured log line. A secret anywhere throws (SecretLeakError). Keyed digits — what a
   * plain gather returned or showed its validator — are never logged either (issue 8: key
   * presses are logged as counts and outcomes): a field whose text contains them is written
   * as '[keyed]'. Menu choices are the flow's own option names and may be logged.
   */
  log(event: string, fields: Record<string, string | number | boolean> = {}, step: StepId = {}): void {
    const id = this.#stepId(step, 'log');
    assertNoSecret(event, 'log');
    assertNoSecret(fields, 'log');
    const name = this.#keyed.seenIn(event) ? KEYED_FIELD : event;
    const safe: Record<string, string | number | boolean> = {};
    for (const [key, value] of Object.entries(fields)) {
      safe[key] = typeof value !== 'boolean' && this.#keyed.seenIn(String(value)) ? KEYED_FIELD : value;
    }
    this.#observe({ type: 'log', id, event: name });
    // `event` is the logger's own key (the fixed vocabulary): the flow's name goes in `flowEvent`.
    this.#ports.logger.info({ ...safe, flowEvent: name }, 'flow.log');
  }

  /** Releases the key listeners; the runner calls it when the flow is over. */
  close(): void {
    this.#keyed.forget();
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    this.#plainKeyHandler = null;
    this.#secureKeyHandler = null;
    this.#ports.keys.routeTo(null);
  }

  get ended(): FlowEnd | null {
    return this.#ended;
  }

  #end(signal: FlowEnd): FlowEnd {
    this.#ended = signal;
    return signal;
  }

  /** A Secret must belong to this call's cell (CrossCellError otherwise): a flow that kept another call's handle gets nothing from it. */
  #own(secret: Secret): Secret {
    this.#ports.cell.assertOwns(secret);
    return secret;
  }

  #stepId(step: StepId, kind: string): string {
    const id = step.id;
    if (id === undefined) return kind;
    assertNoSecret(id, 'a step id');
    if (typeof id !== 'string' || !STEP_ID.test(id)) throw new FlowUsageError('a step id is letters, digits, _ . and - (at most 64, starting with a letter)');
    return id;
  }

  #assertLive(): void {
    if (this.#ended) throw this.#ended;
    if (this.#ports.call.hangupSignal.aborted) throw this.#end(new FlowEnd('callerHungUp'));
  }

  /** Awaits a port call, but gives up as soon as the caller hangs up. */
  #guard<T>(promise: Promise<T>): Promise<T> {
    const signal = this.#ports.call.hangupSignal;
    if (signal.aborted) return Promise.reject(this.#end(new FlowEnd('callerHungUp')));
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        this.#ports.audio.stop();
        reject(this.#end(new FlowEnd('callerHungUp')));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      promise.then(
        (value) => {
          signal.removeEventListener('abort', onAbort);
          resolve(value);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }
}

/** The flow-facing type: the CallContext's public surface. */
export type Call = Pick<
  CallContext,
  | 'language'
  | 'setLanguage'
  | 'values'
  | 'say'
  | 'play'
  | 'sayDigits'
  | 'sayNumber'
  | 'sayCurrency'
  | 'sayDate'
  | 'sayOrdinal'
  | 'gather'
  | 'gatherSecret'
  | 'menu'
  | 'backend'
  | 'pay'
  | 'transfer'
  | 'toAgent'
  | 'setAgentContext'
  | 'hangup'
  | 'log'
>;
