// RAM scrape for residue tests: reads every readable mapping of a live process through
// /proc/<pid>/mem (proc(5)) and counts each canary digit string in the three forms a
// leak would take: ASCII (Latin-1 JS strings, Buffers), UTF-16LE (two-byte JS strings),
// and one value per byte 0x00-0x09 (key codes kept as bytes).
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';

export interface Mapping {
  start: bigint;
  end: bigint;
  perms: string;
  name: string;
}

export interface CanaryCounts {
  ascii: number;
  utf16le: number;
  digitBytes: number;
}

export interface ScanResult {
  /** Per canary, occurrences in each form. */
  counts: Map<string, CanaryCounts>;
  /** Total occurrences of every canary in every form. */
  total: number;
  bytesScanned: number;
  /** Ranges that could not be read (counted, then skipped). */
  unreadableRanges: number;
}

/** Kernel pseudo-mappings that cannot be read through /proc/<pid>/mem. */
const SKIPPED = new Set(['[vvar]', '[vsyscall]', '[vvar_vclock]']);
const CHUNK = 1 << 20;

export function parseMaps(text: string): Mapping[] {
  const mappings: Mapping[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    // address perms offset dev inode [pathname]
    const fields = line.trim().split(/\s+/);
    const [range, perms] = fields;
    if (range === undefined || perms === undefined) continue;
    const [start, end] = range.split('-');
    if (start === undefined || end === undefined) continue;
    mappings.push({ start: BigInt(`0x${start}`), end: BigInt(`0x${end}`), perms, name: fields.slice(5).join(' ') });
  }
  return mappings;
}

export function canaryForms(canary: string): { ascii: Buffer; utf16le: Buffer; digitBytes: Buffer } {
  if (!/^[0-9]+$/.test(canary)) throw new Error('a canary is a string of digits');
  return {
    ascii: Buffer.from(canary, 'latin1'),
    utf16le: Buffer.from(canary, 'utf16le'),
    digitBytes: Buffer.from([...canary].map((digit) => digit.charCodeAt(0) - 0x30)),
  };
}

/** Occurrences of needle in haystack[0, length) that end after `fresh` (earlier ones were counted already). */
export function countIn(haystack: Buffer, length: number, needle: Buffer, fresh: number): number {
  let count = 0;
  let at = haystack.indexOf(needle, 0);
  while (at !== -1 && at + needle.length <= length) {
    if (at + needle.length > fresh) count += 1;
    at = haystack.indexOf(needle, at + 1);
  }
  return count;
}

export function scanProcessMemory(pid: number, canaries: readonly string[]): ScanResult {
  const patterns = canaries.map((canary) => ({ canary, forms: canaryForms(canary) }));
  const counts = new Map<string, CanaryCounts>(canaries.map((canary) => [canary, { ascii: 0, utf16le: 0, digitBytes: 0 }]));
  const carry = Math.max(0, ...patterns.map(({ forms }) => forms.utf16le.length)) - 1;
  const buffer = Buffer.alloc(carry + CHUNK);
  let bytesScanned = 0;
  let unreadableRanges = 0;
  const mappings = parseMaps(readFileSync(`/proc/${pid}/maps`, 'utf8')).filter(
    (mapping) => mapping.perms.startsWith('r') && !SKIPPED.has(mapping.name),
  );
  const fd = openSync(`/proc/${pid}/mem`, 'r');
  try {
    for (const mapping of mappings) {
      let kept = 0; // bytes at the front of buffer carried over from the previous chunk
      for (let position = mapping.start; position < mapping.end; ) {
        const want = Number(mapping.end - position < BigInt(CHUNK) ? mapping.end - position : BigInt(CHUNK));
        let got = 0;
        try {
          got = readSync(fd, buffer, kept, want, position);
        } catch {
          got = 0;
        }
        if (got <= 0) {
          unreadableRanges += 1;
          kept = 0;
          position += BigInt(want);
          continue;
        }
        const length = kept + got;
        for (const { canary, forms } of patterns) {
          const entry = counts.get(canary)!;
          entry.ascii += countIn(buffer, length, forms.ascii, kept);
          entry.utf16le += countIn(buffer, length, forms.utf16le, kept);
          entry.digitBytes += countIn(buffer, length, forms.digitBytes, kept);
        }
        bytesScanned += got;
        position += BigInt(got);
        const nextKept = Math.min(carry, length);
        buffer.copy(buffer, 0, length - nextKept, length);
        kept = nextKept;
      }
    }
  } finally {
    closeSync(fd);
  }
  let total = 0;
  for (const entry of counts.values()) total += entry.ascii + entry.utf16le + entry.digitBytes;
  return { counts, total, bytesScanned, unreadableRanges };
}
