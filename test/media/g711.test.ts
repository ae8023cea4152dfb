import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ALAW_DECODE,
  ULAW_DECODE,
  SILENCE_BYTE,
  alawEncode,
  decodeSamples,
  encodeSamples,
  ulawEncode,
} from '../../src/media/g711.ts';
import { interopSkip } from '../support/interop.ts';

test('µ-law reconstruction levels match G.711 Table 2a at segment ends', () => {
  // 14-bit values from the table (scaled ×4 to 16 bits): segment 0 starts at 0, step 2; top is 8031.
  assert.equal(ULAW_DECODE[0xff], 0);
  assert.equal(ULAW_DECODE[0xf0], 30 * 4); // end of segment 0: 2·15
  assert.equal(ULAW_DECODE[0xef], 33 * 4); // first of segment 1: (33+0)·2 − 33
  assert.equal(ULAW_DECODE[0x8f], 4191 * 4); // first of segment 7: 33·2^7 − 33
  assert.equal(ULAW_DECODE[0x80], 8031 * 4); // 32124, the largest µ-law level
  assert.equal(ULAW_DECODE[0x00], -8031 * 4);
  assert.equal(ULAW_DECODE[0x7f], 0);
});

test('A-law reconstruction levels match G.711 Table 1a at segment ends', () => {
  // 13-bit levels ×8 to 16 bits: segment 0/1 step 2 (×8 = 16), top level 4032 ≙ 32256.
  assert.equal(ALAW_DECODE[0xd5], 8); // level 1 (×8): smallest positive
  assert.equal(ALAW_DECODE[0x55], -8);
  assert.equal(ALAW_DECODE[0xd5 ^ 0x1f], 504); // end of the linear first 32 steps: (31·16)+8
  assert.equal(ALAW_DECODE[0xaa], 32256);
  assert.equal(ALAW_DECODE[0x2a], -32256);
});

test('segment boundaries fall on the G.711 decision values', () => {
  // µ-law (Table 2a, 14-bit magnitudes): segments end at 31, 95, 223, 479, 991, 2015, 4063.
  const ulawSegment = (code: number) => (~code >> 4) & 0x07;
  [31, 95, 223, 479, 991, 2015, 4063].forEach((boundary, index) => {
    assert.equal(ulawSegment(ulawEncode(4 * (boundary - 1))), index, `µ-law below ${boundary}`);
    assert.equal(ulawSegment(ulawEncode(4 * boundary)), index + 1, `µ-law at ${boundary}`);
    assert.equal(ulawSegment(ulawEncode(-4 * boundary - 4)), index + 1, `µ-law at -${boundary}`);
  });
  // A-law (Table 1a, 13-bit magnitudes): segments 1-7 start at 32, 64, 128, …, 2048.
  const alawSegment = (code: number) => ((code ^ 0x55) >> 4) & 0x07;
  [32, 64, 128, 256, 512, 1024, 2048].forEach((boundary, index) => {
    assert.equal(alawSegment(alawEncode(8 * boundary - 1)), index, `A-law below ${boundary}`);
    assert.equal(alawSegment(alawEncode(8 * boundary)), index + 1, `A-law at ${boundary}`);
    assert.equal(alawSegment(alawEncode(-8 * boundary - 1)), index + 1, `A-law at -${boundary}`);
  });
});

test('every code is a fixed point: encode(decode(c)) === c', () => {
  for (let code = 0; code < 256; code++) {
    if (code !== 0x7f) assert.equal(ulawEncode(ULAW_DECODE[code]!), code, `µ-law 0x${code.toString(16)}`); // 0x7f is −0 → +0
    assert.equal(alawEncode(ALAW_DECODE[code]!), code, `A-law 0x${code.toString(16)}`);
  }
  assert.equal(ulawEncode(0), SILENCE_BYTE.PCMU);
  assert.equal(alawEncode(0), SILENCE_BYTE.PCMA);
});

test('encoding is monotonic and clips at full scale', () => {
  let previousU = -Infinity;
  let previousA = -Infinity;
  for (let sample = -32768; sample <= 32767; sample++) {
    const u = ULAW_DECODE[ulawEncode(sample)]!;
    const a = ALAW_DECODE[alawEncode(sample)]!;
    assert.ok(u >= previousU && a >= previousA, `non-monotonic at ${sample}`);
    previousU = u;
    previousA = a;
  }
  assert.equal(ulawEncode(32767), 0x80);
  assert.equal(ulawEncode(-32768), 0x00);
  assert.equal(alawEncode(32767), 0xaa);
  assert.equal(alawEncode(-32768), 0x2a);
});

test('frame encode/decode keeps quantisation error within half a step', () => {
  const samples = new Int16Array(160);
  for (let i = 0; i < 160; i++) samples[i] = Math.round(12000 * Math.sin((2 * Math.PI * 1000 * i) / 8000));
  for (const codec of ['PCMU', 'PCMA'] as const) {
    const codes = new Uint8Array(160);
    const back = new Int16Array(160);
    encodeSamples(samples, codec, codes);
    decodeSamples(codes, codec, back);
    for (let i = 0; i < 160; i++) {
      // Largest step at |x| ≤ 12000 is 512 (µ-law seg 6: 256·2) → error ≤ 512 with the G.191 truncation.
      assert.ok(Math.abs(back[i]! - samples[i]!) <= 512, `${codec} sample ${i}`);
    }
  }
  assert.throws(() => encodeSamples(samples, 'PCMU', new Uint8Array(10)), RangeError);
});

test('agrees with sox on every code and every 16-bit input', { skip: interopSkip('sox') }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'traceless-g711-'));
  try {
    const ramp = Buffer.alloc(65536 * 2);
    for (let i = 0; i < 65536; i++) ramp.writeInt16LE(i - 32768, i * 2);
    writeFileSync(join(dir, 'ramp.raw'), ramp);
    const codes = Buffer.alloc(256);
    for (let i = 0; i < 256; i++) codes[i] = i;
    for (const [law, decode, encode, rounding] of [
      ['u-law', ULAW_DECODE, ulawEncode, 2],
      ['a-law', ALAW_DECODE, alawEncode, 8],
    ] as const) {
      const raw = ['-t', 'raw', '-r', '8000', '-c', '1'];
      writeFileSync(join(dir, 'codes.g711'), codes);
      // -D: no dither, so sox's output is deterministic.
      execFileSync('sox', ['-D', ...raw, '-e', law, 'codes.g711', ...raw, '-e', 'signed', '-b', '16', 'codes.s16'], { cwd: dir });
      const decoded = readFileSync(join(dir, 'codes.s16'));
      for (let code = 0; code < 256; code++) assert.equal(decode[code], decoded.readInt16LE(code * 2), `${law} decode 0x${code.toString(16)}`);

      execFileSync('sox', ['-D', ...raw, '-e', 'signed', '-b', '16', 'ramp.raw', ...raw, '-e', law, 'ramp.g711'], { cwd: dir, stdio: 'ignore' });
      const encoded = readFileSync(join(dir, 'ramp.g711'));
      let identical = 0;
      for (let i = 0; i < 65536; i++) {
        const sample = i - 32768;
        const ours = encode(sample);
        if (encoded[i] === ours) {
          identical++;
          continue;
        }
        // sox rounds 16→14/13 bits where G.191 truncates: it may pick the neighbour code, only right at a decision value.
        const near = [encode(Math.min(32767, sample + rounding)), encode(Math.max(-32768, sample - rounding))];
        assert.ok(near.includes(encoded[i]!), `${law} input ${sample}: sox 0x${encoded[i]!.toString(16)} ours 0x${ours.toString(16)}`);
      }
      assert.ok(identical > 65536 * 0.98, `${law}: only ${identical} identical codes`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
