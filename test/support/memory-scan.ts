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

/** Above this many canaries one pass per form with a prefix table beats an indexOf per canary and form. */
export const MANY_CANARIES = 8;
const FORMS = ['ascii', 'utf16le', 'digitBytes'] as const;

/**
 * Counts every canary in every form in one pass per form, for scans with hundreds of canaries
 * (the end-to-end residue test). A window of L digits is looked up only when its first four
 * digits are the first four of some canary of length L. When no canary holds "00", a window
 * holding two zero digits cannot match, which lets zero-filled pages through at a glance.
 */
export class CanaryMatcher {
  readonly #byLength = new Map<number, { prefixes: Uint8Array; canaries: Set<string> }>();
  readonly #lengths: number[];
  readonly #zeroPairBreaks: boolean;
  readonly longest: number;

  constructor(canaries: readonly string[]) {
    for (const canary of canaries) {
      canaryForms(canary);
      if (canary.length < 4) throw new Error('a canary has at least four digits');
      let entry = this.#byLength.get(canary.length);
      if (!entry) this.#byLength.set(canary.length, (entry = { prefixes: new Uint8Array(10_000), canaries: new Set() }));
      entry.prefixes[Number(canary.slice(0, 4))] = 1;
      entry.canaries.add(canary);
    }
    this.#lengths = [...this.#byLength.keys()].sort((a, b) => a - b);
    this.#zeroPairBreaks = canaries.every((canary) => !canary.includes('00'));
    this.longest = Math.max(0, ...this.#lengths);
  }

  /** Adds the occurrences in buffer[0, length) that end after `fresh` to `counts`. */
  count(buffer: Buffer, length: number, fresh: number, counts: Map<string, CanaryCounts>): void {
    for (const form of FORMS) {
      const width = form === 'utf16le' ? 2 : 1;
      for (let phase = 0; phase < width; phase++) this.#countForm(buffer, length, fresh, form, width, phase, counts);
    }
  }

  #countForm(buffer: Buffer, length: number, fresh: number, form: (typeof FORMS)[number], width: number, phase: number, counts: Map<string, CanaryCounts>): void {
    const digitAt = (at: number): number => {
      const byte = buffer[at]!;
      if (form === 'digitBytes') return byte <= 9 ? byte : -1;
      const digit = byte - 0x30;
      if (digit < 0 || digit > 9) return -1;
      return form === 'utf16le' && buffer[at + 1] !== 0 ? -1 : digit;
    };
    let run = 0;
    let previous = -1;
    for (let at = phase; at + width <= length; at += width) {
      const digit = digitAt(at);
      if (digit < 0) {
        run = 0;
        previous = -1;
        continue;
      }
      run = this.#zeroPairBreaks && digit === 0 && previous === 0 ? 1 : run + 1;
      previous = digit;
      for (const digits of this.#lengths) {
        if (run < digits) break;
        const start = at - (digits - 1) * width;
        const prefix = digitAt(start) * 1000 + digitAt(start + width) * 100 + digitAt(start + 2 * width) * 10 + digitAt(start + 3 * width);
        const entry = this.#byLength.get(digits)!;
        if (entry.prefixes[prefix] === 0 || at + width <= fresh) continue;
        let text = '';
        for (let i = 0; i < digits; i++) text += String(digitAt(start + i * width));
        if (entry.canaries.has(text)) counts.get(text)![form] += 1;
      }
    }
  }
}

function emptyCounts(canaries: readonly string[]): Map<string, CanaryCounts> {
  return new Map<string, CanaryCounts>(canaries.map((canary) => [canary, { ascii: 0, utf16le: 0, digitBytes: 0 }]));
}

function totalOf(counts: Map<string, CanaryCounts>): number {
  let total = 0;
  for (const entry of counts.values()) total += entry.ascii + entry.utf16le + entry.digitBytes;
  return total;
}

/** Chunked counting over any byte source, carrying the tail so a match across two reads counts once. */
function chunkCounter(canaries: readonly string[]) {
  const counts = emptyCounts(canaries);
  const matcher = canaries.length > MANY_CANARIES ? new CanaryMatcher(canaries) : null;
  const patterns = matcher ? [] : canaries.map((canary) => ({ canary, forms: canaryForms(canary) }));
  const carry = Math.max(0, ...canaries.map((canary) => canary.length * 2)) - 1;
  return {
    counts,
    carry,
    count(buffer: Buffer, length: number, kept: number): void {
      if (matcher) {
        matcher.count(buffer, length, kept, counts);
        return;
      }
      for (const { canary, forms } of patterns) {
        const entry = counts.get(canary)!;
        entry.ascii += countIn(buffer, length, forms.ascii, kept);
        entry.utf16le += countIn(buffer, length, forms.utf16le, kept);
        entry.digitBytes += countIn(buffer, length, forms.digitBytes, kept);
      }
    },
  };
}

export function scanProcessMemory(pid: number, canaries: readonly string[]): ScanResult {
  const counter = chunkCounter(canaries);
  const { carry } = counter;
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
        counter.count(buffer, length, kept);
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
  return { counts: counter.counts, total: totalOf(counter.counts), bytesScanned, unreadableRanges };
}

/** The same count over a file's bytes (logs, anything written to disk during a test). */
export function scanFile(path: string, canaries: readonly string[]): ScanResult {
  const counter = chunkCounter(canaries);
  const buffer = Buffer.alloc(counter.carry + CHUNK);
  let bytesScanned = 0;
  const fd = openSync(path, 'r');
  try {
    let kept = 0;
    for (;;) {
      const got = readSync(fd, buffer, kept, CHUNK, null);
      if (got <= 0) break;
      const length = kept + got;
      counter.count(buffer, length, kept);
      bytesScanned += got;
      const nextKept = Math.min(counter.carry, length);
      buffer.copy(buffer, 0, length - nextKept, length);
      kept = nextKept;
    }
  } finally {
    closeSync(fd);
  }
  return { counts: counter.counts, total: totalOf(counter.counts), bytesScanned, unreadableRanges: 0 };
}

/** The same count over bytes already in hand (a process's captured stdout/stderr). */
export function scanBytes(bytes: Buffer, canaries: readonly string[]): ScanResult {
  const counter = chunkCounter(canaries);
  counter.count(bytes, bytes.length, 0);
  return { counts: counter.counts, total: totalOf(counter.counts), bytesScanned: bytes.length, unreadableRanges: 0 };
}
