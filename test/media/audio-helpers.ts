// Signal tools for media tests: synthesis and measurement from first principles.

/** Builds a RIFF/WAVE file in memory (format tag, channels, rate, bits, raw data). */
export function wavBytes(options: { tag: number; channels: number; rate: number; bits: number; data: Uint8Array; extraChunk?: boolean }): Buffer {
  const { tag, channels, rate, bits, data } = options;
  const extra = options.extraChunk ? Buffer.from('LIST\x05\x00\x00\x00abcde\x00', 'latin1') : Buffer.alloc(0);
  const fmt = Buffer.alloc(24);
  fmt.write('fmt ', 0, 'latin1');
  fmt.writeUInt32LE(16, 4);
  fmt.writeUInt16LE(tag, 8);
  fmt.writeUInt16LE(channels, 10);
  fmt.writeUInt32LE(rate, 12);
  fmt.writeUInt32LE((rate * channels * bits) / 8, 16);
  fmt.writeUInt16LE((channels * bits) / 8, 20);
  fmt.writeUInt16LE(bits, 22);
  const dataHeader = Buffer.alloc(8);
  dataHeader.write('data', 0, 'latin1');
  dataHeader.writeUInt32LE(data.length, 4);
  const pad = Buffer.alloc(data.length & 1);
  const header = Buffer.alloc(12);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(4 + fmt.length + extra.length + 8 + data.length + pad.length, 4);
  header.write('WAVE', 8, 'latin1');
  return Buffer.concat([header, fmt, extra, dataHeader, Buffer.from(data), pad]);
}

/** Little-endian 16-bit bytes of the samples. */
export function pcm16Bytes(samples: ArrayLike<number>): Uint8Array {
  const out = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) out.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(samples[i]!))), i * 2);
  return out;
}

export function sine(rate: number, frequency: number, amplitude: number, count: number, phase = 0): Float64Array {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = amplitude * Math.sin((2 * Math.PI * frequency * i) / rate + phase);
  return out;
}

/** Amplitude of the component at `frequency` (single-bin DFT over the window). */
export function amplitudeAt(samples: ArrayLike<number>, rate: number, frequency: number, start = 0, end = samples.length): number {
  let re = 0;
  let im = 0;
  for (let i = start; i < end; i++) {
    const angle = (2 * Math.PI * frequency * i) / rate;
    re += samples[i]! * Math.cos(angle);
    im += samples[i]! * Math.sin(angle);
  }
  return (2 * Math.hypot(re, im)) / (end - start);
}

/** Deterministic PRNG (mulberry32) so noise tests are reproducible. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Gaussian white noise with the given RMS (Box–Muller). */
export function whiteNoise(count: number, rms: number, seed: number): Float64Array {
  const next = random(seed);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const u = Math.max(next(), 1e-12);
    out[i] = rms * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  }
  return out;
}
