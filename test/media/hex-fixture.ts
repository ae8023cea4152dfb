// Reads a hex fixture from test/fixtures/rtp: whitespace-separated hex octets, '#' starts a comment.
import { readFileSync } from 'node:fs';

export function hexFixture(name: string): Uint8Array {
  const text = readFileSync(new URL(`../fixtures/rtp/${name}`, import.meta.url), 'utf8');
  const digits = text
    .split('\n')
    .map((line) => line.replace(/#.*/, ''))
    .join('')
    .replace(/\s+/g, '');
  if (digits.length % 2 !== 0 || /[^0-9a-f]/i.test(digits)) throw new Error(`bad hex fixture ${name}`);
  return Uint8Array.from(Buffer.from(digits, 'hex'));
}

export function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}
