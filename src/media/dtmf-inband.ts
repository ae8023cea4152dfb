// In-band DTMF detection (ITU-T Q.23 frequencies, Q.24 acceptance limits) over received G.711 audio.
//
// Design (all constants below are the tuning; tests synthesise the Q.24 edges from first principles):
// - Goertzel filters at the 8 Q.23 frequencies over 51-sample half-blocks; two adjacent half-blocks
//   combine (the DFT is linear) into a 102-sample block (12.75 ms, 78 Hz bins) every 51 samples, so
//   the detector sees overlapping blocks at the cost of non-overlapping ones: 8 multiply-adds per sample.
// - A block is a hit for a key when the strongest row and column tones each reach the level floor,
//   stand out from the other tones of their group, respect the twist limits, together hold over two
//   thirds of the block's energy (talk-off: speech spreads energy widely), and show no strong second
//   harmonic (voiced speech has one, a DTMF generator does not).
// - Duration: a key needs HITS_TO_DETECT hits of that key, with no run of MISSES_TO_RELEASE misses
//   between them. With 51-sample hops a 40 ms tone (320 samples) spans at least 4 whole blocks plus
//   partly covered ones, a 23 ms tone (184) at most 2;
//   a partly covered block is a hit only when the tone fills most of it (CAPTURE_MIN), so 5 hits
//   separate Q.24's operate and non-operate durations at every alignment (the tests sweep them).
// - Frequency: the phase advance of each tone between consecutive blocks (averaged over the hits)
//   measures its offset to within a few Hz, unambiguous up to ±78 Hz; keys more than 2.5% off are
//   refused (Q.24: operate within ±1.5%, never beyond ±3.5%).
// - Gaps: a key ends after MISSES_TO_RELEASE blocks without it. A 40 ms pause yields at least 5
//   misses, so it always separates two presses of the same key; a break of 10 ms or less yields
//   at most 3 and is bridged (Q.24: such interruptions must not split a digit).
import type { DtmfCode } from '../vault/types.ts';
import type { G711Codec } from './frame-source.ts';
import { decodeTable } from './g711.ts';

const RATE = 8000;
const HALF = 51;
const BLOCK = HALF * 2;
const FREQUENCIES = [697, 770, 852, 941, 1209, 1336, 1477, 1633] as const;
/** RFC 4733 event codes by [row][column] of the Q.23 keypad (10 = '*', 11 = '#', 12-15 = A-D). */
const KEYPAD: readonly (readonly DtmfCode[])[] = [
  [1, 2, 3, 12],
  [4, 5, 6, 13],
  [7, 8, 9, 14],
  [10, 0, 11, 15],
];

/** 0 dBm0 sine amplitude in 16-bit linear (G.711's digital milliwatt: µ-law peak +3.17 dBm0 ≈ 32124). */
const ZERO_DBM0_AMPLITUDE = 22300;
const MIN_LEVEL_DBM0 = -30; // Q.24 operates down to -25 dBm0 per tone in most administrations; margin 5 dB
const MIN_TONE_ENERGY = (ZERO_DBM0_AMPLITUDE * 10 ** (MIN_LEVEL_DBM0 / 20)) ** 2 * (BLOCK / 2);
const dbToPower = (db: number) => 10 ** (db / 10);
const NORMAL_TWIST = dbToPower(9); // row (low group) stronger: Q.24 8 dB + 1 dB measurement margin
const REVERSE_TWIST = dbToPower(5); // column stronger: Q.24 4 dB + 1 dB margin
const RELATIVE_PEAK = dbToPower(6); // winning tone over every other tone of its group
const CAPTURE_MIN = 0.68; // both tones' energy over the block's total: speech peaks near 0.6, tones ≥ 0.75
const HARMONIC_MAX = dbToPower(-10); // second harmonic relative to its fundamental
const FREQUENCY_TOLERANCE = 0.025;
const HITS_TO_DETECT = 5;
const MISSES_TO_RELEASE = 4;

const OMEGA = FREQUENCIES.map((f) => (2 * Math.PI * f) / RATE);
const [C0, C1, C2, C3, C4, C5, C6, C7] = OMEGA.map((w) => 2 * Math.cos(w)) as [number, number, number, number, number, number, number, number];
// Constants to turn Goertzel state into the complex DFT referenced at the half-block start.
const COS_LAST = Float64Array.from(OMEGA, (w) => Math.cos(w * (HALF - 1)));
const SIN_LAST = Float64Array.from(OMEGA, (w) => Math.sin(w * (HALF - 1)));
const COS_HOP = Float64Array.from(OMEGA, (w) => Math.cos(w * HALF));
const SIN_HOP = Float64Array.from(OMEGA, (w) => Math.sin(w * HALF));

/** Energy (2|X|²/N) of one frequency over the block history, for the on-demand harmonic check. */
function goertzelEnergy(samples: Float64Array, start: number, frequency: number): number {
  const coefficient = 2 * Math.cos((2 * Math.PI * frequency) / RATE);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < BLOCK; i++) {
    const s0 = samples[(start + i) % BLOCK]! + coefficient * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return (2 * (s1 * s1 + s2 * s2 - coefficient * s1 * s2)) / BLOCK;
}

export class InbandDtmfDetector {
  private readonly s1 = new Float64Array(8);
  private readonly s2 = new Float64Array(8);
  private readonly halfRe = new Float64Array(8); // previous half-block DFT
  private readonly halfIm = new Float64Array(8);
  private readonly blockRe = new Float64Array(8); // previous full block DFT, for phase advance
  private readonly blockIm = new Float64Array(8);
  private readonly advanceRe = new Float64Array(8); // this block's phase advance per frequency
  private readonly advanceIm = new Float64Array(8);
  private readonly power = new Float64Array(8);
  private readonly history = new Float64Array(BLOCK); // last 102 samples (ring) for harmonics
  private historyAt = 0;
  private inHalf = 0;
  private halfEnergy = 0;
  private previousHalfEnergy = 0;
  private halves = 0;
  // Run state: the key the recent hits agree on, and the averaged phase advance of its two tones.
  private candidate = -1;
  private hits = 0;
  private misses = 0;
  private held = false;
  private readonly drift = new Float64Array(4); // row re, row im, column re, column im

  constructor(private readonly onKey: (code: DtmfCode) => void) {}

  /** Feeds one received G.711 payload (any length; normally 160 bytes). */
  audio(payload: Uint8Array, codec: G711Codec): void {
    const table = decodeTable(codec);
    for (let at = 0; at < payload.length; ) {
      const end = Math.min(payload.length, at + HALF - this.inHalf);
      this.filter(payload, at, end, table);
      this.inHalf += end - at;
      at = end;
      if (this.inHalf === HALF) this.endHalf();
    }
  }

  // The hot loop: eight Goertzel recurrences held in locals (V8 keeps them in registers).
  private filter(payload: Uint8Array, from: number, to: number, table: Readonly<Int16Array>): void {
    const s1 = this.s1;
    const s2 = this.s2;
    const history = this.history;
    let a0 = s1[0]!, a1 = s1[1]!, a2 = s1[2]!, a3 = s1[3]!, a4 = s1[4]!, a5 = s1[5]!, a6 = s1[6]!, a7 = s1[7]!;
    let b0 = s2[0]!, b1 = s2[1]!, b2 = s2[2]!, b3 = s2[3]!, b4 = s2[4]!, b5 = s2[5]!, b6 = s2[6]!, b7 = s2[7]!;
    let energy = this.halfEnergy;
    let at = this.historyAt;
    for (let i = from; i < to; i++) {
      const x = table[payload[i]!]!;
      history[at] = x;
      at = at === BLOCK - 1 ? 0 : at + 1;
      energy += x * x;
      let t = x + C0 * a0 - b0; b0 = a0; a0 = t;
      t = x + C1 * a1 - b1; b1 = a1; a1 = t;
      t = x + C2 * a2 - b2; b2 = a2; a2 = t;
      t = x + C3 * a3 - b3; b3 = a3; a3 = t;
      t = x + C4 * a4 - b4; b4 = a4; a4 = t;
      t = x + C5 * a5 - b5; b5 = a5; a5 = t;
      t = x + C6 * a6 - b6; b6 = a6; a6 = t;
      t = x + C7 * a7 - b7; b7 = a7; a7 = t;
    }
    s1[0] = a0; s1[1] = a1; s1[2] = a2; s1[3] = a3; s1[4] = a4; s1[5] = a5; s1[6] = a6; s1[7] = a7;
    s2[0] = b0; s2[1] = b1; s2[2] = b2; s2[3] = b3; s2[4] = b4; s2[5] = b5; s2[6] = b6; s2[7] = b7;
    this.halfEnergy = energy;
    this.historyAt = at;
  }

  /** Forgets all state (a new stream, or the end of the call). */
  reset(): void {
    this.s1.fill(0);
    this.s2.fill(0);
    this.halfRe.fill(0);
    this.halfIm.fill(0);
    this.blockRe.fill(0);
    this.blockIm.fill(0);
    this.power.fill(0);
    this.advanceRe.fill(0);
    this.advanceIm.fill(0);
    this.history.fill(0);
    this.drift.fill(0);
    this.historyAt = 0;
    this.inHalf = 0;
    this.halfEnergy = 0;
    this.previousHalfEnergy = 0;
    this.halves = 0;
    this.candidate = -1;
    this.hits = 0;
    this.misses = 0;
    this.held = false;
  }

  private endHalf(): void {
    const energy = this.previousHalfEnergy + this.halfEnergy;
    let row = 0;
    let column = 4;
    for (let k = 0; k < 8; k++) {
      const a = this.s1[k]!;
      const b = this.s2[k]!;
      this.s1[k] = 0;
      this.s2[k] = 0;
      // Goertzel state → DFT of this half-block referenced at its first sample.
      const re = a * COS_LAST[k]! - b * COS_HOP[k]!;
      const im = -a * SIN_LAST[k]! + b * SIN_HOP[k]!;
      // Block DFT = previous half + this half shifted by one hop (e^{-jωH}).
      const blockRe = this.halfRe[k]! + COS_HOP[k]! * re + SIN_HOP[k]! * im;
      const blockIm = this.halfIm[k]! + COS_HOP[k]! * im - SIN_HOP[k]! * re;
      this.halfRe[k] = re;
      this.halfIm[k] = im;
      // Phase advance since the previous block, less the nominal advance ωH: ≈ 2π·offset·H/fs.
      const advanceRe = blockRe * this.blockRe[k]! + blockIm * this.blockIm[k]!;
      const advanceIm = blockIm * this.blockRe[k]! - blockRe * this.blockIm[k]!;
      this.advanceRe[k] = advanceRe * COS_HOP[k]! + advanceIm * SIN_HOP[k]!;
      this.advanceIm[k] = advanceIm * COS_HOP[k]! - advanceRe * SIN_HOP[k]!;
      this.blockRe[k] = blockRe;
      this.blockIm[k] = blockIm;
      const power = (2 * (blockRe * blockRe + blockIm * blockIm)) / BLOCK;
      this.power[k] = power;
      if (k < 4 ? power > this.power[row]! : power > this.power[column]!) {
        if (k < 4) row = k;
        else column = k;
      }
    }
    this.previousHalfEnergy = this.halfEnergy;
    this.halfEnergy = 0;
    this.inHalf = 0;
    const hit = ++this.halves >= 2 ? this.classify(row, column, energy) : -1;
    this.track(hit, row, column);
  }

  // Returns the key code when this block is a valid DTMF block, else -1.
  private classify(row: number, column: number, energy: number): number {
    const power = this.power;
    const rowPower = power[row]!;
    const columnPower = power[column]!;
    if (rowPower < MIN_TONE_ENERGY || columnPower < MIN_TONE_ENERGY) return -1;
    if (rowPower > columnPower * NORMAL_TWIST || columnPower > rowPower * REVERSE_TWIST) return -1;
    for (let k = 0; k < 8; k++) {
      if (k === row || k === column) continue;
      if (power[k]! * RELATIVE_PEAK > (k < 4 ? rowPower : columnPower)) return -1;
    }
    if (rowPower + columnPower < CAPTURE_MIN * energy) return -1;
    // Second harmonics, computed only for candidate blocks. A row's harmonic (1394-1882 Hz) can sit
    // next to the key's own column tone; check it only when that tone is well clear of it.
    const rowFrequency = FREQUENCIES[row]!;
    const columnFrequency = FREQUENCIES[column]!;
    if (goertzelEnergy(this.history, this.historyAt, 2 * columnFrequency) > columnPower * HARMONIC_MAX) return -1;
    if (Math.abs(2 * rowFrequency - columnFrequency) > 150 && goertzelEnergy(this.history, this.historyAt, 2 * rowFrequency) > rowPower * HARMONIC_MAX) {
      return -1;
    }
    return KEYPAD[row]![column - 4]!;
  }

  private track(hit: number, row: number, column: number): void {
    // While a key is held, a block of another key counts as a miss: one misread block inside a
    // tone must neither split it nor start a second report of it.
    if (hit < 0 || (this.held && hit !== this.candidate)) {
      if (++this.misses >= MISSES_TO_RELEASE) {
        this.held = false;
        this.candidate = -1;
        this.hits = 0;
      }
      return;
    }
    this.misses = 0;
    if (hit !== this.candidate) {
      this.candidate = hit;
      this.hits = 0;
      this.drift.fill(0);
    } else {
      // Same key as the previous block: its phase advance measures the tones' frequency offset.
      this.drift[0] = this.drift[0]! + this.advanceRe[row]!;
      this.drift[1] = this.drift[1]! + this.advanceIm[row]!;
      this.drift[2] = this.drift[2]! + this.advanceRe[column]!;
      this.drift[3] = this.drift[3]! + this.advanceIm[column]!;
    }
    this.hits++;
    if (this.held || this.hits < HITS_TO_DETECT) return;
    if (!this.frequenciesWithinTolerance(row, column)) return;
    this.held = true;
    this.onKey(hit);
  }

  private frequenciesWithinTolerance(row: number, column: number): boolean {
    const toHz = HALF * ((2 * Math.PI) / RATE);
    const rowOffset = Math.atan2(this.drift[1]!, this.drift[0]!) / toHz;
    const columnOffset = Math.atan2(this.drift[3]!, this.drift[2]!) / toHz;
    return (
      Math.abs(rowOffset) <= FREQUENCY_TOLERANCE * FREQUENCIES[row]! &&
      Math.abs(columnOffset) <= FREQUENCY_TOLERANCE * FREQUENCIES[column]!
    );
  }
}
