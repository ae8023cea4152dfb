// One call's DTMF input: RFC 4733 events, SIP INFO bodies and in-band tones, each key reported once.
//
// Paths and precedence:
// - RFC 4733 is authoritative. Once a valid telephone-event packet has been seen on the call, in-band
//   detection is switched off for the rest of the call (common practice: carriers that send RFC 4733
//   often leave the tones in the audio too, and the event stream is exact where tone detection is not).
// - INFO and RFC 4733 can both arrive for one press (some SBCs relay both). A key from one path is
//   absorbed when the same key came from another path within `crossPathWindowMs`; each reported key
//   absorbs at most one key per other path, oldest first, so fast repeats ("1 1") stay two keys.
//
// Delivery: plain mode calls onKey listeners with the code. Secure mode (routeTo(sink)) hands the
// code only to sink.pushKey and tells onSecureKey listeners the result, never the key. While a sink
// is set, every payload handed in (RTP telephone-event, audio, INFO body) is zeroed after decoding;
// INFO bodies are zeroed in both modes. Remembered codes (RFC 4733 event ring, cross-path ring) live
// in small typed arrays and are scrubbed whenever the mode changes and on close.
import type { DtmfCode, KeyPushResult, KeySink } from '../vault/types.ts';
import type { G711Codec } from './frame-source.ts';
import { InbandDtmfDetector } from './dtmf-inband.ts';
import { infoDtmfFormat, parseInfoDtmf } from './dtmf-info.ts';
import { Rfc4733Decoder, type Rfc4733Outcome } from './dtmf-rfc4733.ts';

export interface DtmfReceiverOptions {
  /** Run the Goertzel detector over received audio (off by default: it costs CPU per frame). */
  inband?: boolean;
  /** Monotonic milliseconds, for the cross-path window; injected in tests. */
  now?: () => number;
  /** Keys of one press arriving by two paths within this many ms count once (default 500). */
  crossPathWindowMs?: number;
}

export type InfoOutcome = 'key' | 'duplicate' | 'unsupported' | 'malformed' | 'closed';

const PATH_RFC4733 = 1;
const PATH_INFO = 2;
const PATH_INBAND = 4;
const RECENT = 8;
const SCRUBBED = 0xff; // a scrubbed code matches any key for dedupe

const monotonicMs = () => performance.now();

export class DtmfReceiver {
  private readonly now: () => number;
  private readonly windowMs: number;
  private readonly rfc4733: Rfc4733Decoder;
  private inband: InbandDtmfDetector | null = null;
  private rfc4733Seen = false;
  private sink: KeySink | null = null;
  private closed = false;
  private readonly keyListeners: Array<(code: DtmfCode) => void> = [];
  private readonly secureListeners: Array<(result: KeyPushResult) => void> = [];
  // Recently reported keys, for cross-path dedupe: code, path bit, time, paths already absorbed.
  private readonly recentCodes = new Uint8Array(RECENT);
  private readonly recentPaths = new Uint8Array(RECENT);
  private readonly recentTimes = new Float64Array(RECENT);
  private readonly recentAbsorbed = new Uint8Array(RECENT);
  private recentNext = 0;

  constructor(options: DtmfReceiverOptions = {}) {
    this.now = options.now ?? monotonicMs;
    this.windowMs = options.crossPathWindowMs ?? 500;
    this.rfc4733 = new Rfc4733Decoder((code) => this.deliver(code, PATH_RFC4733), { now: this.now });
    if (options.inband) this.setInband(true);
  }

  /** An RFC 4733 payload (the RTP layer has matched the negotiated telephone-event payload type). */
  telephoneEvent(payload: Uint8Array, rtpTimestamp: number, ssrc: number): Rfc4733Outcome | 'closed' {
    if (this.closed) return 'closed';
    const outcome = this.rfc4733.packet(payload, rtpTimestamp, ssrc);
    if (outcome === 'key' || outcome === 'update' || outcome === 'duplicate') this.rfc4733Seen = true;
    if (this.sink) payload.fill(0);
    return outcome;
  }

  /** One received audio payload; scanned for tones only while in-band detection applies. */
  audio(payload: Uint8Array, codec: G711Codec): void {
    if (this.closed) return;
    if (this.inband && !this.rfc4733Seen) this.inband.audio(payload, codec);
    if (this.sink) payload.fill(0);
  }

  /** A SIP INFO body. The body is always zeroed before this returns. */
  info(contentType: string, body: Uint8Array): InfoOutcome {
    try {
      if (this.closed) return 'closed';
      const format = infoDtmfFormat(contentType);
      if (!format) return 'unsupported';
      const result = parseInfoDtmf(format, body);
      if (result === 'malformed') return 'malformed';
      return this.deliver(result, PATH_INFO) ? 'key' : 'duplicate';
    } finally {
      body.fill(0);
    }
  }

  /** Plain mode listener: receives each key's RFC 4733 event code. */
  onKey(listener: (code: DtmfCode) => void): void {
    this.keyListeners.push(listener);
  }

  /** Secure mode listener: told that a key went to the sink and what the sink said, never which key. */
  onSecureKey(listener: (result: KeyPushResult) => void): void {
    this.secureListeners.push(listener);
  }

  /** Secure mode on (a sink) or off (null). Remembered codes are scrubbed on every change. */
  routeTo(sink: KeySink | null): void {
    if (this.closed) return;
    if (sink === this.sink) return;
    this.sink = sink;
    this.scrub();
  }

  /** Turns the Goertzel detector on or off for this call. */
  setInband(enabled: boolean): void {
    if (enabled && !this.inband && !this.closed) this.inband = new InbandDtmfDetector((code) => this.deliver(code, PATH_INBAND));
    if (!enabled && this.inband) {
      this.inband.reset();
      this.inband = null;
    }
  }

  /** Zeroes all state and drops listeners and sink; safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sink = null;
    this.rfc4733.reset();
    this.setInband(false);
    this.recentCodes.fill(0);
    this.recentPaths.fill(0);
    this.recentTimes.fill(0);
    this.recentAbsorbed.fill(0);
    this.keyListeners.length = 0;
    this.secureListeners.length = 0;
  }

  private scrub(): void {
    this.recentCodes.fill(SCRUBBED);
    this.rfc4733.scrub();
    this.inband?.reset();
  }

  // Returns false when the key was absorbed as the other-path twin of a key already reported.
  private deliver(code: DtmfCode, path: number): boolean {
    const now = this.now();
    let twin = -1;
    for (let i = 0; i < RECENT; i++) {
      if (this.recentPaths[i] === 0 || this.recentPaths[i] === path) continue;
      if (now - this.recentTimes[i]! > this.windowMs || (this.recentAbsorbed[i]! & path) !== 0) continue;
      if (this.recentCodes[i] !== code && this.recentCodes[i] !== SCRUBBED) continue;
      if (twin < 0 || this.recentTimes[i]! < this.recentTimes[twin]!) twin = i;
    }
    if (twin >= 0) {
      this.recentAbsorbed[twin] = this.recentAbsorbed[twin]! | path;
      return false;
    }
    const slot = this.recentNext;
    this.recentNext = (slot + 1) % RECENT;
    this.recentCodes[slot] = code;
    this.recentPaths[slot] = path;
    this.recentTimes[slot] = now;
    this.recentAbsorbed[slot] = 0;
    if (this.sink) {
      const result = this.sink.pushKey(code);
      for (const listener of this.secureListeners) listener(result);
    } else {
      for (const listener of this.keyListeners) listener(code);
    }
    return true;
  }
}
