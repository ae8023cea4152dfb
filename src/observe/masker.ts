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

function digitsOnly(text: string): string {
  let digits = '';
  for (let i = 0; i < text.length; i++) if (isDigit(text.charCodeAt(i))) digits += text[i];
  return digits;
}

function isSeparator(code: number): boolean {
  return code === SPACE || code === DASH;
}

/**
 * The last (up to 19) digit groups of a run, as line offsets: no card-number window can
 * span more, so the scratch space stays fixed whatever the line holds.
 */
class RecentGroups {
  readonly starts = new Int32Array(MAX_PAN);
  readonly ends = new Int32Array(MAX_PAN);
  count = 0;
  private next = 0;

  clear(): void {
    this.count = 0;
    this.next = 0;
  }

  push(start: number, end: number): void {
    this.starts[this.next] = start;
    this.ends[this.next] = end;
    this.next = (this.next + 1) % MAX_PAN;
    if (this.count < MAX_PAN) this.count++;
  }

  /** Slot of the k-th most recent group (0 = the last pushed). */
  slot(k: number): number {
    return (this.next - 1 - k + MAX_PAN) % MAX_PAN;
  }
}

/**
 * True when a window of whole consecutive groups ending with the latest group holds
 * 13–19 digits that pass the Luhn check (ISO/IEC 7812-1 annex B). Whole groups only: a
 * card number is written as whole groups ("4111 1111 1111 1111 0328" still starts one).
 * The window grows leftwards, so the Luhn sum is extended rather than recomputed (a digit
 * keeps its position from the right): at most 19 digits are read per group.
 */
function luhnWindowEndingHere(line: string, groups: RecentGroups): boolean {
  let sum = 0;
  let count = 0;
  for (let k = 0; k < groups.count; k++) {
    const slot = groups.slot(k);
    const start = groups.starts[slot]!;
    for (let i = groups.ends[slot]! - 1; i >= start; i--) {
      if (count === MAX_PAN) return false;
      let d = line.charCodeAt(i) - DIGIT_0;
      if (count % 2 === 1) {
        d *= 2;
        if (d > 9) d -= 9;
      }
      sum += d;
      count++;
    }
    if (count >= MIN_PAN && sum % 10 === 0) return true;
  }
  return false;
}

/** Outside a JSON string the digits belong to a number literal: the whole literal is replaced. */
function literalStart(line: string, start: number, floor: number, inString: boolean): number {
  let from = start;
  if (!inString) while (from > floor && isNumberChar(line.charCodeAt(from - 1))) from--;
  return from;
}

function literalEnd(line: string, end: number, inString: boolean): number {
  let to = end;
  if (!inString) while (to < line.length && isNumberChar(line.charCodeAt(to))) to++;
  return to;
}

/** Inside a JSON string the mask replaces the digits; a number literal becomes a quoted mask so the line stays JSON. */
function maskText(inString: boolean): string {
  return inString ? LOG_MASK : `"${LOG_MASK}"`;
}

export function createLogMasker(options: LogMaskerOptions = {}): LogMasker {
  const minLongRun = options.minLongRun ?? 7;
  if (!Number.isInteger(minLongRun) || minLongRun < 2) throw new RangeError('minLongRun must be an integer ≥ 2');
  const allowed = new Set((options.allowedNumbers ?? []).map(digitsOnly).filter((n) => n.length > 0));
  const onHit = options.onHit;
  const counts: MaskHitCounts = { luhn: 0, longRun: 0 };
  const recent = new RecentGroups();

  function hit(rule: MaskRule): void {
    if (rule === 'luhn') counts.luhn++;
    else counts.longRun++;
    onHit?.(rule);
  }

  function isAllowed(line: string, start: number, end: number): boolean {
    return allowed.size > 0 && allowed.has(digitsOnly(line.slice(start, end)));
  }

  function mask(line: string): string {
    let parts: string[] | null = null;
    let copied = 0;
    let inString = false;
    let i = 0;
    const n = line.length;

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
      if (c < DIGIT_0 || c > DIGIT_9) {
        i++;
        continue;
      }

      // A separated run: digit groups joined by single spaces or dashes.
      const runStart = i;
      let digitCount = 0;
      let longest = 0;
      let luhn = false;
      recent.clear();
      for (;;) {
        const groupStart = i;
        while (i < n && isDigit(line.charCodeAt(i))) i++;
        recent.push(groupStart, i);
        digitCount += i - groupStart;
        if (i - groupStart > longest) longest = i - groupStart;
        if (!luhn && digitCount >= MIN_PAN) luhn = luhnWindowEndingHere(line, recent);
        if (i + 1 < n && isSeparator(line.charCodeAt(i)) && isDigit(line.charCodeAt(i + 1))) {
          i++;
          continue;
        }
        break;
      }
      const runEnd = i;

      if (luhn && !isAllowed(line, runStart, runEnd)) {
        const from = literalStart(line, runStart, copied, inString);
        const to = literalEnd(line, runEnd, inString);
        parts ??= [];
        parts.push(line.slice(copied, from), maskText(inString));
        copied = i = to;
        hit('luhn');
        continue;
      }
      if (longest < minLongRun) continue;
      // Second pass over the run, only when it holds a long group: mask each such group.
      for (let start = runStart; start < runEnd; ) {
        let end = start;
        while (end < runEnd && isDigit(line.charCodeAt(end))) end++;
        if (start >= copied && end - start >= minLongRun && !isAllowed(line, start, end)) {
          const from = literalStart(line, start, copied, inString);
          const to = literalEnd(line, end, inString);
          parts ??= [];
          parts.push(line.slice(copied, from), maskText(inString));
          copied = to;
          if (to > i) i = to;
          hit('long-run');
        }
        start = end + 1;
      }
    }
    if (parts === null) return line;
    parts.push(line.slice(copied));
    return parts.join('');
  }

  return {
    mask,
    hits: () => ({ ...counts }),
  };
}
