// Sample-rate conversion to 8 kHz, run once per prompt at load time (never per call).
//
// Choice: a windowed-sinc low-pass evaluated at each output instant (band-limited interpolation),
// precomputed per phase (polyphase) since integer rates repeat their output positions.
// Cutoff 3600 Hz keeps the telephone band (300–3400 Hz) flat and, with a Blackman window over
// ±32 zero crossings, the transition band (≈3.3–3.9 kHz) ends below the 4 kHz Nyquist limit of the
// output, so content above it (music, sibilants of 44.1/48 kHz recordings) is attenuated ~70 dB
// instead of folding back into the band as linear interpolation would let it.
const OUTPUT_RATE = 8000;
const CUTOFF_HZ = 3600;
const ZERO_CROSSINGS = 32;
const TABLE_STEPS = 512; // kernel samples per zero crossing; linear interpolation between them

// sinc(u)·blackman(u / ZERO_CROSSINGS) for u in [0, ZERO_CROSSINGS], built once.
const KERNEL = (() => {
  const table = new Float64Array(ZERO_CROSSINGS * TABLE_STEPS + 2);
  for (let i = 0; i < table.length; i++) {
    const u = i / TABLE_STEPS;
    if (u >= ZERO_CROSSINGS) continue;
    const sinc = u === 0 ? 1 : Math.sin(Math.PI * u) / (Math.PI * u);
    const x = u / ZERO_CROSSINGS;
    table[i] = sinc * (0.42 + 0.5 * Math.cos(Math.PI * x) + 0.08 * Math.cos(2 * Math.PI * x));
  }
  return table;
})();

function clampToInt16(value: number): number {
  const rounded = Math.round(value);
  return rounded > 32767 ? 32767 : rounded < -32768 ? -32768 : rounded;
}

function greatestCommonDivisor(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Converts mono samples at `rate` Hz (an integer) to 8 kHz 16-bit. At 8 kHz this only rounds and clamps. */
export function resampleTo8k(input: Float32Array, rate: number): Int16Array {
  if (rate === OUTPUT_RATE) {
    const out = new Int16Array(input.length);
    for (let i = 0; i < input.length; i++) out[i] = clampToInt16(input[i]!);
    return out;
  }
  // Output n sits at input position n·step/phases: its integer part advances by whole samples and
  // its fraction takes only `phases` values, so the kernel is computed once per phase (polyphase).
  const divisor = greatestCommonDivisor(rate, OUTPUT_RATE);
  const step = rate / divisor;
  const phases = OUTPUT_RATE / divisor;
  // Cutoff relative to the input rate; below the input's own Nyquist when upsampling.
  const cutoff = Math.min(CUTOFF_HZ, 0.45 * rate);
  const scale = (2 * cutoff) / rate; // zero crossings per input sample
  const reach = Math.ceil(ZERO_CROSSINGS / scale);
  const taps = 2 * reach + 1;
  const weights = new Float64Array(phases * taps);
  for (let phase = 0; phase < phases; phase++) {
    const fraction = phase / phases;
    for (let tap = 0; tap < taps; tap++) {
      const position = Math.abs(tap - reach - fraction) * scale * TABLE_STEPS;
      const index = Math.floor(position);
      if (index >= ZERO_CROSSINGS * TABLE_STEPS) continue;
      weights[phase * taps + tap] = (KERNEL[index]! + (KERNEL[index + 1]! - KERNEL[index]!) * (position - index)) * scale;
    }
  }
  // Zero padding on both sides replaces bounds checks in the inner loop.
  const padded = new Float32Array(input.length + 2 * reach);
  padded.set(input, reach);
  const out = new Int16Array(Math.floor((input.length * phases) / step));
  for (let n = 0; n < out.length; n++) {
    const base = Math.floor((n * step) / phases); // first tap: input base − reach = padded base
    const row = ((n * step) % phases) * taps;
    let sum = 0;
    for (let tap = 0; tap < taps; tap++) sum += padded[base + tap]! * weights[row + tap]!;
    out[n] = clampToInt16(sum);
  }
  return out;
}
