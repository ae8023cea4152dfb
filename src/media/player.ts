// One call's playback cursor over shared, pre-encoded frames. The media clock calls nextFrame()
// every 20 ms; the hot path returns existing frame views and allocates nothing.
import type { FrameSource, G711Codec } from './frame-source.ts';
import { FRAME_MS } from './frame-source.ts';
import { silenceFrame, type EncodedPrompt } from './prompt-store.ts';

export type PlayItem = { readonly prompt: EncodedPrompt } | { readonly silenceMs: number };
export type PlayOutcome = 'done' | 'interrupted' | 'stopped';

export interface PlayOptions {
  /** A key press ends the play-list at once ('interrupted'); otherwise keys do not touch playback. */
  bargeIn?: boolean;
}

const MAX_SILENCE_MS = 10 * 60 * 1000;
const NOTHING: readonly PlayItem[] = [];

function frameCount(item: PlayItem): number {
  return 'prompt' in item ? item.prompt.frameCount : Math.ceil(item.silenceMs / FRAME_MS);
}

export class Player implements FrameSource {
  private items: readonly PlayItem[] = NOTHING;
  private itemIndex = 0;
  private frameIndex = 0;
  private bargeIn = false;
  private resolve: ((outcome: PlayOutcome) => void) | null = null;
  private readonly endListeners: Array<(outcome: PlayOutcome) => void> = [];
  private closed = false;

  /**
   * Starts a play-list (replacing one in progress, which ends 'stopped'). Resolves 'done' when its
   * last frame has been handed to the clock, 'interrupted' on barge-in, 'stopped' on stop()/close().
   */
  play(items: readonly PlayItem[], options: PlayOptions = {}): Promise<PlayOutcome> {
    if (this.closed) return Promise.resolve('stopped');
    for (const item of items) {
      if ('silenceMs' in item && !(Number.isFinite(item.silenceMs) && item.silenceMs >= 0 && item.silenceMs <= MAX_SILENCE_MS)) {
        throw new RangeError(`silenceMs must be 0..${MAX_SILENCE_MS}`);
      }
    }
    this.finish('stopped');
    this.items = items;
    this.itemIndex = 0;
    this.frameIndex = 0;
    this.bargeIn = options.bargeIn ?? false;
    const done = new Promise<PlayOutcome>((resolve) => {
      this.resolve = resolve;
    });
    this.skipExhausted();
    return done;
  }

  get playing(): boolean {
    return this.resolve !== null;
  }

  /** Ends playback now; the play() promise resolves 'stopped'. Safe when idle. */
  stop(): void {
    this.finish('stopped');
  }

  /**
   * Tells the player a key arrived (the facade calls this for every key). Returns true when it
   * interrupted a barge-in play-list; keys during a play-list without barge-in are left to the caller.
   */
  keyPressed(): boolean {
    if (!this.resolve || !this.bargeIn) return false;
    this.finish('interrupted');
    return true;
  }

  /** Listener for every play-list end, with its outcome. Runs synchronously inside nextFrame/stop/play:
   *  start the next play-list from the play() promise, not from here. */
  onEnd(listener: (outcome: PlayOutcome) => void): void {
    this.endListeners.push(listener);
  }

  nextFrame(codec: G711Codec): Uint8Array {
    if (!this.resolve) return silenceFrame(codec);
    const item = this.items[this.itemIndex]!;
    const frame = 'prompt' in item ? item.prompt.frames[codec][this.frameIndex]! : silenceFrame(codec);
    this.frameIndex++;
    this.skipExhausted();
    return frame;
  }

  /** Stops and detaches listeners; safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.finish('stopped');
    this.closed = true;
    this.endListeners.length = 0;
  }

  // Moves past finished (and empty) items; ends the play-list when none remain.
  private skipExhausted(): void {
    while (this.itemIndex < this.items.length && this.frameIndex >= frameCount(this.items[this.itemIndex]!)) {
      this.itemIndex++;
      this.frameIndex = 0;
    }
    if (this.itemIndex >= this.items.length) this.finish('done');
  }

  private finish(outcome: PlayOutcome): void {
    const resolve = this.resolve;
    if (!resolve) return;
    this.resolve = null;
    this.items = NOTHING;
    resolve(outcome);
    for (const listener of this.endListeners) listener(outcome);
  }
}
