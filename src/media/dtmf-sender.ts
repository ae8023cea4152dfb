// RFC 4733 telephone-event payloads for sending one key (e.g. to an agent's system after transfer).
import type { DtmfCode } from '../vault/types.ts';

/** RFC 4733 §2.3: event (8) | E (1) R (1) volume (6) | duration (16). */
export const TELEPHONE_EVENT_BYTES = 4;

/** Writes one telephone-event payload. Volume is -dBm0 (0..63, §2.3.4); duration in timestamp units. */
export function writeTelephoneEvent(
  target: Uint8Array,
  offset: number,
  event: DtmfCode,
  end: boolean,
  volume: number,
  duration: number,
): void {
  if (!Number.isInteger(event) || event < 0 || event > 255) throw new RangeError('telephone-event code out of range');
  if (!Number.isInteger(volume) || volume < 0 || volume > 63) throw new RangeError('telephone-event volume out of range');
  if (!Number.isInteger(duration) || duration < 0 || duration > 0xffff) throw new RangeError('telephone-event duration out of range');
  target[offset] = event;
  target[offset + 1] = (end ? 0x80 : 0) | volume; // R bit stays 0 (§2.3.3)
  target[offset + 2] = duration >>> 8;
  target[offset + 3] = duration & 0xff;
}

export interface DtmfSendOptions {
  /** Tone length in ms (default 100, well above Q.24's 40 ms minimum). */
  durationMs?: number;
  /** -dBm0, default 10 (a typical generator level). */
  volume?: number;
  /** Timestamp units per packet interval; default 160 (20 ms at 8 kHz). */
  samplesPerPacket?: number;
}

export interface DtmfPacket {
  /** 4-byte payload; a view into the sender's own buffer, valid until the next call. */
  payload: Uint8Array;
  /** Marker bit: set on the first packet of the event only (§2.5.1.1). */
  marker: boolean;
}

/**
 * Produces the packets for one key, one per packet interval. Every packet of the event carries the
 * RTP timestamp of the event's start (§2.5.1.1) — the session keeps the timestamp it used with marker=true.
 * The final packet carries the E bit and is sent three times (§2.5.1.4) with the same duration.
 */
export class DtmfSender {
  private readonly buffer = new Uint8Array(TELEPHONE_EVENT_BYTES);
  private readonly packet: DtmfPacket = { payload: this.buffer, marker: false };
  private event = -1;
  private duration = 0;
  private totalDuration = 0;
  private step = 160;
  private volume = 10;
  private endsLeft = 0;
  private started = false;

  /** Begins a key; throws if one is still being sent. */
  start(event: DtmfCode, options: DtmfSendOptions = {}): void {
    if (this.busy) throw new Error('a DTMF event is already being sent');
    if (!Number.isInteger(event) || event < 0 || event > 15) throw new RangeError('DTMF event code must be 0-15');
    this.step = options.samplesPerPacket ?? 160;
    this.totalDuration = Math.round(((options.durationMs ?? 100) * 8000) / 1000);
    if (this.totalDuration < this.step || this.totalDuration > 0xffff) throw new RangeError('DTMF duration out of range');
    this.volume = options.volume ?? 10;
    this.event = event;
    this.duration = 0;
    this.endsLeft = 3;
    this.started = false;
  }

  get busy(): boolean {
    return this.endsLeft > 0;
  }

  /** The packet for this interval, or null when no event is in progress. */
  nextPacket(): DtmfPacket | null {
    if (this.endsLeft === 0) return null;
    this.packet.marker = !this.started;
    this.started = true;
    if (this.duration < this.totalDuration) {
      this.duration = Math.min(this.duration + this.step, this.totalDuration);
    }
    const end = this.duration >= this.totalDuration;
    if (end) this.endsLeft--;
    writeTelephoneEvent(this.buffer, 0, this.event, end, this.volume, this.duration);
    return this.packet;
  }
}
