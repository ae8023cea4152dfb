// In-process stand-ins for the media, cell and call-control ports, all on a virtual clock.
// Used by the simulator (and so by users' own flow tests); nothing here waits for real time.
import type { DtmfCode, KeyPushResult, KeySink } from '../vault/types.ts';
import type {
  AudioPort,
  CallControlPort,
  KeyPort,
  PlayItem,
  PlayOutcome,
  Scheduler,
  TimerHandle,
  Unsubscribe,
} from './ports.ts';

interface Pending {
  due: number;
  seq: number;
  callback: () => void;
  cancelled: boolean;
}

/** A scheduler whose time moves only when the simulator fires the next timer. */
export class VirtualClock implements Scheduler {
  #now = 0;
  #seq = 0;
  #pending: Pending[] = [];

  now(): number {
    return this.#now;
  }

  setTimer(ms: number, callback: () => void): TimerHandle {
    const entry: Pending = { due: this.#now + Math.max(0, ms), seq: this.#seq++, callback, cancelled: false };
    this.#pending.push(entry);
    return {
      cancel: () => {
        entry.cancelled = true;
      },
    };
  }

  /** Due time of the earliest live timer, or null when nothing is scheduled. */
  nextDue(): number | null {
    this.#pending = this.#pending.filter((entry) => !entry.cancelled);
    let best: Pending | null = null;
    for (const entry of this.#pending) if (!best || entry.due < best.due || (entry.due === best.due && entry.seq < best.seq)) best = entry;
    return best ? best.due : null;
  }

  /** Moves time to the earliest timer and runs it. Returns false when nothing is scheduled. */
  fireNext(): boolean {
    const due = this.nextDue();
    if (due === null) return false;
    const entry = this.#pending.find((candidate) => candidate.due === due && !candidate.cancelled)!;
    this.#pending = this.#pending.filter((candidate) => candidate !== entry);
    this.#now = due;
    entry.callback();
    return true;
  }
}

export type SimRecord =
  | { type: 'play'; items: readonly PlayItem[]; outcome: PlayOutcome }
  | { type: 'key'; key: string; secure: boolean };

/** Plays nothing; a play list lasts as long as its clips would, on the virtual clock. */
export class SimAudio implements AudioPort {
  #current: { resolve: (outcome: PlayOutcome) => void; timer: TimerHandle; bargeIn: boolean; items: readonly PlayItem[] } | null = null;

  constructor(
    private readonly clock: VirtualClock,
    private readonly clipMs: (clip: string) => number,
    private readonly record: (entry: SimRecord) => void,
  ) {}

  play(items: readonly PlayItem[], opts: { bargeIn: boolean }): Promise<PlayOutcome> {
    this.stop();
    const duration = items.reduce((sum, item) => sum + ('clip' in item ? this.clipMs(item.clip) : item.silenceMs), 0);
    return new Promise<PlayOutcome>((resolve) => {
      const timer = this.clock.setTimer(duration, () => this.#end('done'));
      this.#current = { resolve, timer, bargeIn: opts.bargeIn, items };
    });
  }

  stop(): void {
    this.#end('stopped');
  }

  /** A key arrived: a barge-in play list ends itself, as the media layer would. */
  keyPressed(): void {
    if (this.#current?.bargeIn) this.#end('interrupted');
  }

  #end(outcome: PlayOutcome): void {
    const current = this.#current;
    if (!current) return;
    this.#current = null;
    current.timer.cancel();
    this.record({ type: 'play', items: current.items, outcome });
    current.resolve(outcome);
  }
}

const KEY_TEXT = '0123456789*#ABCD';

/** Delivers the scripted caller's keys: into the routed sink when there is one, else as plain keys. */
export class SimKeys implements KeyPort {
  #plain = new Set<(code: DtmfCode) => void>();
  #secure = new Set<(result: KeyPushResult) => void>();
  #sink: KeySink | null = null;

  constructor(
    private readonly audio: SimAudio,
    private readonly record: (entry: SimRecord) => void,
  ) {}

  onKey(listener: (code: DtmfCode) => void): Unsubscribe {
    this.#plain.add(listener);
    return () => this.#plain.delete(listener);
  }

  onSecureKey(listener: (result: KeyPushResult) => void): Unsubscribe {
    this.#secure.add(listener);
    return () => this.#secure.delete(listener);
  }

  routeTo(sink: KeySink | null): void {
    this.#sink = sink;
  }

  press(code: DtmfCode): void {
    this.audio.keyPressed();
    const sink = this.#sink;
    if (sink) {
      // The transcript never shows a secure key, only that one arrived.
      this.record({ type: 'key', key: '•', secure: true });
      const result = sink.pushKey(code);
      for (const listener of [...this.#secure]) listener(result);
      return;
    }
    this.record({ type: 'key', key: KEY_TEXT[code] ?? '?', secure: false });
    for (const listener of [...this.#plain]) listener(code);
  }
}

export interface SimCallRecord {
  transfers: Array<{ target: string; context: Record<string, string> }>;
  hangups: number;
}

export class SimCallControl implements CallControlPort {
  readonly #controller = new AbortController();
  readonly record: SimCallRecord = { transfers: [], hangups: 0 };

  get hangupSignal(): AbortSignal {
    return this.#controller.signal;
  }

  async transfer(target: string, context: Record<string, string>): Promise<void> {
    this.record.transfers.push({ target, context: { ...context } });
  }

  async hangup(): Promise<void> {
    this.record.hangups += 1;
  }

  callerHangsUp(): void {
    this.#controller.abort();
  }
}
