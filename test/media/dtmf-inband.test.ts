// In-band DTMF against ITU-T Q.24's acceptance limits, with every signal synthesised here from first
// principles (Q.23 frequencies, dBm0 levels from G.711's digital milliwatt, Gaussian noise) and
// encoded with our own G.711; plus tones made by sox and speech made by espeak-ng.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InbandDtmfDetector } from '../../src/media/dtmf-inband.ts';
import type { G711Codec } from '../../src/media/frame-source.ts';
import { alawEncode, ulawEncode } from '../../src/media/g711.ts';
import { readWavFile } from '../../src/media/wav.ts';
import { interopSkip } from '../support/interop.ts';
import { whiteNoise } from './audio-helpers.ts';

const RATE = 8000;
const ROWS = [697, 770, 852, 941];
const COLUMNS = [1209, 1336, 1477, 1633];
const LABELS = '0123456789*#ABCD';
/** Event code → [row, column] on the Q.23 keypad. */
const POSITION: Record<number, [number, number]> = {
  1: [0, 0], 2: [0, 1], 3: [0, 2], 12: [0, 3],
  4: [1, 0], 5: [1, 1], 6: [1, 2], 13: [1, 3],
  7: [2, 0], 8: [2, 1], 9: [2, 2], 14: [2, 3],
  10: [3, 0], 0: [3, 1], 11: [3, 2], 15: [3, 3],
};
const ALL_KEYS = Array.from({ length: 16 }, (_, code) => code);
/** Peak amplitude of a 0 dBm0 sine in 16-bit linear (µ-law full scale 32124 is +3.17 dBm0). */
const DBM0 = 22300;

interface Tone {
  key: number;
  ms: number;
  /** Relative frequency offset applied to both tones (0.015 = +1.5%). */
  offset?: number;
  rowDbm0?: number;
  columnDbm0?: number;
  /** Silence after the tone. */
  gapMs?: number;
}

function synthesize(tones: Tone[], options: { leadSamples?: number; snrDb?: number; seed?: number } = {}): Float64Array {
  const lead = options.leadSamples ?? 0;
  const length = lead + tones.reduce((sum, t) => sum + Math.round(((t.ms + (t.gapMs ?? 0)) * RATE) / 1000), 0) + 800;
  const signal = new Float64Array(length);
  let at = lead;
  let toneEnergy = 0;
  let toneSamples = 0;
  for (const [index, tone] of tones.entries()) {
    const [row, column] = POSITION[tone.key]!;
    const rowFrequency = ROWS[row]! * (1 + (tone.offset ?? 0));
    const columnFrequency = COLUMNS[column]! * (1 + (tone.offset ?? 0));
    const rowAmplitude = DBM0 * 10 ** ((tone.rowDbm0 ?? -10) / 20);
    const columnAmplitude = DBM0 * 10 ** ((tone.columnDbm0 ?? -10) / 20);
    const count = Math.round((tone.ms * RATE) / 1000);
    for (let i = 0; i < count; i++) {
      const t = i / RATE;
      signal[at + i] = rowAmplitude * Math.sin(2 * Math.PI * rowFrequency * t + index) + columnAmplitude * Math.sin(2 * Math.PI * columnFrequency * t + 2 * index);
    }
    toneEnergy += (count * (rowAmplitude ** 2 + columnAmplitude ** 2)) / 2;
    toneSamples += count;
    at += count + Math.round(((tone.gapMs ?? 0) * RATE) / 1000);
  }
  if (options.snrDb !== undefined) {
    // S/N over the tone: noise power = signal power / 10^(snr/10), present throughout.
    const noise = whiteNoise(length, Math.sqrt(toneEnergy / toneSamples / 10 ** (options.snrDb / 10)), options.seed ?? 1);
    for (let i = 0; i < length; i++) signal[i] = signal[i]! + noise[i]!;
  }
  return signal;
}

function encode(signal: ArrayLike<number>, codec: G711Codec, gain = 1): Uint8Array {
  const law = codec === 'PCMU' ? ulawEncode : alawEncode;
  const out = new Uint8Array(signal.length);
  for (let i = 0; i < out.length; i++) out[i] = law(Math.max(-32768, Math.min(32767, Math.round(signal[i]! * gain))));
  return out;
}

/** Runs the detector over the audio in 20 ms frames, as the RTP layer would deliver it. */
function detect(audio: Uint8Array, codec: G711Codec): number[] {
  const keys: number[] = [];
  const detector = new InbandDtmfDetector((code) => keys.push(code));
  for (let i = 0; i < audio.length; i += 160) detector.audio(audio.subarray(i, i + 160), codec);
  return keys;
}

const ALIGNMENTS = [0, 17, 34, 51, 68, 85]; // tone start positions relative to the 51-sample hop
const CODECS: G711Codec[] = ['PCMU', 'PCMA'];

/** Detections of one key per alignment and codec, e.g. "111111/111111". */
function sweep(key: number, tone: Omit<Tone, 'key'>, options: { snrDb?: number } = {}): string {
  return CODECS.map((codec) =>
    ALIGNMENTS.map((leadSamples, i) => {
      const keys = detect(encode(synthesize([{ key, ...tone }], { leadSamples, snrDb: options.snrDb, seed: key * 31 + i }), codec), codec);
      assert.ok(keys.every((k) => k === key), `key ${LABELS[key]} detected as ${keys.map((k) => LABELS[k]).join('')}`);
      return String(keys.length);
    }).join(''),
  ).join('/');
}

const EVERY_ALIGNMENT_ONCE = `${'1'.repeat(ALIGNMENTS.length)}/${'1'.repeat(ALIGNMENTS.length)}`;
const NEVER = `${'0'.repeat(ALIGNMENTS.length)}/${'0'.repeat(ALIGNMENTS.length)}`;

interface Condition {
  name: string;
  tone: Omit<Tone, 'key'>;
  snrDb?: number;
  expect: 'detect' | 'reject';
}

// Q.24 edges (operate / non-operate), applied to every key.
const CONDITIONS: Condition[] = [
  { name: 'duration 40 ms', tone: { ms: 40 }, expect: 'detect' },
  { name: 'duration 23 ms', tone: { ms: 23 }, expect: 'reject' },
  { name: 'duration 20 ms', tone: { ms: 20 }, expect: 'reject' },
  { name: 'offset +1.5%', tone: { ms: 50, offset: 0.015 }, expect: 'detect' },
  { name: 'offset -1.5%', tone: { ms: 50, offset: -0.015 }, expect: 'detect' },
  { name: 'offset +3.5%', tone: { ms: 50, offset: 0.035 }, expect: 'reject' },
  { name: 'offset -3.5%', tone: { ms: 50, offset: -0.035 }, expect: 'reject' },
  { name: 'twist 8 dB normal', tone: { ms: 50, rowDbm0: -4, columnDbm0: -12 }, expect: 'detect' },
  { name: 'twist 4 dB reverse', tone: { ms: 50, rowDbm0: -12, columnDbm0: -8 }, expect: 'detect' },
  { name: 'twist 12 dB normal', tone: { ms: 50, rowDbm0: -2, columnDbm0: -14 }, expect: 'reject' },
  { name: 'twist 8 dB reverse', tone: { ms: 50, rowDbm0: -14, columnDbm0: -6 }, expect: 'reject' },
  { name: 'level -3 dBm0/tone', tone: { ms: 50, rowDbm0: -3, columnDbm0: -3 }, expect: 'detect' },
  { name: 'level -25 dBm0/tone', tone: { ms: 50, rowDbm0: -25, columnDbm0: -25 }, expect: 'detect' },
  { name: 'level -35 dBm0/tone', tone: { ms: 50, rowDbm0: -35, columnDbm0: -35 }, expect: 'reject' },
  { name: 'S/N 15 dB, 40 ms', tone: { ms: 40 }, snrDb: 15, expect: 'detect' },
  { name: 'S/N 15 dB, -20 dBm0', tone: { ms: 50, rowDbm0: -20, columnDbm0: -20 }, snrDb: 15, expect: 'detect' },
];

for (const condition of CONDITIONS) {
  test(`Q.24 ${condition.name}: every key ${condition.expect === 'detect' ? 'detected once' : 'rejected'} at every alignment, µ-law and A-law`, (t) => {
    const row: string[] = [];
    for (const key of ALL_KEYS) {
      const result = sweep(key, condition.tone, { snrDb: condition.snrDb });
      row.push(`${LABELS[key]}:${result}`);
      assert.equal(result, condition.expect === 'detect' ? EVERY_ALIGNMENT_ONCE : NEVER, `key ${LABELS[key]}`);
    }
    t.diagnostic(`${condition.name.padEnd(22)} ${row.join(' ')}`);
  });
}

test('40 ms tones with 40 ms gaps: every key in order, and one key repeated stays separate', (t) => {
  const sequence = [...ALL_KEYS, 5, 5, 5, 0, 0, 11, 11];
  for (const codec of CODECS) {
    for (const leadSamples of ALIGNMENTS) {
      const audio = encode(synthesize(sequence.map((key) => ({ key, ms: 40, gapMs: 40 })), { leadSamples }), codec);
      assert.deepEqual(detect(audio, codec), sequence, `${codec} lead ${leadSamples}`);
    }
  }
  t.diagnostic(`gaps 40 ms: ${sequence.map((k) => LABELS[k]).join('')} detected in order at ${ALIGNMENTS.length} alignments × 2 codecs`);
});

test('a 10 ms break inside a tone is bridged (one key); a 40 ms pause always separates', (t) => {
  const results: string[] = [];
  for (const key of ALL_KEYS) {
    for (const codec of CODECS) {
      for (const leadSamples of ALIGNMENTS) {
        const audio = synthesize([{ key, ms: 50, gapMs: 10 }, { key, ms: 50, gapMs: 40 }, { key, ms: 50 }], { leadSamples });
        assert.deepEqual(detect(encode(audio, codec), codec), [key, key], `${LABELS[key]} ${codec} lead ${leadSamples}`);
      }
    }
    results.push(`${LABELS[key]}:2`);
  }
  t.diagnostic(`50+10 ms break+50 ms, 40 ms pause, 50 ms → keys per key ${results.join(' ')}`);
});

test('a short burst of another key inside a tone neither splits it nor reports it', () => {
  for (const [key, other] of [[5, 9], [1, 0], [11, 12]] as const) {
    for (const codec of CODECS) {
      for (const leadSamples of ALIGNMENTS) {
        const audio = synthesize([{ key, ms: 60 }, { key: other, ms: 12 }, { key, ms: 60 }], { leadSamples });
        assert.deepEqual(detect(encode(audio, codec), codec), [key], `${LABELS[key]} with ${LABELS[other]} ${codec} lead ${leadSamples}`);
      }
    }
  }
});

test('white noise alone (and silence) gives no key', () => {
  for (const codec of CODECS) {
    for (const seed of [1, 2, 3]) {
      const noise = whiteNoise(RATE * 5, DBM0 * 10 ** (-15 / 20), seed);
      assert.deepEqual(detect(encode(noise, codec), codec), []);
    }
    assert.deepEqual(detect(encode(new Float64Array(RATE), codec), codec), []);
  }
});

test('tones made by sox are detected', { skip: interopSkip('sox') }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'traceless-dtmf-'));
  try {
    const detected: string[] = [];
    for (const codec of CODECS) {
      for (const key of ALL_KEYS) {
        const [row, column] = POSITION[key]!;
        const file = join(dir, `${key}.wav`);
        // Two sines mixed to one channel, peak -10 dBFS, 60 ms tone inside 50 ms of silence either side.
        execFileSync('sox', ['-D', '-n', '-r', '8000', '-c', '1', '-e', codec === 'PCMU' ? 'u-law' : 'a-law', file,
          'synth', '0.06', 'sine', String(ROWS[row]), 'sine', String(COLUMNS[column]), 'remix', '-', 'gain', '-n', '-10', 'pad', '0.05', '0.05']);
        const samples = readWavFile(file).samples;
        const keys = detect(encode(samples, codec), codec);
        assert.deepEqual(keys, [key], `${codec} ${LABELS[key]}`);
        detected.push(LABELS[keys[0]!]!);
      }
    }
    t.diagnostic(`sox synth tones detected: ${detected.join('')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const SPEECH = [
  'Thank you for calling the city parking line. Please enter your eight digit citation number, followed by the pound key.',
  'The amount due is one hundred and thirty dollars. To pay the total, press one. To hear each ticket, press two. For the main menu, press nine.',
  'Your payment has been approved. Your confirmation number is four five seven, two two one, eight nine. Please write it down now.',
  'She sells sea shells by the sea shore. Peter Piper picked a peck of pickled peppers. How much wood would a woodchuck chuck?',
  'Hello? Hello! Are you there? Mmm, hmm, yes, yes, oh no, eee, ooo, aaah. Beep beep, ding dong, tweet tweet, la la la la la.',
].join('\n');

test('talk-off: espeak-ng speech in several voices gives no key', { skip: interopSkip('espeak-ng') }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'traceless-talkoff-'));
  try {
    let seconds = 0;
    for (const voice of ['en-us', 'en+f3', 'en+m3', 'es']) {
      const file = join(dir, `${voice}.wav`);
      execFileSync('espeak-ng', ['-v', voice, '-w', file, SPEECH]);
      const { samples } = readWavFile(file);
      seconds += samples.length / RATE;
      for (const codec of CODECS) {
        for (const gainDb of [0, 6]) {
          const keys = detect(encode(samples, codec, 10 ** (gainDb / 20)), codec);
          assert.deepEqual(keys.map((k) => LABELS[k]), [], `${voice} ${codec} +${gainDb} dB`);
        }
      }
    }
    t.diagnostic(`talk-off: 0 detections over ${seconds.toFixed(0)} s of speech × 2 codecs × 2 levels`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
