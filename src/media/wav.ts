// RIFF/WAVE reader for prompt audio. Outside input (users replace prompts with their own recordings),
// so every size is checked against the file and against limits, and every failure is a coded error
// naming the file. Output is always 8 kHz mono 16-bit: other rates are resampled once, at load time.
import { readFileSync, statSync } from 'node:fs';
import { ALAW_DECODE, ULAW_DECODE } from './g711.ts';
import { resampleTo8k } from './resample.ts';

export type WavErrorCode =
  | 'WAV_TOO_LARGE'
  | 'WAV_NOT_RIFF'
  | 'WAV_BAD_CHUNK'
  | 'WAV_NO_FMT'
  | 'WAV_BAD_FMT'
  | 'WAV_UNSUPPORTED_FORMAT'
  | 'WAV_NO_DATA'
  | 'WAV_TOO_LONG'
  | 'WAV_UNREADABLE';

export class WavError extends Error {
  constructor(
    readonly code: WavErrorCode,
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail} (${code})`);
    this.name = 'WavError';
  }
}

export interface WavLimits {
  /** Largest file accepted, in bytes (default 32 MiB). */
  maxBytes: number;
  /** Longest audio accepted, in seconds (default 600). */
  maxSeconds: number;
}

export const DEFAULT_WAV_LIMITS: WavLimits = { maxBytes: 32 * 1024 * 1024, maxSeconds: 600 };

export interface DecodedAudio {
  /** 8 kHz mono linear samples. */
  samples: Int16Array;
  sourceRate: number;
  sourceChannels: number;
  sourceFormat: 'pcm16' | 'mulaw' | 'alaw';
}

// WAVE format tags (RFC 2361 Appendix A).
const FORMAT_PCM = 1;
const FORMAT_ALAW = 6;
const FORMAT_MULAW = 7;
const FORMAT_EXTENSIBLE = 0xfffe;
const MIN_RATE = 4000;
const MAX_RATE = 192000;

interface Format {
  tag: number;
  channels: number;
  rate: number;
  blockAlign: number;
  bits: number;
}

function readFormat(view: DataView, offset: number, size: number, file: string): Format {
  if (size < 16) throw new WavError('WAV_BAD_FMT', file, `fmt chunk of ${size} bytes, need 16`);
  let tag = view.getUint16(offset, true);
  const format: Format = {
    tag,
    channels: view.getUint16(offset + 2, true),
    rate: view.getUint32(offset + 4, true),
    blockAlign: view.getUint16(offset + 12, true),
    bits: view.getUint16(offset + 14, true),
  };
  if (tag === FORMAT_EXTENSIBLE) {
    // WAVEFORMATEXTENSIBLE: the real tag is the first two bytes of the SubFormat GUID at offset 24.
    if (size < 40) throw new WavError('WAV_BAD_FMT', file, 'extensible fmt chunk shorter than 40 bytes');
    tag = view.getUint16(offset + 24, true);
    format.tag = tag;
  }
  if (tag !== FORMAT_PCM && tag !== FORMAT_ALAW && tag !== FORMAT_MULAW) {
    throw new WavError('WAV_UNSUPPORTED_FORMAT', file, `format tag ${tag}; supported: PCM (1), A-law (6), µ-law (7)`);
  }
  const wantBits = tag === FORMAT_PCM ? 16 : 8;
  if (format.bits !== wantBits) {
    throw new WavError('WAV_UNSUPPORTED_FORMAT', file, `${format.bits}-bit samples for format ${tag}; need ${wantBits}`);
  }
  if (format.channels < 1 || format.channels > 2) throw new WavError('WAV_BAD_FMT', file, `${format.channels} channels; need 1 or 2`);
  if (format.rate < MIN_RATE || format.rate > MAX_RATE) throw new WavError('WAV_BAD_FMT', file, `sample rate ${format.rate} Hz out of range`);
  if (format.blockAlign !== (format.channels * wantBits) / 8) {
    throw new WavError('WAV_BAD_FMT', file, `block align ${format.blockAlign} does not match ${format.channels}×${wantBits} bits`);
  }
  return format;
}

/** Parses a whole WAV file already in memory. `file` names it in errors. */
export function parseWav(bytes: Uint8Array, file: string, limits: WavLimits = DEFAULT_WAV_LIMITS): DecodedAudio {
  if (bytes.length > limits.maxBytes) throw new WavError('WAV_TOO_LARGE', file, `${bytes.length} bytes exceeds ${limits.maxBytes}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ascii = (at: number) => String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!);
  if (bytes.length < 12 || ascii(0) !== 'RIFF' || ascii(8) !== 'WAVE') throw new WavError('WAV_NOT_RIFF', file, 'not a RIFF/WAVE file');
  const riffEnd = 8 + view.getUint32(4, true);
  if (riffEnd > bytes.length) throw new WavError('WAV_BAD_CHUNK', file, `RIFF size ${riffEnd - 8} runs past the end of the file`);

  let format: Format | undefined;
  let data: { offset: number; size: number } | undefined;
  // RIFF chunks: 4-byte id, 4-byte little-endian size, body padded to an even length.
  for (let at = 12; at + 8 <= riffEnd; ) {
    const id = ascii(at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (body + size > riffEnd) throw new WavError('WAV_BAD_CHUNK', file, `chunk '${id.replace(/[^\x20-\x7e]/g, '?')}' runs past the end of the file`);
    if (id === 'fmt ') {
      if (format) throw new WavError('WAV_BAD_FMT', file, 'two fmt chunks');
      format = readFormat(view, body, size, file);
    } else if (id === 'data') {
      if (!format) throw new WavError('WAV_NO_FMT', file, 'data chunk before fmt chunk');
      if (data) throw new WavError('WAV_BAD_CHUNK', file, 'two data chunks');
      data = { offset: body, size };
    }
    at = body + size + (size & 1);
  }
  if (!format) throw new WavError('WAV_NO_FMT', file, 'no fmt chunk');
  if (!data) throw new WavError('WAV_NO_DATA', file, 'no data chunk');
  const frames = Math.floor(data.size / format.blockAlign);
  if (frames === 0) throw new WavError('WAV_NO_DATA', file, 'data chunk holds no samples');
  if (frames / format.rate > limits.maxSeconds) {
    throw new WavError('WAV_TOO_LONG', file, `${(frames / format.rate).toFixed(1)} s exceeds ${limits.maxSeconds} s`);
  }

  // Mix to mono at the source rate in floating point, then resample (or round) once.
  const mono = new Float32Array(frames);
  const channels = format.channels;
  const table = format.tag === FORMAT_MULAW ? ULAW_DECODE : format.tag === FORMAT_ALAW ? ALAW_DECODE : null;
  for (let frame = 0; frame < frames; frame++) {
    let sum = 0;
    for (let channel = 0; channel < channels; channel++) {
      const index = frame * channels + channel;
      sum += table ? table[bytes[data.offset + index]!]! : view.getInt16(data.offset + index * 2, true);
    }
    mono[frame] = sum / channels;
  }
  return {
    samples: resampleTo8k(mono, format.rate),
    sourceRate: format.rate,
    sourceChannels: channels,
    sourceFormat: table === ULAW_DECODE ? 'mulaw' : table === ALAW_DECODE ? 'alaw' : 'pcm16',
  };
}

/** Reads and parses a WAV file; the size limit is checked before the file is read. */
export function readWavFile(path: string, limits: WavLimits = DEFAULT_WAV_LIMITS): DecodedAudio {
  let bytes: Buffer;
  try {
    const size = statSync(path).size;
    if (size > limits.maxBytes) throw new WavError('WAV_TOO_LARGE', path, `${size} bytes exceeds ${limits.maxBytes}`);
    bytes = readFileSync(path);
  } catch (error) {
    if (error instanceof WavError) throw error;
    throw new WavError('WAV_UNREADABLE', path, (error as NodeJS.ErrnoException).code ?? 'read failed');
  }
  return parseWav(bytes, path, limits);
}
