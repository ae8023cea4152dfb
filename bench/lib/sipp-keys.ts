// A caller's key presses as sipp scenario XML: sipp's own RFC 2833 captures replayed with
// play_pcap_audio (from the call's media port, like its audio), on a fixed schedule — sipp cannot
// listen, so the schedule is what keeps the caller in step with the IVR's prompts.

/** sipp's capture of one key (0-9, *, #). */
export function dtmfCapture(key: string): string {
  const name = key === '#' ? 'pound' : key === '*' ? 'star' : key;
  return `/usr/share/sip-tester/dtmf_2833_${name}.pcap`;
}

/**
 * All of sipp's captures share one SSRC and each digit has one fixed RTP timestamp, so the same
 * digit replayed within the IVR decoder's memory of an event (1 s after its last packet,
 * src/media/dtmf-rfc4733.ts) reads as a retransmission of the first press. Each capture lasts
 * 140 ms: presses of one digit start at least this far apart.
 */
export const SAME_KEY_GAP_MS = 1500;

/**
 * Builds the key part of a scenario, keeping track of the scenario's time: press() and pause()
 * append XML and advance the clock; a press of a digit pressed less than SAME_KEY_GAP_MS ago is
 * delayed until it may be pressed.
 */
export class KeyScript {
  readonly #lines: string[] = [];
  /** When each key was last pressed, by press() or (any candidate) by pressInjected(). */
  readonly #lastPress = new Map<string, number>();
  /** When each key was last pressed by press() alone. */
  readonly #lastFixedPress = new Map<string, number>();
  #nowMs = 0;

  /** `spacingMs`: from one press to the next (a capture takes 140 ms). */
  constructor(private readonly spacingMs: number) {}

  /** Scenario time since the script's start, in ms. */
  get nowMs(): number {
    return this.#nowMs;
  }

  pause(ms: number): void {
    if (ms <= 0) return;
    this.#lines.push(`  <pause milliseconds="${Math.round(ms)}"/>`);
    this.#nowMs += Math.round(ms);
  }

  /** One press of each key in `keys`, `spacingMs` apart. */
  press(keys: string): void {
    for (const key of keys) {
      this.#waitForGap(key, this.#lastPress);
      this.#lines.push(`  <nop><action><exec play_pcap_audio="${dtmfCapture(key)}"/></action></nop>`);
      this.#lastPress.set(key, this.#nowMs);
      this.#lastFixedPress.set(key, this.#nowMs);
      this.pause(this.spacingMs);
    }
  }

  /**
   * One press of the digit in field `field` of the call's line of the injection file (-inf), which
   * must be one of `digits`. sipp loads a capture when it reads the scenario, so the file name
   * cannot come from the call: a test per possible digit picks the capture to play. The digits
   * injected for one entry must differ from each other (the injection file's business); the gap
   * is kept here against the keys press() pressed.
   */
  pressInjected(field: number, digits: string): void {
    for (const digit of digits) this.#waitForGap(digit, this.#lastFixedPress);
    const tests = [...digits].map((digit) => `<test assign_to="key_is_${digit}" variable="key_value" compare="equal" value="${digit}"/>`).join('');
    this.#lines.push(`  <nop><action><assignstr assign_to="key_text" value="[field${field}]"/><todouble assign_to="key_value" variable="key_text"/>${tests}</action></nop>`);
    for (const digit of digits) {
      this.#lines.push(`  <nop condexec="key_is_${digit}"><action><exec play_pcap_audio="${dtmfCapture(digit)}"/></action></nop>`);
      // Which digit it was is the call's business: count every candidate as pressed now.
      this.#lastPress.set(digit, this.#nowMs);
    }
    this.pause(this.spacingMs);
  }

  xml(): string {
    return this.#lines.join('\n');
  }

  #waitForGap(key: string, lastPress: ReadonlyMap<string, number>): void {
    const last = lastPress.get(key);
    if (last !== undefined && this.#nowMs - last < SAME_KEY_GAP_MS) this.pause(SAME_KEY_GAP_MS - (this.#nowMs - last));
  }
}
