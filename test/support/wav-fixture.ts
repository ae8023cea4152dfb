// Small WAV files for prompt and audio tests: 8 kHz mono 16-bit PCM with a recognisable ramp,
// so a test can tell which file's frames were played.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PromptStore } from '../../src/media/prompt-store.ts';

/** `count` samples rising from `start` in steps of `step` (wrapping inside int16). */
export function ramp(start: number, count = 480, step = 37): Int16Array {
  return Int16Array.from({ length: count }, (_, index) => ((start + index * step + 32768) % 65536) - 32768);
}

/** A RIFF/WAVE file holding the samples (RFC 2361 format tag 1, PCM). */
export function wavBytes(samples: Int16Array): Buffer {
  const data = Buffer.alloc(samples.length * 2);
  samples.forEach((sample, index) => data.writeInt16LE(sample, index * 2));
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8, 'latin1');
  header.write('fmt ', 12, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(8000, 24);
  header.writeUInt32LE(16000, 28); // byte rate
  header.writeUInt16LE(2, 32); // block align
  header.writeUInt16LE(16, 34); // bits per sample
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

export function writeWav(path: string, samples: Int16Array): void {
  writeFileSync(path, wavBytes(samples));
}

/** The PCMU frames the samples encode to (what a player must hand the clock). */
export function expectedFrames(samples: Int16Array): Uint8Array[] {
  return [...new PromptStore().add('expected', samples).frames.PCMU];
}

/**
 * A one-language prompt catalogue in `root` (what `promptsRoot` points at): prompts greeting and
 * error.apology with generated audio ramp(0) and ramp(100), instead of the package's full set.
 */
export function writeMiniCatalogue(root: string): void {
  mkdirSync(join(root, 'en-US'), { recursive: true });
  writeFileSync(
    join(root, 'en-US', 'catalogue.yaml'),
    'language: en-US\nvoice: en-us\nprompts:\n  greeting: "Hello."\n  error.apology: "Sorry."\nclips: {}\n',
  );
  writeWav(join(root, 'en-US', 'greeting.wav'), ramp(0));
  writeWav(join(root, 'en-US', 'error.apology.wav'), ramp(100));
}
