// Prompt audio, decoded and encoded once at start and shared read-only by every call.
// Each prompt is one buffer holding all its PCMU frames then all its PCMA frames; the frame
// objects are subarray views made here, so playback hands out existing objects and allocates nothing.
import type { G711Codec } from './frame-source.ts';
import { FRAME_MS, FRAME_SAMPLES } from './frame-source.ts';
import { SILENCE_BYTE, encodeSamples } from './g711.ts';
import { DEFAULT_WAV_LIMITS, readWavFile, type WavLimits } from './wav.ts';

export interface EncodedPrompt {
  readonly id: string;
  readonly frameCount: number;
  readonly durationMs: number;
  /** 160-byte frames per codec; views into one buffer owned by the store. Never write to them. */
  readonly frames: Readonly<Record<G711Codec, readonly Uint8Array[]>>;
}

export type PromptStoreErrorCode = 'PROMPT_DUPLICATE' | 'PROMPT_NOT_FOUND' | 'PROMPT_EMPTY' | 'PROMPT_BAD_ID';

export class PromptStoreError extends Error {
  constructor(
    readonly code: PromptStoreErrorCode,
    readonly promptId: string,
    detail: string,
  ) {
    super(`prompt '${promptId}': ${detail} (${code})`);
    this.name = 'PromptStoreError';
  }
}

const SILENCE_FRAMES: Readonly<Record<G711Codec, Uint8Array>> = {
  PCMU: new Uint8Array(FRAME_SAMPLES).fill(SILENCE_BYTE.PCMU),
  PCMA: new Uint8Array(FRAME_SAMPLES).fill(SILENCE_BYTE.PCMA),
};

/** One shared 20 ms frame of digital silence for the codec. */
export function silenceFrame(codec: G711Codec): Uint8Array {
  return SILENCE_FRAMES[codec];
}

const MAX_ID_LENGTH = 200;

export class PromptStore {
  private readonly prompts = new Map<string, EncodedPrompt>();
  private bytes = 0;

  /** Encodes 8 kHz mono samples; the last partial frame is padded with silence. */
  add(id: string, samples: Int16Array): EncodedPrompt {
    if (id.length === 0 || id.length > MAX_ID_LENGTH) throw new PromptStoreError('PROMPT_BAD_ID', id.slice(0, MAX_ID_LENGTH), 'id must be 1-200 characters');
    if (this.prompts.has(id)) throw new PromptStoreError('PROMPT_DUPLICATE', id, 'already loaded');
    if (samples.length === 0) throw new PromptStoreError('PROMPT_EMPTY', id, 'no audio');
    const frameCount = Math.ceil(samples.length / FRAME_SAMPLES);
    const codecBytes = frameCount * FRAME_SAMPLES;
    const buffer = new Uint8Array(codecBytes * 2);
    const ulaw = buffer.subarray(0, codecBytes);
    const alaw = buffer.subarray(codecBytes);
    encodeSamples(samples, 'PCMU', ulaw);
    encodeSamples(samples, 'PCMA', alaw);
    ulaw.fill(SILENCE_BYTE.PCMU, samples.length);
    alaw.fill(SILENCE_BYTE.PCMA, samples.length);
    const framesOf = (region: Uint8Array) =>
      Object.freeze(Array.from({ length: frameCount }, (_, i) => region.subarray(i * FRAME_SAMPLES, (i + 1) * FRAME_SAMPLES)));
    const prompt: EncodedPrompt = Object.freeze({
      id,
      frameCount,
      durationMs: frameCount * FRAME_MS,
      frames: Object.freeze({ PCMU: framesOf(ulaw), PCMA: framesOf(alaw) }),
    });
    this.prompts.set(id, prompt);
    this.bytes += buffer.length;
    return prompt;
  }

  /** Reads a WAV file (any supported format and rate) and adds it; WavError names the file on failure. */
  loadFile(id: string, path: string, limits: WavLimits = DEFAULT_WAV_LIMITS): EncodedPrompt {
    return this.add(id, readWavFile(path, limits).samples);
  }

  get(id: string): EncodedPrompt | undefined {
    return this.prompts.get(id);
  }

  require(id: string): EncodedPrompt {
    const prompt = this.prompts.get(id);
    if (!prompt) throw new PromptStoreError('PROMPT_NOT_FOUND', id.slice(0, MAX_ID_LENGTH), 'not loaded');
    return prompt;
  }

  get size(): number {
    return this.prompts.size;
  }

  /** Encoded audio held, both codecs (for the memory figure in health and bench). */
  get encodedBytes(): number {
    return this.bytes;
  }
}
