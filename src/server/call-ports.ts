// Adapts one live call's real parts (player, DTMF receiver, cell, SIP dialog) to the flow's
// ports. The flow runtime never sees the media or SIP layers, only these interfaces.
import type { DtmfCode, KeyPushResult, KeySink } from '../vault/types.ts';
import type { Player, PlayItem as MediaPlayItem } from '../media/player.ts';
import type { EncodedPrompt } from '../media/prompt-store.ts';
import type { DtmfReceiver } from '../media/dtmf-receiver.ts';
import type { IncomingCall } from '../sip/incoming-call.ts';
import type {
  AudioPort,
  CallControlPort,
  KeyPort,
  PlayItem,
  Scheduler,
  TimerHandle,
  Unsubscribe,
} from '../flow/ports.ts';
import { UnknownPromptError } from '../flow/errors.ts';
import { LANGUAGES } from '../flow/say-as.ts';
import { leakingSink, testHooks } from './test-hooks.ts';

/** Real time for flow timers (gather timeouts are per call and coarse; the media path has none). */
export const realScheduler: Scheduler = {
  now: () => performance.now(),
  setTimer(ms: number, callback: () => void): TimerHandle {
    const timer = setTimeout(callback, ms);
    return { cancel: () => clearTimeout(timer) };
  },
};

/** Where one call's play lists are looked up: catalogue clips (`<lang>/<id>`) and its application's audio files. */
export interface PromptSource {
  get(clip: string): EncodedPrompt | undefined;
}

/** play(file) named a file its application does not list under `audio` (so it was never loaded). */
export class UndeclaredAudioError extends Error {
  readonly code = 'TRACELESS_AUDIO_NOT_DECLARED';
  constructor() {
    // The name stays out of the message: it is whatever the flow passed.
    super("play(file): the file is not in the application's audio list");
    this.name = 'UndeclaredAudioError';
  }
}

/** A clip nobody loaded: a catalogue prompt the catalogue lacks, or a file the application did not declare. */
function notLoaded(clip: string): Error {
  const slash = clip.indexOf('/');
  const language = clip.slice(0, Math.max(slash, 0));
  if ((LANGUAGES as readonly string[]).includes(language) && !clip.endsWith('.wav')) return new UnknownPromptError(language, clip.slice(slash + 1));
  return new UndeclaredAudioError();
}

/**
 * Key → response latency: from a key press to the next play list the flow starts (the caller's
 * wait before they hear anything). Wire-level timing (to the first RTP packet) is in bench/.
 */
export class KeyResponseClock {
  #lastKey: number | null = null;
  constructor(private readonly report: (ms: number) => void) {}
  key(): void {
    this.#lastKey = performance.now();
  }
  responded(): void {
    if (this.#lastKey === null) return;
    this.report(performance.now() - this.#lastKey);
    this.#lastKey = null;
  }
}

/**
 * Plays clips encoded once at start (catalogue prompts and the application's declared files);
 * anything not loaded is a flow error, so the caller hears the apology, never silence.
 */
export function audioPort(player: Player, prompts: PromptSource, keyResponse: KeyResponseClock): AudioPort {
  return {
    play(items: readonly PlayItem[], opts: { bargeIn: boolean }) {
      keyResponse.responded();
      const list: MediaPlayItem[] = items.map((item) => {
        if ('silenceMs' in item) return { silenceMs: item.silenceMs };
        const prompt = prompts.get(item.clip);
        if (!prompt) throw notLoaded(item.clip);
        return { prompt };
      });
      return player.play(list, { bargeIn: opts.bargeIn });
    },
    stop: () => player.stop(),
  };
}

/**
 * Keys from the receiver: every key first tells the player (barge-in), then goes to the flow —
 * as a code for plain entry, or only as a value-free result while a secure sink is routed.
 */
export function keyPort(receiver: DtmfReceiver, player: Player, keyResponse: KeyResponseClock): KeyPort {
  const plain = new Set<(code: DtmfCode) => void>();
  const secure = new Set<(result: KeyPushResult) => void>();
  receiver.onKey((code) => {
    keyResponse.key();
    player.keyPressed();
    for (const listener of [...plain]) listener(code);
  });
  receiver.onSecureKey((result) => {
    keyResponse.key();
    player.keyPressed();
    for (const listener of [...secure]) listener(result);
  });
  return {
    onKey(listener): Unsubscribe {
      plain.add(listener);
      return () => plain.delete(listener);
    },
    onSecureKey(listener): Unsubscribe {
      secure.add(listener);
      return () => secure.delete(listener);
    },
    routeTo(sink: KeySink | null) {
      // The deliberately leaking test build (test-hooks.ts) wraps the sink; never in production.
      receiver.routeTo(sink && testHooks.leakKeys ? leakingSink(sink) : sink);
    },
  };
}

/** Header that carries the flow's transfer context (non-sensitive values only, checked by the flow). */
export const CONTEXT_HEADER = 'X-Traceless-Context';

/** `key=value;key=value`, values percent-encoded so no header syntax can be injected. */
export function encodeContext(context: Record<string, string>): string {
  return Object.entries(context)
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
    .join(';');
}

export class TransferFailedError extends Error {
  readonly code = 'TRACELESS_TRANSFER_FAILED';
  constructor() {
    super('the transfer target did not accept the call');
    this.name = 'TransferFailedError';
  }
}

export type TransferListener = (target: string, outcome: 'accepted' | 'failed', latencyMs: number) => void;

export function callControlPort(call: IncomingCall, hangupSignal: AbortSignal, onTransfer: TransferListener): CallControlPort {
  return {
    async transfer(target, context) {
      const started = performance.now();
      const result = await call.transfer(target, [{ name: CONTEXT_HEADER, value: encodeContext(context) }]);
      onTransfer(target, result, performance.now() - started);
      if (result !== 'accepted') throw new TransferFailedError();
    },
    async hangup() {
      call.hangup();
    },
    hangupSignal,
  };
}
