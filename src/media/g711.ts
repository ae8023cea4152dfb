// ITU-T G.711 µ-law and A-law, with the arithmetic of the ITU's own reference software (G.191 STL,
// g711.c): µ-law works on 14-bit magnitudes (16-bit input >> 2), A-law on 13-bit (>> 3), negative
// inputs as one's complement. Every mapping is computed once into tables at module load; the hot
// path is one table lookup per sample.
import type { G711Codec } from './frame-source.ts';

/** Silence in each law: the code whose reconstruction level is nearest zero (0 for µ-law, +8 for A-law). */
export const SILENCE_BYTE: Readonly<Record<G711Codec, number>> = { PCMU: 0xff, PCMA: 0xd5 };

function ulawDecodeOne(code: number): number {
  // G.711 Table 2a: invert all bits, then sign | 3-bit segment | 4-bit step; bias 33 in 14-bit units.
  const sign = code < 0x80 ? -1 : 1;
  const inverted = ~code & 0xff;
  const segment = (inverted >> 4) & 0x07;
  const step = (inverted & 0x0f);
  const magnitude14 = ((0x21 + 2 * step) << segment) - 0x21; // (33 + 2·step)·2^seg − 33, at 14 bits
  return sign * (magnitude14 << 2) || 0;
}

function alawDecodeOne(code: number): number {
  // G.711 Table 1a: even bits inverted (XOR 0x55), then sign | segment | step; mid-riser in each interval.
  const value = (code ^ 0x55) & 0x7f;
  const segment = value >> 4;
  let mantissa = value & 0x0f;
  if (segment > 0) mantissa += 16;
  let magnitude = (mantissa << 4) + 8;
  if (segment > 1) magnitude <<= segment - 1;
  return code > 0x7f ? magnitude : -magnitude;
}

function ulawEncodeIndex(index14: number): number {
  // index14 is the 14-bit two's complement value; one's complement magnitude for negatives (G.191).
  const negative = index14 >= 0x2000;
  const signed = negative ? index14 - 0x4000 : index14;
  let magnitude = (negative ? ~signed : signed) + 0x21;
  if (magnitude > 0x1fff) magnitude = 0x1fff;
  let segment = 1;
  for (let i = magnitude >> 6; i !== 0; i >>= 1) segment++;
  const high = 0x08 - segment;
  const low = 0x0f - ((magnitude >> segment) & 0x0f);
  const code = (high << 4) | low;
  return negative ? code : code | 0x80;
}

function alawEncodeIndex(index12: number): number {
  // A-law's first segment is 16 wide at 16-bit scale (>> 4 keeps 12 bits of magnitude); G.191 alaw_compress.
  const negative = index12 >= 0x800;
  const signed = negative ? index12 - 0x1000 : index12;
  let magnitude = negative ? ~signed : signed;
  if (magnitude > 15) {
    let segment = 1;
    while (magnitude > 16 + 15) {
      magnitude >>= 1;
      segment++;
    }
    magnitude = magnitude - 16 + (segment << 4);
  }
  if (!negative) magnitude |= 0x80;
  return magnitude ^ 0x55;
}

function buildDecode(decodeOne: (code: number) => number): Int16Array {
  const table = new Int16Array(256);
  for (let code = 0; code < 256; code++) table[code] = decodeOne(code);
  return table;
}

function buildEncode(bits: number, encodeIndex: (index: number) => number): Uint8Array {
  const table = new Uint8Array(1 << bits);
  for (let index = 0; index < table.length; index++) table[index] = encodeIndex(index);
  return table;
}

/** Code → 16-bit linear sample. */
export const ULAW_DECODE: Readonly<Int16Array> = buildDecode(ulawDecodeOne);
export const ALAW_DECODE: Readonly<Int16Array> = buildDecode(alawDecodeOne);
// Indexed by the top 14 (µ-law) / 12 (A-law) bits of the 16-bit sample.
const ULAW_ENCODE = buildEncode(14, ulawEncodeIndex);
const ALAW_ENCODE = buildEncode(12, alawEncodeIndex);

export function ulawEncode(sample: number): number {
  return ULAW_ENCODE[(sample >> 2) & 0x3fff]!;
}

export function alawEncode(sample: number): number {
  return ALAW_ENCODE[(sample >> 4) & 0x0fff]!;
}

export function decodeTable(codec: G711Codec): Readonly<Int16Array> {
  return codec === 'PCMU' ? ULAW_DECODE : ALAW_DECODE;
}

/** Encodes 16-bit samples (clamped by the caller to int16) into `out` (same length). */
export function encodeSamples(samples: Int16Array, codec: G711Codec, out: Uint8Array): void {
  if (out.length < samples.length) throw new RangeError('encode output shorter than input');
  if (codec === 'PCMU') {
    for (let i = 0; i < samples.length; i++) out[i] = ULAW_ENCODE[(samples[i]! >> 2) & 0x3fff]!;
  } else {
    for (let i = 0; i < samples.length; i++) out[i] = ALAW_ENCODE[(samples[i]! >> 4) & 0x0fff]!;
  }
}

/** Decodes G.711 bytes into `out` (16-bit linear). */
export function decodeSamples(codes: Uint8Array, codec: G711Codec, out: Int16Array): void {
  if (out.length < codes.length) throw new RangeError('decode output shorter than input');
  const table = codec === 'PCMU' ? ULAW_DECODE : ALAW_DECODE;
  for (let i = 0; i < codes.length; i++) out[i] = table[codes[i]!]!;
}
