import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseWav, readWavFile, WavError, type WavErrorCode } from '../../src/media/wav.ts';
import { resampleTo8k } from '../../src/media/resample.ts';
import { alawEncode, ulawEncode } from '../../src/media/g711.ts';
import { interopSkip } from '../support/interop.ts';
import { amplitudeAt, pcm16Bytes, sine, wavBytes } from './audio-helpers.ts';

const TONE = sine(8000, 1000, 10000, 800);

test('reads 8 kHz mono PCM16 sample-exact, skipping unknown chunks', () => {
  const audio = parseWav(wavBytes({ tag: 1, channels: 1, rate: 8000, bits: 16, data: pcm16Bytes(TONE), extraChunk: true }), 'tone.wav');
  assert.equal(audio.samples.length, 800);
  assert.equal(audio.sourceFormat, 'pcm16');
  for (let i = 0; i < 800; i++) assert.equal(audio.samples[i], Math.round(TONE[i]!) || 0);
});

test('reads µ-law (7) and A-law (6) through the G.711 tables', () => {
  const ulaw = Uint8Array.from(TONE, (s) => ulawEncode(Math.round(s)));
  const alaw = Uint8Array.from(TONE, (s) => alawEncode(Math.round(s)));
  const u = parseWav(wavBytes({ tag: 7, channels: 1, rate: 8000, bits: 8, data: ulaw }), 'u.wav');
  const a = parseWav(wavBytes({ tag: 6, channels: 1, rate: 8000, bits: 8, data: alaw }), 'a.wav');
  assert.equal(u.sourceFormat, 'mulaw');
  assert.equal(a.sourceFormat, 'alaw');
  for (let i = 0; i < 800; i++) {
    assert.equal(ulawEncode(u.samples[i]!), ulaw[i]);
    assert.equal(alawEncode(a.samples[i]!), alaw[i]);
  }
});

test('stereo is mixed to mono', () => {
  const interleaved: number[] = [];
  for (let i = 0; i < 100; i++) interleaved.push(1000, 3000);
  const audio = parseWav(wavBytes({ tag: 1, channels: 2, rate: 8000, bits: 16, data: pcm16Bytes(interleaved) }), 's.wav');
  assert.equal(audio.samples.length, 100);
  assert.ok(audio.samples.every((s) => s === 2000));
});

test('resampling keeps in-band tones and removes what would alias', () => {
  for (const rate of [4000, 11025, 16000, 22050, 44100, 48000]) {
    const seconds = 0.5;
    const n = Math.round(rate * seconds);
    const pass = resampleTo8k(Float32Array.from(sine(rate, 1000, 10000, n)), rate);
    assert.ok(Math.abs(pass.length - 4000) <= 1, `${rate}: ${pass.length} samples`);
    const passed = amplitudeAt(pass, 8000, 1000, 400, 3600);
    assert.ok(Math.abs(passed - 10000) < 100, `${rate}: 1 kHz amplitude ${passed}`);
    if (rate >= 16000) {
      // 6 kHz would fold to 2 kHz at 8 kHz without the low-pass.
      const stop = resampleTo8k(Float32Array.from(sine(rate, 6000, 10000, n)), rate);
      const folded = amplitudeAt(stop, 8000, 2000, 400, 3600);
      assert.ok(folded < 10000 * 10 ** (-60 / 20), `${rate}: alias at 2 kHz ${folded}`);
    }
  }
});

function expectCode(bytes: Uint8Array, code: WavErrorCode, limits?: { maxBytes: number; maxSeconds: number }) {
  assert.throws(
    () => parseWav(bytes, 'prompts/bad.wav', limits),
    (error: unknown) => error instanceof WavError && error.code === code && error.file === 'prompts/bad.wav' && error.message.includes('prompts/bad.wav'),
  );
}

test('malformed and unsupported files give coded errors naming the file', () => {
  const good = wavBytes({ tag: 1, channels: 1, rate: 8000, bits: 16, data: pcm16Bytes(TONE) });
  expectCode(Buffer.from('RIFX0000WAVE'), 'WAV_NOT_RIFF');
  expectCode(Buffer.alloc(4), 'WAV_NOT_RIFF');
  expectCode(good.subarray(0, good.length - 10), 'WAV_BAD_CHUNK'); // truncated: RIFF size runs past the end
  const hugeChunk = Buffer.from(good);
  hugeChunk.writeUInt32LE(0xfffffff0, 40); // data chunk size
  expectCode(hugeChunk, 'WAV_BAD_CHUNK');
  const noFmt = Buffer.from(good);
  noFmt.write('junk', 12, 'latin1');
  expectCode(noFmt, 'WAV_NO_FMT');
  expectCode(wavBytes({ tag: 3, channels: 1, rate: 8000, bits: 32, data: new Uint8Array(8) }), 'WAV_UNSUPPORTED_FORMAT');
  expectCode(wavBytes({ tag: 1, channels: 1, rate: 8000, bits: 8, data: new Uint8Array(8) }), 'WAV_UNSUPPORTED_FORMAT');
  expectCode(wavBytes({ tag: 1, channels: 6, rate: 8000, bits: 16, data: new Uint8Array(24) }), 'WAV_BAD_FMT');
  expectCode(wavBytes({ tag: 1, channels: 1, rate: 1000, bits: 16, data: new Uint8Array(8) }), 'WAV_BAD_FMT');
  const badAlign = Buffer.from(good);
  badAlign.writeUInt16LE(4, 32);
  expectCode(badAlign, 'WAV_BAD_FMT');
  expectCode(wavBytes({ tag: 1, channels: 1, rate: 8000, bits: 16, data: new Uint8Array(0) }), 'WAV_NO_DATA');
  expectCode(good, 'WAV_TOO_LARGE', { maxBytes: 100, maxSeconds: 600 });
  expectCode(good, 'WAV_TOO_LONG', { maxBytes: 1 << 20, maxSeconds: 0.05 });
  assert.throws(() => readWavFile('/nonexistent/prompt.wav'), (e: unknown) => e instanceof WavError && e.code === 'WAV_UNREADABLE' && e.file === '/nonexistent/prompt.wav');
});

test('never throws anything but WavError on mutated files', () => {
  const good = wavBytes({ tag: 1, channels: 2, rate: 16000, bits: 16, data: pcm16Bytes(sine(16000, 500, 5000, 64)), extraChunk: true });
  let seed = 7;
  for (let round = 0; round < 2000; round++) {
    const copy = Buffer.from(good);
    for (let k = 0; k < 3; k++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      copy[seed % copy.length] = seed >> 8;
    }
    try {
      parseWav(copy.subarray(0, copy.length - (round % 5)), 'fuzz.wav');
    } catch (error) {
      assert.ok(error instanceof WavError, String(error));
    }
  }
});

test('reads sox-written files: 44.1 kHz stereo, µ-law and A-law', { skip: interopSkip('sox') }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'traceless-wav-'));
  try {
    const cases = [
      ['stereo.wav', ['-r', '44100', '-c', '2', '-e', 'signed', '-b', '16'], 'pcm16'],
      ['ulaw.wav', ['-r', '8000', '-c', '1', '-e', 'u-law'], 'mulaw'],
      ['alaw.wav', ['-r', '8000', '-c', '1', '-e', 'a-law'], 'alaw'],
    ] as const;
    for (const [name, format, sourceFormat] of cases) {
      execFileSync('sox', ['-D', '-n', ...format, name, 'synth', '0.5', 'sine', '1000', 'vol', '0.3'], { cwd: dir });
      const audio = readWavFile(join(dir, name));
      assert.equal(audio.sourceFormat, sourceFormat);
      assert.ok(Math.abs(audio.samples.length - 4000) <= 1, `${name}: ${audio.samples.length}`);
      const amplitude = amplitudeAt(audio.samples, 8000, 1000, 400, 3600);
      assert.ok(Math.abs(amplitude - 0.3 * 32767) < 0.03 * 32767, `${name}: amplitude ${amplitude}`);
    }
    writeFileSync(join(dir, 'x.wav'), 'not audio');
    assert.throws(() => readWavFile(join(dir, 'x.wav')), (e: unknown) => e instanceof WavError && e.code === 'WAV_NOT_RIFF');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
