import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PromptStore, PromptStoreError, silenceFrame } from '../../src/media/prompt-store.ts';
import { alawEncode, ulawEncode } from '../../src/media/g711.ts';
import { WavError } from '../../src/media/wav.ts';
import { interopSkip } from '../support/interop.ts';
import { pcm16Bytes, sine, wavBytes } from './audio-helpers.ts';

test('encodes both codecs into 160-byte frames, padding the last with silence', () => {
  const store = new PromptStore();
  const samples = Int16Array.from(sine(8000, 440, 8000, 400), Math.round); // 2.5 frames
  const prompt = store.add('greeting', samples);
  assert.equal(prompt.frameCount, 3);
  assert.equal(prompt.durationMs, 60);
  for (const codec of ['PCMU', 'PCMA'] as const) {
    const encode = codec === 'PCMU' ? ulawEncode : alawEncode;
    const frames = prompt.frames[codec];
    assert.equal(frames.length, 3);
    for (let i = 0; i < 400; i++) assert.equal(frames[Math.floor(i / 160)]![i % 160], encode(samples[i]!), `${codec} ${i}`);
    assert.ok(frames[2]!.subarray(80).every((b) => b === silenceFrame(codec)[0]));
  }
  assert.equal(silenceFrame('PCMU')[0], 0xff);
  assert.equal(silenceFrame('PCMA')[0], 0xd5);
  assert.equal(silenceFrame('PCMU').length, 160);
});

test('frames of a prompt are views of one shared buffer, the same objects for every lookup', () => {
  const store = new PromptStore();
  const prompt = store.add('menu', new Int16Array(1600));
  const buffer = prompt.frames.PCMU[0]!.buffer;
  for (const frame of [...prompt.frames.PCMU, ...prompt.frames.PCMA]) assert.equal(frame.buffer, buffer);
  assert.equal(store.require('menu'), prompt);
  assert.equal(store.get('menu')!.frames.PCMA[3], prompt.frames.PCMA[3]);
  assert.equal(store.encodedBytes, 3200);
  assert.ok(Object.isFrozen(prompt.frames.PCMU));
});

test('coded errors: duplicate, unknown, empty, bad id', () => {
  const store = new PromptStore();
  store.add('a', new Int16Array(10));
  const code = (c: string) => (e: unknown) => e instanceof PromptStoreError && e.code === c;
  assert.throws(() => store.add('a', new Int16Array(10)), code('PROMPT_DUPLICATE'));
  assert.throws(() => store.require('missing'), code('PROMPT_NOT_FOUND'));
  assert.equal(store.get('missing'), undefined);
  assert.throws(() => store.add('b', new Int16Array(0)), code('PROMPT_EMPTY'));
  assert.throws(() => store.add('', new Int16Array(10)), code('PROMPT_BAD_ID'));
  assert.equal(store.size, 1);
});

test('loads WAV files and passes WAV errors through with the file name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'traceless-prompts-'));
  try {
    const path = join(dir, 'hello.wav');
    writeFileSync(path, wavBytes({ tag: 1, channels: 1, rate: 16000, bits: 16, data: pcm16Bytes(sine(16000, 500, 4000, 3200)) }));
    const prompt = new PromptStore().loadFile('hello', path);
    assert.equal(prompt.frameCount, 10); // 0.2 s at 8 kHz
    writeFileSync(join(dir, 'bad.wav'), 'RIFF');
    assert.throws(() => new PromptStore().loadFile('bad', join(dir, 'bad.wav')), (e: unknown) => e instanceof WavError && e.file.endsWith('bad.wav'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loads espeak-ng speech', { skip: interopSkip('espeak-ng') }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'traceless-prompts-'));
  try {
    const path = join(dir, 'speech.wav');
    execFileSync('espeak-ng', ['-w', path, 'Welcome to the parking line.']);
    const prompt = new PromptStore().loadFile('welcome', path);
    assert.ok(prompt.durationMs > 1000 && prompt.durationMs < 5000, `${prompt.durationMs} ms`);
    assert.ok(prompt.frames.PCMU.some((frame) => frame.some((b) => b !== 0xff && b !== 0x7f)), 'speech is not silence');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
