// Finds canaries (values a test caller keyed) in log output, the way a reader of the logs
// would: not only as raw text, but in every value of every JSON line once decoded.
//
// - Every canary is searched in the raw bytes of each line, and in every decoded string (a
//   JSON \u escape hides a value from a raw search but not from a reader).
// - A short canary (fewer than MIN_RAW_DIGITS) also occurs by chance inside unrelated
//   digits — times, latencies, hex tags — so in strings it counts only as a whole token: a
//   maximal run of letters and digits equal to it ("zip=12345", "cvv 123", "[123]"), and in
//   numbers when the number's text equals it. A short value glued to other digits reads as
//   another number and cannot be told from chance; the tests choose short canaries outside
//   the ranges structural numbers take (ports, byte counts, status codes).
// - Object keys are searched like strings: a value can leak as a key.

/** Canaries this long are searched as plain substrings everywhere. */
export const MIN_RAW_DIGITS = 7;

export interface LeakFinding {
  /** Index of the canary in the list given. */
  canary: number;
  /** Which line, and where in it: `line 12 $.message`, `line 3 (raw)`. */
  where: string;
}

const isTokenChar = (c: number): boolean => (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a);

/** Maximal runs of ASCII letters and digits. */
export function tokens(text: string): string[] {
  const found: string[] = [];
  let start = -1;
  for (let i = 0; i <= text.length; i++) {
    const inToken = i < text.length && isTokenChar(text.charCodeAt(i));
    if (inToken && start < 0) start = i;
    else if (!inToken && start >= 0) {
      found.push(text.slice(start, i));
      start = -1;
    }
  }
  return found;
}

function stringHolds(text: string, canary: string): boolean {
  return canary.length >= MIN_RAW_DIGITS ? text.includes(canary) : tokens(text).includes(canary);
}

/** Every place a canary occurs in the lines (empty when the output is clean). */
export function findCanaries(lines: readonly string[], canaries: readonly string[]): LeakFinding[] {
  const findings: LeakFinding[] = [];
  const report = (where: string, holds: (canary: string) => boolean): void => {
    for (const [index, canary] of canaries.entries()) if (holds(canary)) findings.push({ canary: index, where });
  };
  const walk = (value: unknown, where: string): void => {
    if (typeof value === 'string') report(where, (canary) => stringHolds(value, canary));
    else if (typeof value === 'number') report(where, (canary) => String(value) === canary);
    else if (Array.isArray(value)) value.forEach((item, i) => walk(item, `${where}[${i}]`));
    else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        walk(key, `${where} key ${JSON.stringify(key)}`);
        // A process id is the kernel's number (any value up to pid_max, so a 5-digit ZIP
        // canary can equal one by chance); nothing a caller keys can reach it.
        if (key === 'pid' && typeof item === 'number') continue;
        walk(item, `${where}.${key}`);
      }
    }
  };
  for (const [i, line] of lines.entries()) {
    report(`line ${i} (raw)`, (canary) => canary.length >= MIN_RAW_DIGITS && line.includes(canary));
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      parsed = line;
    }
    walk(parsed, `line ${i} $`);
  }
  return findings;
}
