import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Player, type PlayOutcome } from '../../src/media/player.ts';
import { PromptStore, silenceFrame } from '../../src/media/prompt-store.ts';

const store = new PromptStore();
const ramp = new Int16Array(160 * 3);
for (let i = 0; i < ramp.length; i++) ramp[i] = i * 40; // distinct frames
const first = store.add('first', ramp);
const second = store.add('second', ramp.subarray(0, 160 * 2));

test('concatenates prompts and silence frame by frame, then resolves done', async () => {
  const player = new Player();
  const outcomes: PlayOutcome[] = [];
  player.onEnd((outcome) => outcomes.push(outcome));
  const done = player.play([{ prompt: first }, { silenceMs: 30 }, { prompt: second }]);
  const expected = [...first.frames.PCMA, silenceFrame('PCMA'), silenceFrame('PCMA'), ...second.frames.PCMA];
  for (let i = 0; i < expected.length; i++) {
    assert.equal(player.playing, true);
    assert.equal(player.nextFrame('PCMA'), expected[i], `frame ${i}`); // the shared object itself: no copy
  }
  assert.equal(await done, 'done');
  assert.deepEqual(outcomes, ['done']);
  assert.equal(player.playing, false);
  assert.equal(player.nextFrame('PCMU'), silenceFrame('PCMU'));
});

test('codec may be chosen per frame (follows re-INVITE codec changes)', () => {
  const player = new Player();
  void player.play([{ prompt: first }]);
  assert.equal(player.nextFrame('PCMU'), first.frames.PCMU[0]);
  assert.equal(player.nextFrame('PCMA'), first.frames.PCMA[1]);
});

test('barge-in: a key interrupts only when allowed', async () => {
  const player = new Player();
  const noBarge = player.play([{ prompt: first }], { bargeIn: false });
  player.nextFrame('PCMU');
  assert.equal(player.keyPressed(), false);
  assert.equal(player.nextFrame('PCMU'), first.frames.PCMU[1]);
  const barge = player.play([{ prompt: first }], { bargeIn: true });
  assert.equal(await noBarge, 'stopped'); // replaced by the new play-list
  player.nextFrame('PCMU');
  assert.equal(player.keyPressed(), true);
  assert.equal(await barge, 'interrupted');
  assert.equal(player.nextFrame('PCMU'), silenceFrame('PCMU'));
  assert.equal(player.keyPressed(), false);
});

test('stop and close end playback with stopped; close is safe twice', async () => {
  const player = new Player();
  const playing = player.play([{ silenceMs: 1000 }]);
  player.stop();
  assert.equal(await playing, 'stopped');
  player.stop();
  const again = player.play([{ prompt: first }]);
  player.close();
  player.close();
  assert.equal(await again, 'stopped');
  assert.equal(await player.play([{ prompt: first }]), 'stopped');
});

test('empty play-lists finish at once; bad silence is refused', async () => {
  const player = new Player();
  assert.equal(await player.play([]), 'done');
  assert.equal(await player.play([{ silenceMs: 0 }]), 'done');
  assert.throws(() => player.play([{ silenceMs: -1 }]), RangeError);
  assert.throws(() => player.play([{ silenceMs: Number.NaN }]), RangeError);
});
