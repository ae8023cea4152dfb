import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, openSync, readSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PromptCatalogue } from '../../src/flow/catalogue.ts';
import { SAY_AS_CLIPS, LANGUAGES } from '../../src/flow/say-as.ts';
import { DEFAULT_SETTINGS } from '../../src/flow/call-context.ts';
import { spawnSync } from 'node:child_process';
import { writeOverlay } from './wav-file.ts';

const catalogue = new PromptCatalogue();

/** Reads the fmt chunk of a canonical RIFF/WAVE file. */
function wavFormat(path: string): { channels: number; rate: number; bits: number; format: number } {
  const header = Buffer.alloc(44);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, header, 0, 44, 0);
  } finally {
    closeSync(fd);
  }
  assert.equal(header.toString('ascii', 0, 4), 'RIFF', path);
  assert.equal(header.toString('ascii', 8, 12), 'WAVE', path);
  return { format: header.readUInt16LE(20), channels: header.readUInt16LE(22), rate: header.readUInt32LE(24), bits: header.readUInt16LE(34) };
}

test('both languages define the same ids', () => {
  const ids = (lang: string) => catalogue.entries(lang).map(([id]) => id).sort();
  assert.deepEqual(ids('es-US'), ids('en-US'));
});

test('every say-as clip and every runtime default prompt exists with 8 kHz mono 16-bit audio', () => {
  const required = [
    ...SAY_AS_CLIPS,
    DEFAULT_SETTINGS.fallback.apologyPrompt,
    DEFAULT_SETTINGS.fallback.unavailablePrompt,
    DEFAULT_SETTINGS.invalidPrompt,
    DEFAULT_SETTINGS.timeoutPrompt,
    DEFAULT_SETTINGS.agentPrompt!,
  ];
  for (const lang of LANGUAGES) {
    for (const id of required) {
      const path = catalogue.audioPath(`${lang}/${id}`);
      assert.ok(path, `${lang}/${id} has no audio`);
      assert.deepEqual(wavFormat(path), { format: 1, channels: 1, rate: 8000, bits: 16 }, path);
    }
  }
});

test('an overlay recording replaces the generated audio; unknown ids and traversal get nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prompts-'));
  try {
    mkdirSync(join(dir, 'en-US'));
    writeFileSync(join(dir, 'en-US', 'goodbye.wav'), 'x');
    const withOverlay = new PromptCatalogue({ overlays: [dir] });
    assert.equal(withOverlay.audioPath('en-US/goodbye'), join(dir, 'en-US', 'goodbye.wav'));
    assert.equal(withOverlay.audioPath('es-US/goodbye'), join(catalogue.root, 'es-US', 'goodbye.wav'));
    assert.equal(withOverlay.audioPath('en-US/no.such.prompt'), null);
    assert.equal(withOverlay.audioPath('en-US/../../package.json'), null);
    // With several overlays the later one wins, as the server's prompts.overlays does.
    const later = mkdtempSync(join(tmpdir(), 'prompts-'));
    try {
      mkdirSync(join(later, 'en-US'));
      writeFileSync(join(later, 'en-US', 'goodbye.wav'), 'y');
      assert.equal(new PromptCatalogue({ overlays: [dir, later] }).audioPath('en-US/goodbye'), join(later, 'en-US', 'goodbye.wav'));
      assert.equal(new PromptCatalogue({ overlays: [later, dir] }).audioPath('en-US/goodbye'), join(dir, 'en-US', 'goodbye.wav'));
    } finally {
      rmSync(later, { recursive: true, force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every catalogue id (prompts and say-as clips) has audio in both languages', () => {
  assert.ok(catalogue.ids('en-US').length > 100);
  assert.deepEqual(catalogue.missingAudio(catalogue.ids('en-US'), LANGUAGES), []);
  assert.deepEqual(catalogue.missingAudio(catalogue.ids('es-US'), LANGUAGES), []);
});

test('the committed audio is what the catalogue text renders to (npm run prompts -- --check, offline)', () => {
  const script = new URL('../../scripts/prompts.ts', import.meta.url).pathname;
  const result = spawnSync(process.execPath, ['--import', 'tsx', script, '--check'], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
});

test("missingAudio names each id a flow's static list cannot play, per language; overlay ids count", () => {
  const dir = mkdtempSync(join(tmpdir(), 'prompts-'));
  try {
    writeOverlay(dir, ['flow.own'], ['en-US']);
    const withOverlay = new PromptCatalogue({ overlays: [dir] });
    assert.deepEqual(withOverlay.missingAudio(['goodbye', 'flow.own', 'no.such.prompt']), [
      'en-US/no.such.prompt: not in the catalogue',
      'es-US/flow.own: not in the catalogue',
      'es-US/no.such.prompt: not in the catalogue',
    ]);
    assert.equal(withOverlay.audioPath('en-US/flow.own'), join(dir, 'en-US', 'flow.own.wav'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
