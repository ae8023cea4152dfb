// Writes a small valid WAV (8 kHz mono 16-bit, 100 ms of a quiet tone) for prompt tests.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export function writeWav(path: string): void {
  const samples = 800;
  const bytes = Buffer.alloc(44 + samples * 2);
  bytes.write('RIFF', 0, 'ascii');
  bytes.writeUInt32LE(36 + samples * 2, 4);
  bytes.write('WAVE', 8, 'ascii');
  bytes.write('fmt ', 12, 'ascii');
  bytes.writeUInt32LE(16, 16);
  bytes.writeUInt16LE(1, 20); // PCM
  bytes.writeUInt16LE(1, 22); // mono
  bytes.writeUInt32LE(8000, 24);
  bytes.writeUInt32LE(16000, 28);
  bytes.writeUInt16LE(2, 32);
  bytes.writeUInt16LE(16, 34);
  bytes.write('data', 36, 'ascii');
  bytes.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i++) bytes.writeInt16LE(Math.round(1000 * Math.sin(i / 4)), 44 + i * 2);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
}

/** An overlay directory holding `ids` in every language given. */
export function writeOverlay(dir: string, ids: readonly string[], languages: readonly string[] = ['en-US', 'es-US']): void {
  for (const language of languages) for (const id of ids) writeWav(`${dir}/${language}/${id}.wav`);
}
