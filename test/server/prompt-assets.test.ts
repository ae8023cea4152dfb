// Prompt audio loaded from the config at start: overlay recordings (later directories win,
// new ids become sayable), each application's declared audio files, and every bad input as a
// config error naming the key and the file — before anything listens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/server/config-load.ts';
import { loadPromptAssets } from '../../src/server/prompt-assets.ts';
import { defineFlow } from '../../src/flow/define-flow.ts';
import { simulate } from '../../src/flow/simulator.ts';
import { PromptCatalogue } from '../../src/flow/catalogue.ts';
import { expectedFrames, ramp, writeMiniCatalogue, writeWav } from '../support/wav-fixture.ts';

function withDir(run: (dir: string) => Promise<void> | void): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'traceless-prompts-'));
    try {
      writeMiniCatalogue(join(dir, 'catalogue'));
      writeFileSync(join(dir, 'flow.yaml'), 'steps: []\n');
      await run(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

function configFile(dir: string, extra: string): string {
  const file = join(dir, 'traceless.yaml');
  writeFileSync(
    file,
    `sip:
  listeners: [{ transport: udp, address: 127.0.0.1, port: 5060 }]
numbers: { "*": demo }
applications:
  demo: { flow: flow.yaml, agentUri: "sip:agent@127.0.0.1" }
${extra}`,
  );
  return file;
}

function mkdirs(...paths: string[]): void {
  for (const path of paths) mkdirSync(path, { recursive: true });
}

function assetProblems(file: string, dir: string): string[] {
  try {
    loadPromptAssets(loadConfig(file, {}), { promptsRoot: join(dir, 'catalogue') });
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    assert.equal(error.file, file);
    return error.problems.map((problem) => `${problem.path}: ${problem.message}`);
  }
  return [];
}

test(
  'an overlay recording replaces the catalogue clip; the later directory wins',
  withDir((dir) => {
    mkdirs(join(dir, 'first', 'en-US'), join(dir, 'second', 'en-US'));
    writeWav(join(dir, 'first', 'en-US', 'greeting.wav'), ramp(1000));
    writeWav(join(dir, 'second', 'en-US', 'greeting.wav'), ramp(2000));
    writeWav(join(dir, 'first', 'en-US', 'error.apology.wav'), ramp(3000));
    const file = configFile(dir, 'prompts:\n  overlays: [first, second]\n');
    const assets = loadPromptAssets(loadConfig(file, {}), { promptsRoot: join(dir, 'catalogue') });
    assert.deepEqual([...assets.store.require('en-US/greeting').frames.PCMU], expectedFrames(ramp(2000)));
    assert.deepEqual([...assets.store.require('en-US/error.apology').frames.PCMU], expectedFrames(ramp(3000)));
  }),
);

test(
  'without overlays the generated catalogue audio is used',
  withDir((dir) => {
    const assets = loadPromptAssets(loadConfig(configFile(dir, ''), {}), { promptsRoot: join(dir, 'catalogue') });
    assert.deepEqual([...assets.store.require('en-US/greeting').frames.PCMU], expectedFrames(ramp(0)));
  }),
);

test(
  'an overlay recording with a new id becomes a prompt flows can say (and the plain catalogue would refuse)',
  withDir(async (dir) => {
    mkdirs(join(dir, 'recordings', 'en-US'));
    writeWav(join(dir, 'recordings', 'en-US', 'holiday.hours.wav'), ramp(4000));
    const file = configFile(dir, 'prompts:\n  overlays: [recordings]\n');
    const assets = loadPromptAssets(loadConfig(file, {}), { promptsRoot: join(dir, 'catalogue') });
    assert.equal(assets.lookup.has('en-US', 'holiday.hours'), true);
    assert.equal(assets.lookup.has('en-US', 'greeting'), true);
    assert.equal(assets.lookup.has('en-US', 'never.recorded'), false);
    assert.deepEqual([...assets.store.require('en-US/holiday.hours').frames.PCMU], expectedFrames(ramp(4000)));

    const flow = defineFlow(async (call) => {
      await call.say('holiday.hours');
    });
    const withOverlays = await simulate(flow, { caller: [], settings: { catalogue: assets.lookup } });
    assert.deepEqual(withOverlays.played, [['en-US/holiday.hours']]);
    assert.equal(withOverlays.outcome.fallback, false);
    const catalogueOnly = await simulate(flow, { caller: [], settings: { catalogue: new PromptCatalogue({ root: join(dir, 'catalogue'), languages: ['en-US'] }) } });
    assert.equal(catalogueOnly.outcome.fallback, true, 'the id exists only because of the overlay');
    assert.deepEqual(catalogueOnly.played, [['en-US/error.apology']]);
  }),
);

test(
  'overlay layout is exact: unknown language directories, stray files, non-WAV names and bad WAVs are config errors naming the file',
  withDir((dir) => {
    const overlay = join(dir, 'recordings');
    mkdirs(join(overlay, 'en-US', 'nested'), join(overlay, 'fr-FR'));
    writeFileSync(join(overlay, 'README.txt'), 'notes');
    writeFileSync(join(overlay, 'en-US', 'greeting.mp3'), 'ID3');
    writeFileSync(join(overlay, 'en-US', 'broken.wav'), 'RIFF....not a wave');
    writeWav(join(overlay, 'en-US', 'goodbye.wav'), ramp(5));
    const problems = assetProblems(configFile(dir, 'prompts:\n  overlays: [recordings]\n'), dir);
    assert.deepEqual(problems, [
      `prompts.overlays.0: ${join(overlay, 'README.txt')}: only language directories belong here (<lang>/<id>.wav)`,
      `prompts.overlays.0: ${join(overlay, 'en-US', 'greeting.mp3')}: not a prompt recording (expected <id>.wav, id of letters, digits, ".", "_", "-")`,
      `prompts.overlays.0: ${join(overlay, 'en-US', 'nested')}: not a prompt recording (expected <id>.wav, id of letters, digits, ".", "_", "-")`,
      `prompts.overlays.0: ${join(overlay, 'fr-FR')}: unknown language directory (expected one of en-US, es-US)`,
      `prompts.overlays.0: ${join(overlay, 'en-US', 'broken.wav')}: not a RIFF/WAVE file (WAV_NOT_RIFF)`,
    ]);
  }),
);

test(
  'a language no application uses: its recordings are still checked',
  withDir((dir) => {
    mkdirs(join(dir, 'recordings', 'es-US'));
    writeFileSync(join(dir, 'recordings', 'es-US', 'saludo.wav'), 'garbage');
    const problems = assetProblems(configFile(dir, 'prompts:\n  overlays: [recordings]\n'), dir);
    assert.deepEqual(problems, [`prompts.overlays.0: ${join(dir, 'recordings', 'es-US', 'saludo.wav')}: not a RIFF/WAVE file (WAV_NOT_RIFF)`]);
  }),
);

test(
  'application audio: a missing file is refused by loadConfig, a bad WAV by the loader, each at its key',
  withDir((dir) => {
    const missing = configFile(dir, '').replace('traceless.yaml', 'missing.yaml');
    writeFileSync(
      missing,
      `sip:\n  listeners: [{ transport: udp, address: 127.0.0.1, port: 5060 }]\nnumbers: { "*": demo }\napplications:\n  demo: { flow: flow.yaml, agentUri: "sip:agent@127.0.0.1", audio: [audio/hold.wav] }\n`,
    );
    assert.throws(
      () => loadConfig(missing, {}),
      (error: unknown) => error instanceof ConfigError && error.problems.some((problem) => problem.path === 'applications.demo.audio.0' && problem.message === 'file not readable: audio/hold.wav'),
    );
    mkdirs(join(dir, 'audio'));
    writeFileSync(join(dir, 'audio', 'hold.wav'), Buffer.alloc(64));
    assert.deepEqual(assetProblems(missing, dir), [`applications.demo.audio.0: ${join(dir, 'audio', 'hold.wav')}: not a RIFF/WAVE file (WAV_NOT_RIFF)`]);
  }),
);
