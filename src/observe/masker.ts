// The last line of defence: every serialized log line passes through here before it
// is written. The primary path (allowlisted fields, Secret serialising as '[secret]')
// should leave nothing to find, so every hit is a defect and is counted as one.
//
// A hand-written single pass instead of a RegExp: linear time on any input, no
// backtracking, and no RegExp.input holding on to the last subject.

/** What a masked span is replaced with (inside a JSON string; quoted when it replaces a bare number). */
export const LOG_MASK = '[masked]';

export type MaskRule = 'luhn' | 'long-run';

export interface MaskHitCounts {
  /** Runs of 13–19 digits (space/dash separated groups allowed) passing the Luhn check. */
  luhn: number;
  /** Unbroken digit runs at least `minLongRun` long. */
  longRun: number;
}

export interface LogMaskerOptions {
  /** Unbroken digit runs this long or longer are masked. Default 7. */
  minLongRun?: number;
  /**
   * Digit strings that are never masked: the service's own published numbers, which
   * call records must name. Compared on digits only (separators removed).
   */
  allowedNumbers?: readonly string[];
  /** Called once per masked span (e.g. to feed a metric). */
  onHit?: (rule: MaskRule) => void;
}

export interface LogMasker {
  /** Returns the line with every offending digit run masked (the same string when nothing matched). */
  mask(line: string): string;
  /** Hits since creation, by rule. */
  hits(): MaskHitCounts;
}

const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const SPACE = 0x20;
const DASH = 0x2d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MIN_PAN = 13;
const MAX_PAN = 19;

function isDigit(code: number): boolean {
  return code >= DIGIT_0 && code <= DIGIT_9;
}

/** Characters of a JSON number literal (RFC 8259 §6). */
function isNumberChar(code: number): boolean {
  return isDigit(code) || code === 0x2e || code === 0x2d || code === 0x2b || code === 0x65 || code === 0x45;
}

function isSeparator(code: number): boolean {
  return code === SPACE || code === DASH;
}

/** Luhn (ISO/IEC 7812-1 annex B) over `digits[from..to)`, read right to left. */
function luhnValid(digits: Uint8Array, from: number, to: number): boolean {
  let sum = 0;
  let double = false;
  for (let i = to - 1; i >= from; i--) {
    let d = digits[i]!;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** A digit group: an unbroken digit run inside a separated run, as text offsets. */
interface Group {
  start: number;
  end: number;
  /** Offset of the group's first digit in the run's digit buffer. */
  digitStart: number;
}

export function createLogMasker(options: LogMaskerOptions = {}): LogMasker {
  const minLongRun = options.minLongRun ?? 7;
  if (!Number.isInteger(minLongRun) || minLongRun < 2) throw new RangeError('minLongRun must be an integer ≥ 2');
  const allowed = new Set((options.allowedNumbers ?? []).map((n) => n.replace(/\D/g, '')).filter((n) => n.length > 0));
  const onHit = options.onHit;
  const counts: MaskHitCounts = { luhn: 0, longRun: 0 };

  // Reused scratch space: digits of the current separated run, and its groups.
  let digits = new Uint8Array(256);
  const groups: Group[] = [];

  function hit(rule: MaskRule): void {
    if (rule === 'luhn') counts.luhn++;
    else counts.longRun++;
    onHit?.(rule);
  }

  function isAllowed(line: string, start: number, end: number): boolean {
    if (allowed.size === 0) return false;
    let text = '';
    for (let i = start; i < end; i++) {
      const c = line.charCodeAt(i);
      if (isDigit(c)) text += line[i];
    }
    return allowed.has(text);
  }

  /**
   * True when some window of whole consecutive groups holds 13–19 digits that pass Luhn.
   * Whole groups only: a card number is written as whole groups ("4111 1111 1111 1111"),
   * and this bounds the work to at most 19 windows per group (linear overall).
   */
  function hasLuhnWindow(groupCount: number): boolean {
    for (let first = 0; first < groupCount; first++) {
      const from = groups[first]!.digitStart;
      for (let last = first; last < groupCount; last++) {
        const g = groups[last]!;
        const count = g.digitStart + (g.end - g.start) - from;
        if (count > MAX_PAN) break;
        if (count >= MIN_PAN && luhnValid(digits, from, from + count)) return true;
      }
    }
    return false;
  }

  function mask(line: string): string {
    let out: string[] | null = null;
    let copied = 0;
    let inString = false;
    let i = 0;
    const n = line.length;

    // Inside a JSON string the mask replaces the digits; outside one the digits belong to
    // a number literal, which is replaced whole by a quoted mask so the line stays JSON.
    const replace = (start: number, end: number): void => {
      let from = start;
      let to = end;
      if (!inString) {
        while (from > copied && isNumberChar(line.charCodeAt(from - 1))) from--;
        while (to < n && isNumberChar(line.charCodeAt(to))) to++;
      }
      out ??= [];
      out.push(line.slice(copied, from), inString ? LOG_MASK : `"${LOG_MASK}"`);
      copied = to;
      i = Math.max(i, to);
    };

    while (i < n) {
      const c = line.charCodeAt(i);
      if (c === QUOTE) {
        inString = !inString;
        i++;
        continue;
      }
      if (c === BACKSLASH && inString) {
        i += 2; // an escape: the next character is never a string delimiter
        continue;
      }
      if (!isDigit(c)) {
        i++;
        continue;
      }

      // A separated run: digit groups joined by single spaces or dashes.
      const runStart = i;
      let groupCount = 0;
      let digitCount = 0;
      let longest = 0;
      for (;;) {
        const groupStart = i;
        while (i < n && isDigit(line.charCodeAt(i))) {
          if (digitCount === digits.length) {
            const bigger = new Uint8Array(digits.length * 2);
            bigger.set(digits);
            digits = bigger;
          }
          digits[digitCount++] = line.charCodeAt(i) - DIGIT_0;
          i++;
        }
        const group: Group = { start: groupStart, end: i, digitStart: digitCount - (i - groupStart) };
        if (groupCount < groups.length) groups[groupCount] = group;
        else groups.push(group);
        groupCount++;
        longest = Math.max(longest, i - groupStart);
        if (i + 1 < n && isSeparator(line.charCodeAt(i)) && isDigit(line.charCodeAt(i + 1))) {
          i++;
          continue;
        }
        break;
      }
      const runEnd = i;

      if (digitCount >= MIN_PAN && hasLuhnWindow(groupCount) && !isAllowed(line, runStart, runEnd)) {
        replace(runStart, runEnd);
        hit('luhn');
        continue;
      }
      if (longest >= minLongRun) {
        for (let g = 0; g < groupCount; g++) {
          const { start, end } = groups[g]!;
          if (start >= copied && end - start >= minLongRun && !isAllowed(line, start, end)) {
            replace(start, end);
            hit('long-run');
          }
        }
      }
    }
    if (out === null) return line;
    const parts: string[] = out;
    parts.push(line.slice(copied));
    return parts.join('');
  }

  return {
    mask,
    hits: () => ({ ...counts }),
  };
}
