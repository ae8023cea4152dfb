// The per-frame path (player → RTP send, received audio → in-band DTMF) must allocate nothing: at
// 1,000 calls that is 50,000 frames a second. (RFC 4733 packets, which arrive only during a key
// press, box one clock reading each: 16 bytes.) Measured as young-generation growth over 2,000 frames after a
// full GC (runs with --expose-gc, as scripts/run-tests.ts sets): a 160-byte copy per frame would add
// ~370 KB, one small object per frame ≥ 32 KB; the measuring call itself adds a few KB.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import { Player, type PlayItem } from '../../src/media/player.ts';
import { PromptStore } from '../../src/media/prompt-store.ts';
import { DtmfReceiver } from '../../src/media/dtmf-receiver.ts';
import type { G711Codec } from '../../src/media/frame-source.ts';

const gc = (globalThis as { gc?: () => void }).gc;
const youngBytes = () => v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')!.space_used_size;
const FRAMES = 2000;
const BUDGET = FRAMES * 16;

test('playing and receiving audio with in-band detection allocate nothing per frame', { skip: gc ? false : 'needs --expose-gc' }, () => {
  const store = new PromptStore();
  const prompt = store.add('menu', Int16Array.from({ length: 160 * 50 }, (_, i) => ((i * 37) % 4000) - 2000));
  const items: PlayItem[] = Array.from({ length: 100 }, () => ({ prompt }));
  const player = new Player();
  const receiver = new DtmfReceiver({ inband: true });

  const run = (codec: G711Codec, frames: number) => {
    let checksum = 0;
    for (let i = 0; i < frames; i++) {
      if (!player.playing) void player.play(items); // one play-list per 5,000 frames
      const frame = player.nextFrame(codec);
      checksum += frame[i % 160]!;
      receiver.audio(frame, codec);
    }
    return checksum;
  };
  for (const codec of ['PCMU', 'PCMA'] as const) {
    run(codec, 20_000); // warm up: let the JIT settle
    gc!();
    const before = youngBytes();
    run(codec, FRAMES);
    const grown = youngBytes() - before;
    assert.ok(grown < BUDGET, `${codec}: ${grown} bytes allocated over ${FRAMES} frames`);
  }
});
