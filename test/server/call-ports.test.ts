import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Player } from '../../src/media/player.ts';
import { PromptStore } from '../../src/media/prompt-store.ts';
import { DtmfReceiver } from '../../src/media/dtmf-receiver.ts';
import { UnknownPromptError } from '../../src/flow/errors.ts';
import { audioPort, encodeContext, keyPort, KeyResponseClock } from '../../src/server/call-ports.ts';

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
