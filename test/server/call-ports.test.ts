import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Player } from '../../src/media/player.ts';
import { PromptStore } from '../../src/media/prompt-store.ts';
import { DtmfReceiver } from '../../src/media/dtmf-receiver.ts';
import { UnknownPromptError } from '../../src/flow/errors.ts';
import { audioPort, encodeContext, keyPort, KeyResponseClock, UndeclaredAudioError } from '../../src/server/call-ports.ts';
import { loadConfig } from '../../src/server/config-load.ts';
import { realScheduler } from '../../src/server/call-ports.ts';
import { defineFlow } from '../../src/flow/define-flow.ts';
import { runFlow } from '../../src/flow/runner.ts';
import { cellPort } from '../../src/flow/vault-cell-port.ts';
import { acquireCell } from '../connectors/cells.ts';
import { loadPromptAssets, type PromptAssets } from '../../src/server/prompt-assets.ts';
import { expectedFrames, ramp, writeMiniCatalogue, writeWav } from '../support/wav-fixture.ts';

function promptStore(): PromptStore {
  const store = new PromptStore();
  store.add('en-US/greeting', new Int16Array(160 * 3));
  return store;
}

test('context header values are percent-encoded: no header or parameter syntax can be injected', () => {
  const encoded = encodeContext({ path: 'citation', note: 'a;b=c\r\nX-Evil: 1' });
  assert.equal(encoded, 'path=citation;note=a%3Bb%3Dc%0D%0AX-Evil%3A%201');
});

test('a prompt that was not loaded at start is a flow error (UnknownPromptError), not silence', () => {
  const audio = audioPort(new Player(), promptStore(), new KeyResponseClock(() => undefined));
  assert.throws(() => audio.play([{ clip: 'en-US/nope' }], { bargeIn: false }), UnknownPromptError);
});

/** Two apps from one config: "lines" declares audio/hold.wav, "other" declares nothing. */
function withAppAudio(run: (assets: PromptAssets) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'traceless-audio-'));
  try {
    writeMiniCatalogue(join(dir, 'catalogue'));
    mkdirSync(join(dir, 'audio'));
    writeWav(join(dir, 'audio', 'hold.wav'), ramp(7000));
    writeWav(join(dir, 'audio', 'other.wav'), ramp(9000));
    writeFileSync(join(dir, 'flow.yaml'), 'steps: []\n');
    const file = join(dir, 'traceless.yaml');
    writeFileSync(
      file,
      `sip:
  listeners: [{ transport: udp, address: 127.0.0.1, port: 5060 }]
numbers: { "1": lines, "2": other }
applications:
  lines: { flow: flow.yaml, agentUri: "sip:agent@127.0.0.1", audio: [audio/hold.wav] }
  other: { flow: flow.yaml, agentUri: "sip:agent@127.0.0.1" }
`,
    );
    run(loadPromptAssets(loadConfig(file, {}), { promptsRoot: join(dir, 'catalogue') }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('play(file): a file the application declares plays its own frames, encoded at start', () => {
  withAppAudio((assets) => {
    const player = new Player();
    const audio = audioPort(player, assets.forApp('lines'), new KeyResponseClock(() => undefined));
    void audio.play([{ clip: 'audio/hold.wav' }, { clip: 'en-US/greeting' }], { bargeIn: false });
    const expected = [...expectedFrames(ramp(7000)), ...expectedFrames(ramp(0))];
    const played = expected.map(() => player.nextFrame('PCMU'));
    assert.deepEqual(played, expected);
    assert.equal(player.playing, false);
    player.close();
  });
});

test('play(file): a file the application does not declare is refused with a coded error (the flow then apologises)', () => {
  withAppAudio((assets) => {
    const lines = audioPort(new Player(), assets.forApp('lines'), new KeyResponseClock(() => undefined));
    const notDeclared = (error: unknown) => error instanceof UndeclaredAudioError && error.code === 'TRACELESS_AUDIO_NOT_DECLARED';
    // On disk next to the declared one, but never listed: never loaded.
    assert.throws(() => lines.play([{ clip: 'audio/other.wav' }], { bargeIn: false }), notDeclared);
    // The same name resolved differently is not the declared entry either.
    assert.throws(() => lines.play([{ clip: './audio/hold.wav' }], { bargeIn: false }), notDeclared);
    // Another application cannot play what "lines" declared.
    const other = audioPort(new Player(), assets.forApp('other'), new KeyResponseClock(() => undefined));
    assert.throws(() => other.play([{ clip: 'audio/hold.wav' }], { bargeIn: false }), notDeclared);
    // Catalogue prompts still play for both.
    void other.play([{ clip: 'en-US/greeting' }], { bargeIn: false });
  });
});

test('play(file) of an undeclared file in a running flow ends in the apology, not silence or a crash', async () => {
  let assets!: PromptAssets;
  withAppAudio((loaded) => {
    assets = loaded;
  });
  const player = new Player();
  const clock = new KeyResponseClock(() => undefined);
  const cell = acquireCell();
  const heard: Uint8Array[] = [];
  let running = true;
  // The media clock's part: pull a frame per turn while the flow runs.
  const pump = (): void => {
    if (!running) return;
    if (player.playing) heard.push(player.nextFrame('PCMU'));
    setImmediate(pump);
  };
  pump();
  const hangups: string[] = [];
  const outcome = await runFlow(
    defineFlow(async (call) => {
      await call.play('audio/other.wav');
    }),
    {
      audio: audioPort(player, assets.forApp('lines'), clock),
      keys: keyPort(new DtmfReceiver(), player, clock),
      cell: cellPort(cell),
      backend: { query: () => Promise.reject(new Error('no backend')) },
      payment: { charge: () => Promise.resolve({ approved: false, reason: 'unavailable' }) },
      call: { transfer: () => Promise.reject(new Error('no agent')), hangup: async () => void hangups.push('hangup'), hangupSignal: new AbortController().signal },
      scheduler: realScheduler,
      logger: { info() {}, warn() {}, error() {}, debug() {} },
    },
    { catalogue: assets.lookup, agentTarget: null },
  );
  running = false;
  player.close();
  cell.release('failed');
  assert.deepEqual(outcome, { status: 'failed', fallback: true, error: 'TRACELESS_AUDIO_NOT_DECLARED' });
  // What the caller heard is exactly the catalogue's apology (ramp(100) in the mini catalogue).
  assert.deepEqual(heard, expectedFrames(ramp(100)));
  assert.deepEqual(hangups, ['hangup']);
});

test('key → response: measured from a key to the next play list, once per key', () => {
  const measured: number[] = [];
  const clock = new KeyResponseClock((ms) => measured.push(ms));
  const player = new Player();
  const receiver = new DtmfReceiver();
  const keys = keyPort(receiver, player, clock);
  const audio = audioPort(player, promptStore(), clock);
  const seen: number[] = [];
  keys.onKey((code) => seen.push(code));
  void audio.play([{ clip: 'en-US/greeting' }], { bargeIn: false });
  assert.equal(measured.length, 0, 'no key yet, nothing to measure');
  // application/dtmf INFO carries one key ("5").
  assert.equal(receiver.info('application/dtmf', Buffer.from('5')), 'key');
  assert.deepEqual(seen, [5]);
  void audio.play([{ clip: 'en-US/greeting' }], { bargeIn: false });
  void audio.play([{ clip: 'en-US/greeting' }], { bargeIn: false });
  assert.equal(measured.length, 1);
  assert.ok(measured[0]! >= 0);
  player.close();
  receiver.close();
});
