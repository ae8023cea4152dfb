// RFC 4733 telephone-event decoder: turns a stream of event packets into key presses, each once.
//
// Identity of an event (§2.5.1.2): every packet of one event carries the RTP timestamp of its start,
// with a growing duration, and the final packet (E bit) is sent three times (§2.5.1.4). So a key is
// reported on the first packet seen with a new (timestamp, event) pair — whether that is the first
// packet, an update or only an end packet — and every later packet of that pair is absorbed.
//
// Recent events are remembered in a small ring rather than by "newest timestamp wins", because
// real senders do not keep timestamps monotonic: sipp's play_pcap_audio replays fixed captures
// (dtmf_2833_1.pcap starts at 13280, dtmf_2833_0.pcap at 17632, same SSRC), and play_dtmf starts
// a fresh SSRC per action. A remembered event that has been silent for `staleAfterMs` is forgotten,
// so replaying the same capture twice (identical timestamps) yields two keys, while reordered or
// retransmitted packets (milliseconds late) stay absorbed.
//
// Long presses beyond the 16-bit duration (8.19 s at 8 kHz) arrive as segments (§2.5.1.3/§2.5.2.3):
// the next segment starts at the previous timestamp plus its duration, with no E bit on the earlier
// one. Such a continuation is recognised and not counted as a new key.
//
// Observed sender quirks handled here (see test/fixtures/dtmf/README.md): first packet with
// duration 0 (sipp), durations stepping 320 per 20 ms packet (sipp's bundled pcaps), three end
// packets 1 ms apart or sharing one sequence number, filler packets of another payload type
// before the first event (the RTP layer never hands those to this decoder), payload type 96 or 101.
import type { DtmfCode } from '../vault/types.ts';

export type Rfc4733Outcome = 'key' | 'update' | 'duplicate' | 'ignored' | 'malformed';

export interface Rfc4733Options {
  /** Monotonic milliseconds. */
  now: () => number;
  /** A remembered event silent this long is forgotten (default 1000 ms; packets come every ≤ 50 ms). */
  staleAfterMs?: number;
}

const EVENT_BYTES = 4;
const MAX_EVENTS_PER_PACKET = 8;
const RING = 8;
const MAX_DTMF_EVENT = 15; // 0-9, *, #, A-D (§3.2); other events (flash, tones) are not keys
const SCRUBBED = 0xff; // a scrubbed slot keeps its timing but matches any event code
const SEGMENT_FULL = 0xffff - 1600; // a segment that reached ~max duration (200 ms of loss allowed)

export class Rfc4733Decoder {
  private readonly now: () => number;
  private readonly staleAfterMs: number;
  private ssrc = 0;
  private hasStream = false;
  // Ring of recent events; `used` marks live slots. Typed arrays, zeroed on reset (secure mode).
  private readonly timestamps = new Float64Array(RING);
  private readonly codes = new Uint8Array(RING);
  private readonly durations = new Uint32Array(RING);
  private readonly lastSeen = new Float64Array(RING);
  private readonly ended = new Uint8Array(RING);
  private readonly used = new Uint8Array(RING);
  private newest = -1;

  constructor(
    private readonly onKey: (code: DtmfCode) => void,
    options: Rfc4733Options,
  ) {
    this.now = options.now;
    this.staleAfterMs = options.staleAfterMs ?? 1000;
  }

  /** One telephone-event RTP payload with its header's timestamp and SSRC. */
  packet(payload: Uint8Array, rtpTimestamp: number, ssrc: number): Rfc4733Outcome {
    const count = payload.length / EVENT_BYTES;
    if (count < 1 || count > MAX_EVENTS_PER_PACKET || !Number.isInteger(count)) return 'malformed';
    // §2.5.1.5: several events in one packet must all be ended except possibly the last.
    for (let i = 0; i < count - 1; i++) if ((payload[i * EVENT_BYTES + 1]! & 0x80) === 0) return 'malformed';
    if (!this.hasStream || ssrc !== this.ssrc) {
      this.reset();
      this.ssrc = ssrc;
      this.hasStream = true;
    }
    const now = this.now();
    let outcome: Rfc4733Outcome = 'ignored';
    let timestamp = rtpTimestamp >>> 0;
    for (let i = 0; i < count; i++) {
      const at = i * EVENT_BYTES;
      const event = payload[at]!;
      const end = (payload[at + 1]! & 0x80) !== 0;
      const duration = (payload[at + 2]! << 8) | payload[at + 3]!;
      const result = event > MAX_DTMF_EVENT ? 'ignored' : this.event(event, end, duration, timestamp, now);
      if (result === 'key' || (result !== 'ignored' && outcome !== 'key')) outcome = result;
      // §2.5.2.4: each following event starts where the previous one ended.
      timestamp = (timestamp + duration) >>> 0;
    }
    return outcome;
  }

  /** Forgets the stream and zeroes the remembered events. */
  reset(): void {
    this.timestamps.fill(0);
    this.codes.fill(0);
    this.durations.fill(0);
    this.lastSeen.fill(0);
    this.ended.fill(0);
    this.used.fill(0);
    this.newest = -1;
    this.hasStream = false;
    this.ssrc = 0;
  }

  /** Overwrites the remembered event codes (secure mode changes) while keeping their timing. */
  scrub(): void {
    this.codes.fill(SCRUBBED);
  }

  private event(code: number, end: boolean, duration: number, timestamp: number, now: number): Rfc4733Outcome {
    const slot = this.find(timestamp);
    if (slot >= 0) {
      if (now - this.lastSeen[slot]! > this.staleAfterMs) {
        this.used[slot] = 0; // the same timestamps again after a long silence: a replayed press
      } else if (this.codes[slot] !== code && this.codes[slot] !== SCRUBBED) {
        return 'malformed'; // two different events cannot share a start time
      } else {
        this.lastSeen[slot] = now;
        if (this.ended[slot]) return 'duplicate';
        if (duration > this.durations[slot]!) this.durations[slot] = duration;
        if (end) this.ended[slot] = 1;
        return 'update';
      }
    }
    if (this.continuesLongEvent(code, timestamp, now)) {
      const current = this.newest;
      this.timestamps[current] = timestamp;
      this.durations[current] = duration;
      this.lastSeen[current] = now;
      if (end) this.ended[current] = 1;
      return 'update';
    }
    const next = (this.newest + 1) % RING;
    this.timestamps[next] = timestamp;
    this.codes[next] = code;
    this.durations[next] = duration;
    this.lastSeen[next] = now;
    this.ended[next] = end ? 1 : 0;
    this.used[next] = 1;
    this.newest = next;
    this.onKey(code);
    return 'key';
  }

  private find(timestamp: number): number {
    for (let i = 0; i < RING; i++) if (this.used[i] && this.timestamps[i] === timestamp) return i;
    return -1;
  }

  // §2.5.1.3: a new segment of the same, unfinished event starts at previous timestamp + duration.
  private continuesLongEvent(code: number, timestamp: number, now: number): boolean {
    const current = this.newest;
    if (current < 0 || !this.used[current] || this.ended[current]) return false;
    if (this.codes[current] !== code && this.codes[current] !== SCRUBBED) return false;
    if (now - this.lastSeen[current]! > this.staleAfterMs) return false;
    const previousDuration = this.durations[current]!;
    if (previousDuration < SEGMENT_FULL) return false;
    const advance = (timestamp - this.timestamps[current]!) >>> 0;
    return advance >= previousDuration && advance <= 0xffff;
  }
}
