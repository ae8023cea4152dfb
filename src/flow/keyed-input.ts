// The digits a call's plain gathers produced, remembered for the length of the call so that
// log() can keep them out of log lines (issue 8: key presses are logged as counts and
// outcomes, never digits — for plain gathers too). Menu choices are not kept here: they are
// the flow's own option names.
export class KeyedInput {
  readonly #entries = new Set<string>();

  /** Remembers an entry (and its number form without leading zeros, the way Number() prints it); returns it. */
  remember(digits: string): string {
    if (digits === '') return digits;
    this.#entries.add(digits);
    let start = 0;
    while (start < digits.length - 1 && digits[start] === '0') start++;
    this.#entries.add(digits.slice(start));
    return digits;
  }

  /** True when the text holds any remembered entry. */
  seenIn(text: string): boolean {
    for (const entry of this.#entries) if (text.includes(entry)) return true;
    return false;
  }

  forget(): void {
    this.#entries.clear();
  }
}
