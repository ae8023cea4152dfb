// Small valid WAVs (8 kHz mono 16-bit) for prompt tests, written where a catalogue looks for them.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { ramp, writeWav as writeSamples } from '../support/wav-fixture.ts';

export function writeWav(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeSamples(path, ramp(0, 800));
}

/** An overlay directory holding `ids` in every language given. */
export function writeOverlay(dir: string, ids: readonly string[], languages: readonly string[] = ['en-US', 'es-US']): void {
  for (const language of languages) for (const id of ids) writeWav(`${dir}/${language}/${id}.wav`);
}
