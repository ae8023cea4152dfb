// One call's RTP: a socket pair, symmetric RTP to the negotiated peer, latching, SRTP when
// negotiated, minimal RTCP, and an inactivity check — all driven by the shared media clock
// (no timer of its own). See docs/media.md for the latching rules and why they are what they are.
import { randomFillSync } from 'node:crypto';
import type { RemoteInfo } from 'node:dgram';
import type { DtmfCode } from '../vault/types.ts';
import type { FrameSource, G711Codec } from './frame-source.ts';
import type { ClockStream, MediaClock } from './media-clock.ts';
import { MEDIA_TICK_MS } from './media-clock.ts';
import { looksLikeRtcp, newRtpHeaderView, readRtpHeader, writeRtpFixedHeader, RTP_FIXED_HEADER_BYTES } from './rtp-packet.ts';
import { parseRtcpCompound, writeReport, type ReportBlock } from './rtcp.ts';
import type { BoundPorts } from './rtp-ports.ts';
import { PeerLink } from './peer-link.ts';
import type { Direction, NegotiatedSrtp } from './sdp-answer.ts';
import { SrtpContext, SRTCP_OVERHEAD, SRTP_MAX_OVERHEAD } from './srtp.ts';
import { DtmfSender, type DtmfSendOptions } from './dtmf-sender.ts';
import { TypedEvents } from './typed-events.ts';

const SAMPLES_PER_FRAME = 160; // 20 ms at 8 kHz
const CN_PT = 13; // RFC 3389 comfort noise: counts as activity, carries nothing we use
const SEND_RING = 8; // > max catch-up + DTMF: a buffer is never rewritten while the kernel may hold it
const MAX_DATAGRAM = 1500;

/** What the session feeds with received media (DtmfReceiver implements it). */
export interface MediaInput {
  telephoneEvent(payload: Uint8Array, rtpTimestamp: number, ssrc: number): void;
  audio(payload: Uint8Array, codec: G711Codec): void;
}

export interface RemoteMedia {
  address: string;
  port: number;
  rtcpPort: number;
  rtcpMux: boolean;
  codec: G711Codec;
  pt: number;
  dtmfPt?: number;
}

/**
 * 'strict' (default): only the SDP address:port. 'same-ip': the SDP address from any port, latched
 * to the first port seen and answered there (comedia) — for peers behind port-rewriting NAT.
 */
export type LatchMode = 'strict' | 'same-ip';

/**
 * Telephone-event packets from an SSRC other than the audio one: 'one-extra' (default) accepts
 * one more SSRC for telephone-event only, from the latched address:port (sipp's play_dtmf does
 * this, with a fresh SSRC for every key: the extra SSRC moves to a new one once the previous
 * one has been quiet for EVENT_SSRC_QUIET_SLOTS); 'strict' accepts events only on the audio SSRC.
 */
export type DtmfSsrcPolicy = 'one-extra' | 'strict';

/** 60 ms: longer than the gap inside one event's packets, shorter than the pause between keys. */
const EVENT_SSRC_QUIET_SLOTS = 3;

export type DropReason =
  | 'address'
  | 'malformed'
  | 'ssrc'
  | 'payload-type'
  | 'srtp-auth'
  | 'srtp-replay'
  | 'srtp-other'
  | 'srtcp-auth'
  | 'srtcp-replay'
  | 'rtcp-malformed';

export interface RtpSessionStats {
  packetsSent: number;
  octetsSent: number;
  packetsReceived: number;
  telephoneEventsReceived: number;
  rtcpSent: number;
  rtcpReceived: number;
  sendErrors: number;
  ssrcRelatches: number;
  dropped: Record<DropReason, number>;
}

export interface RtpSessionEvents extends Record<string, unknown> {
  /** No RTP or RTCP from the peer for the configured time while we expect media. Fired once. */
  inactive: { silentMs: number };
  closed: undefined;
}

export interface RtpSessionOptions {
  ports: BoundPorts;
  clock: MediaClock;
  source: FrameSource;
  input: MediaInput;
  remote: RemoteMedia;
  direction: Direction;
  srtp?: NegotiatedSrtp;
  latch?: LatchMode;
  dtmfSsrc?: DtmfSsrcPolicy;
  /** No media for this long → 'inactive' (default 30 s; 0 turns it off). */
  inactivityMs?: number;
  /** RTCP report interval (default 5 s, RFC 3550 §6.2's minimum). */
  rtcpIntervalMs?: number;
  /** A new audio SSRC from the latched address replaces a latched one silent this long (default 2 s). */
  ssrcRelatchMs?: number;
  /** Wall clock for RTCP SR NTP timestamps (Unix ms). */
  wallClock?: () => number;
}

function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

function randomU32(): number {
  const bytes = new Uint32Array(1);
  randomFillSync(bytes);
  return bytes[0]!;
}

function emptyDrops(): Record<DropReason, number> {
  return { address: 0, malformed: 0, ssrc: 0, 'payload-type': 0, 'srtp-auth': 0, 'srtp-replay': 0, 'srtp-other': 0, 'srtcp-auth': 0, 'srtcp-replay': 0, 'rtcp-malformed': 0 };
}

/** RFC 3550 Appendix A.1/A.8 receive statistics for the latched audio SSRC, for our RR block. */
class ReceiveStats {
  private baseSeq = 0;
  private maxSeq = 0;
  private cycles = 0;
  private received = 0;
  private expectedPrior = 0;
  private receivedPrior = 0;
  private transit = 0;
  private jitter = 0;
  private started = false;
  private transitKnown = false;

  reset(): void {
    this.started = false;
    this.transitKnown = false;
    this.received = 0;
    this.expectedPrior = 0;
    this.receivedPrior = 0;
    this.jitter = 0;
  }

  /** An audio packet: its sequence number and, from its timestamp, the jitter (§6.4.1, A.8). */
  update(seq: number, rtpTimestamp: number, arrivalMs: number): void {
    this.countSequence(seq);
    const transit = arrivalMs * 8 - rtpTimestamp; // timestamp units (8 kHz)
    if (!this.transitKnown) {
      this.transitKnown = true;
      this.transit = transit;
    }
    const d = Math.abs(transit - this.transit);
    this.transit = transit;
    this.jitter += (d - this.jitter) / 16;
  }

  /**
   * A packet that takes a sequence number of the stream but whose timestamp is not its send time:
   * an RFC 4733 event on the audio SSRC carries its event's start (RFC 4733 §2.3.2), so it counts
   * as received (else every key would show as loss) but stays out of the jitter.
   */
  countSequence(seq: number): void {
    if (!this.started) {
      this.started = true;
      this.baseSeq = seq;
      this.maxSeq = seq;
      this.cycles = 0;
    }
    const delta = (seq - this.maxSeq) & 0xffff;
    if (delta > 0 && delta < 0x8000) {
      if (seq < this.maxSeq) this.cycles += 0x10000;
      this.maxSeq = seq;
    }
    this.received++;
  }

  block(ssrc: number, lastSr: number, delaySinceLastSr: number): ReportBlock | null {
    if (!this.started) return null;
    const extendedMax = this.cycles + this.maxSeq;
    const expected = extendedMax - this.baseSeq + 1;
    const expectedInterval = expected - this.expectedPrior;
    const receivedInterval = this.received - this.receivedPrior;
    this.expectedPrior = expected;
    this.receivedPrior = this.received;
    const lostInterval = expectedInterval - receivedInterval;
    const fractionLost = expectedInterval <= 0 || lostInterval <= 0 ? 0 : Math.floor((lostInterval * 256) / expectedInterval);
    return {
      ssrc,
      fractionLost: Math.min(255, fractionLost),
      cumulativeLost: expected - this.received,
      extendedHighestSeq: extendedMax >>> 0,
      jitter: Math.floor(this.jitter),
      lastSr,
      delaySinceLastSr,
    };
  }
}

export class RtpSession extends TypedEvents<RtpSessionEvents> implements ClockStream {
  readonly localSsrc = randomU32();
  private readonly ports: BoundPorts;
  private readonly rtpPeer: PeerLink;
  private readonly rtcpPeer: PeerLink;
  private readonly clock: MediaClock;
  private readonly source: FrameSource;
  private readonly input: MediaInput;
  private readonly latchMode: LatchMode;
  private readonly dtmfSsrcPolicy: DtmfSsrcPolicy;
  private readonly inactivitySlots: number;
  private readonly rtcpIntervalSlots: number;
  private readonly relatchSlots: number;
  private readonly wallClock: () => number;
  private remote: RemoteMedia;
  private direction: Direction;
  private srtpOut: SrtpContext | null = null;
  private srtpIn: SrtpContext | null = null;

  // send state: sequence and timestamp start random (RFC 3550 §5.1) and never jump backwards
  private sequence = randomU32() & 0xffff;
  private readonly timestampBase = randomU32();
  private firstSlot: number | null = null;
  private slot = 0;
  private pendingMarker = true;
  private wasSending = false;
  private readonly sendBuffers: Buffer[];
  /** Per ring buffer, the view last sent from it: audio packets all have one length, so it is reused. */
  private readonly sendViews: Buffer[];
  private sendIndex = 0;
  private readonly rtcpBuffer = Buffer.alloc(256);
  private readonly cname: Buffer;
  private readonly dtmfSender = new DtmfSender();
  private dtmfEventTimestamp = 0;
  private rtcpPhase: number;

  // receive state
  private readonly header = newRtpHeaderView();
  private latchedPort: number | null = null;
  private audioSsrc: number | null = null;
  private eventSsrc: number | null = null;
  private lastEventSlot = 0;
  private lastAudioSlot = 0;
  private lastActivitySlot: number | null = null;
  private inactiveFired = false;
  private readonly receiveStats = new ReceiveStats();
  private lastSrMiddle = 0;
  private lastSrArrivalMs = 0;

  private readonly counters: RtpSessionStats = {
    packetsSent: 0,
    octetsSent: 0,
    packetsReceived: 0,
    telephoneEventsReceived: 0,
    rtcpSent: 0,
    rtcpReceived: 0,
    sendErrors: 0,
    ssrcRelatches: 0,
    dropped: emptyDrops(),
  };
  private closed = false;

  constructor(options: RtpSessionOptions) {
    super();
    this.ports = options.ports;
    this.clock = options.clock;
    this.source = options.source;
    this.input = options.input;
    this.remote = { ...options.remote };
    this.direction = options.direction;
    this.latchMode = options.latch ?? 'strict';
    this.dtmfSsrcPolicy = options.dtmfSsrc ?? 'one-extra';
    this.inactivitySlots = Math.ceil((options.inactivityMs ?? 30_000) / MEDIA_TICK_MS);
    this.rtcpIntervalSlots = Math.max(1, Math.round((options.rtcpIntervalMs ?? 5_000) / MEDIA_TICK_MS));
    this.relatchSlots = Math.ceil((options.ssrcRelatchMs ?? 2_000) / MEDIA_TICK_MS);
    this.wallClock = options.wallClock ?? Date.now;
    // A random phase spreads a thousand calls' reports over the interval instead of one tick.
    this.rtcpPhase = randomU32() % this.rtcpIntervalSlots;
    this.cname = Buffer.alloc(16);
    this.cname.write(`tl-${this.localSsrc.toString(16).padStart(8, '0')}`, 'latin1');
    this.sendBuffers = Array.from({ length: SEND_RING }, () => Buffer.alloc(MAX_DATAGRAM));
    this.sendViews = this.sendBuffers.map((buffer) => buffer.subarray(0, 0));
    this.setSrtp(options.srtp);
    this.ports.rtp.on('message', this.onRtpSocket);
    this.ports.rtcp.on('message', this.onRtcpSocket);
    this.ports.rtp.on('error', this.onSocketError);
    this.ports.rtcp.on('error', this.onSocketError);
    this.rtpPeer = new PeerLink(this.ports.rtp, this.onSocketError);
    this.rtcpPeer = new PeerLink(this.ports.rtcp, this.onSocketError);
    this.aimPeers();
    this.clock.add(this);
  }

  get localPort(): number {
    return this.ports.lease.rtpPort;
  }

  get stats(): RtpSessionStats {
    return { ...this.counters, dropped: { ...this.counters.dropped } };
  }

  get currentDirection(): Direction {
    return this.direction;
  }

  /**
   * Restarts the inactivity count. Before the first tick the session has no slot of its own
   * yet (a packet can beat the clock), so the first tick starts the count instead.
   */
  private markActivity(): void {
    if (this.firstSlot !== null) this.lastActivitySlot = this.slot;
  }

  /**
   * Resolves once neither socket has a connect pending (they start at construction, on a
   * re-INVITE that moves the peer and when same-ip latching learns the port). The server never
   * needs it (the clock cannot tick before a connect completes); code that drives time by hand does.
   */
  settled(): Promise<void> {
    return Promise.all([this.rtpPeer.settled(), this.rtcpPeer.settled()]).then(() => undefined);
  }

  /** A re-INVITE moved the peer or changed the codec: new latches, marker on the next packet. */
  updateRemote(remote: RemoteMedia): void {
    this.remote = { ...remote };
    this.latchedPort = null;
    this.aimPeers();
    this.audioSsrc = null;
    this.eventSsrc = null;
    this.receiveStats.reset();
    this.pendingMarker = true;
    this.markActivity();
    this.inactiveFired = false;
  }

  /** Our direction from the latest answer: we send only on sendrecv/sendonly. */
  setDirection(direction: Direction): void {
    if (direction === this.direction) return;
    this.direction = direction;
    this.markActivity();
    this.inactiveFired = false;
  }

  /** Replaces both SRTP contexts (new keys in a re-INVITE), or turns SRTP off. Keys are copied. */
  setSrtp(srtp: NegotiatedSrtp | undefined): void {
    this.srtpOut?.close();
    this.srtpIn?.close();
    this.srtpOut = srtp ? new SrtpContext(srtp.suite, srtp.localKey) : null;
    this.srtpIn = srtp ? new SrtpContext(srtp.suite, srtp.remoteKey) : null;
  }

  /** Starts sending one key as RFC 4733 events in place of audio; false if busy or not negotiated. */
  sendDtmf(code: DtmfCode, options: DtmfSendOptions = {}): boolean {
    if (this.closed || this.remote.dtmfPt === undefined || this.dtmfSender.busy) return false;
    this.dtmfSender.start(code, options);
    return true;
  }

  private get sending(): boolean {
    return (this.direction === 'sendrecv' || this.direction === 'sendonly') && this.remote.port !== 0 && this.remote.address !== '0.0.0.0';
  }

  private get receiving(): boolean {
    return this.direction === 'sendrecv' || this.direction === 'recvonly';
  }

  private sendPort(rtcp: boolean): number {
    const rtpPort = this.latchedPort ?? this.remote.port;
    if (!rtcp || this.remote.rtcpMux) return rtpPort;
    return this.latchMode === 'same-ip' && this.latchedPort !== null ? this.latchedPort + 1 : this.remote.rtcpPort;
  }

  /**
   * Where each socket sends, and whether it is connected there (rtp-ports.ts PeerLink): strict
   * latching connects at once to the SDP address:port, same-ip once the port is learned; a peer on
   * hold (0.0.0.0 or port 0) leaves both sockets disconnected, and nothing is sent to it.
   */
  private aimPeers(): void {
    const reachable = this.remote.port !== 0 && this.remote.address !== '0.0.0.0';
    const known = reachable && (this.latchMode === 'strict' || this.latchedPort !== null);
    this.rtpPeer.aim(this.remote.address, this.sendPort(false), known);
    this.rtcpPeer.aim(this.remote.address, this.sendPort(true), known && !this.remote.rtcpMux);
  }

  // ---- send path (media clock) ----

  tick(slot: number): void {
    if (this.closed) return;
    this.slot = slot;
    if (this.firstSlot === null) this.firstSlot = slot;
    this.lastActivitySlot ??= slot;
    const timestamp = (this.timestampBase + (slot - this.firstSlot) * SAMPLES_PER_FRAME) >>> 0;

    const sending = this.sending;
    if (sending) {
      if (!this.wasSending) this.pendingMarker = true; // §5.1: a new talk spurt after not sending
      this.sendMediaFrame(timestamp);
    }
    this.wasSending = sending;

    if ((slot + this.rtcpPhase) % this.rtcpIntervalSlots === 0) this.sendReport(timestamp);
    this.checkInactivity(slot);
  }

  private sendMediaFrame(timestamp: number): void {
    const frame = this.source.nextFrame(this.remote.codec);
    const event = this.dtmfSender.busy && this.remote.dtmfPt !== undefined ? this.dtmfSender.nextPacket() : null;
    if (event) {
      // RFC 4733 §2.5.1.1: all packets of an event carry its start timestamp; audio is replaced.
      if (event.marker) this.dtmfEventTimestamp = timestamp;
      this.sendRtp(event.marker, this.remote.dtmfPt!, this.dtmfEventTimestamp, event.payload);
      if (!this.dtmfSender.busy) this.pendingMarker = true;
      return;
    }
    this.sendRtp(this.pendingMarker, this.remote.pt, timestamp, frame);
    this.pendingMarker = false;
  }

  private sendRtp(marker: boolean, payloadType: number, timestamp: number, payload: Uint8Array): void {
    const index = this.sendIndex;
    const buffer = this.sendBuffers[index]!;
    this.sendIndex = (index + 1) % SEND_RING;
    writeRtpFixedHeader(buffer, marker, payloadType, this.sequence, timestamp, this.localSsrc);
    buffer.set(payload, RTP_FIXED_HEADER_BYTES);
    let length = RTP_FIXED_HEADER_BYTES + payload.length;
    this.sequence = (this.sequence + 1) & 0xffff;
    if (this.srtpOut) {
      const result = this.srtpOut.protectRtp(buffer.subarray(0, length + SRTP_MAX_OVERHEAD), length);
      if (!result.ok) {
        this.counters.sendErrors++;
        return;
      }
      length = result.length;
    }
    this.counters.packetsSent++;
    this.counters.octetsSent += payload.length;
    let view = this.sendViews[index]!;
    if (view.length !== length) {
      view = buffer.subarray(0, length);
      this.sendViews[index] = view;
    }
    this.rtpPeer.send(view);
  }

  private sendReport(timestamp: number): void {
    if (this.remote.port === 0 || this.remote.address === '0.0.0.0') return;
    const now = this.clock.now();
    const delay = this.lastSrArrivalMs === 0 ? 0 : Math.floor(((now - this.lastSrArrivalMs) / 1000) * 65536);
    const block = this.audioSsrc === null ? null : this.receiveStats.block(this.audioSsrc, this.lastSrMiddle, this.lastSrMiddle ? delay : 0);
    const sender =
      this.counters.packetsSent > 0
        ? { wallClockMs: this.wallClock(), rtpTimestamp: timestamp, packetCount: this.counters.packetsSent, octetCount: this.counters.octetsSent }
        : null;
    let length = writeReport(this.rtcpBuffer, this.localSsrc, sender, block, this.cname.subarray(0, 11));
    if (this.srtpOut) {
      const result = this.srtpOut.protectRtcp(this.rtcpBuffer.subarray(0, length + SRTCP_OVERHEAD), length);
      if (!result.ok) return;
      length = result.length;
    }
    this.counters.rtcpSent++;
    (this.remote.rtcpMux ? this.rtpPeer : this.rtcpPeer).send(this.rtcpBuffer.subarray(0, length));
  }

  private checkInactivity(slot: number): void {
    if (this.inactivitySlots === 0 || this.inactiveFired || !this.receiving || this.lastActivitySlot === null) return;
    const silentSlots = slot - this.lastActivitySlot;
    if (silentSlots >= this.inactivitySlots) {
      this.inactiveFired = true;
      this.emit('inactive', { silentMs: silentSlots * MEDIA_TICK_MS });
    }
  }

  // ---- receive path ----

  private acceptsSource(rinfo: RemoteInfo, expectedPort: number, rtpSocket: boolean): boolean {
    if (normalizeAddress(rinfo.address) !== this.remote.address) return false;
    if (this.latchMode === 'strict') return rinfo.port === expectedPort;
    // same-ip: the port is learned from the first RTP packet; RTCP then comes from the port above it
    if (this.latchedPort === null) {
      if (!rtpSocket) return false;
      this.latchedPort = rinfo.port;
      this.aimPeers();
      return true;
    }
    return rinfo.port === (rtpSocket ? this.latchedPort : this.latchedPort + 1);
  }

  private drop(reason: DropReason): void {
    this.counters.dropped[reason]++;
  }

  private readonly onRtpSocket = (message: Buffer, rinfo: RemoteInfo): void => {
    if (this.closed) return;
    try {
      if (!this.acceptsSource(rinfo, this.remote.port, true)) return this.drop('address');
      if (this.remote.rtcpMux && looksLikeRtcp(message)) return this.receiveRtcp(message);
      this.receiveRtp(message);
    } finally {
      message.fill(0); // DTMF events and in-band tones were in these bytes
    }
  };

  private readonly onRtcpSocket = (message: Buffer, rinfo: RemoteInfo): void => {
    if (this.closed) return;
    try {
      if (this.remote.rtcpMux || !this.acceptsSource(rinfo, this.remote.rtcpPort, false)) return this.drop('address');
      this.receiveRtcp(message);
    } finally {
      message.fill(0);
    }
  };

  private readonly onSocketError = (): void => {
    // ICMP port unreachable (ECONNREFUSED on a connected socket) and the like: counted, never
    // fatal to the call or the process.
    this.counters.sendErrors++;
  };

  private receiveRtp(message: Buffer): void {
    let length = message.length;
    if (this.srtpIn) {
      const result = this.srtpIn.unprotectRtp(message, length);
      if (!result.ok) {
        if (result.error === 'auth-failed') return this.drop('srtp-auth');
        if (result.error === 'replayed') return this.drop('srtp-replay');
        return this.drop(result.error === 'malformed' ? 'malformed' : 'srtp-other');
      }
      length = result.length;
    }
    const packet = this.header;
    if (readRtpHeader(message, length, packet) !== null) return this.drop('malformed');
    const pt = packet.payloadType;
    const isEvent = pt === this.remote.dtmfPt;
    if (!isEvent && pt !== this.remote.pt && pt !== CN_PT) return this.drop('payload-type');

    if (isEvent) {
      if (!this.acceptEventSsrc(packet.ssrc)) return this.drop('ssrc');
    } else if (!this.acceptAudioSsrc(packet.ssrc)) {
      return this.drop('ssrc');
    }

    this.counters.packetsReceived++;
    this.markActivity();
    if (isEvent) {
      if (packet.ssrc === this.eventSsrc) this.lastEventSlot = this.slot;
      // Events on the audio stream share its sequence numbers; those of a stream of their own do not.
      if (packet.ssrc === this.audioSsrc) this.receiveStats.countSequence(packet.sequenceNumber);
      this.counters.telephoneEventsReceived++;
      this.input.telephoneEvent(message.subarray(packet.payloadStart, packet.payloadEnd), packet.timestamp, packet.ssrc);
      return;
    }
    this.lastAudioSlot = this.slot;
    this.receiveStats.update(packet.sequenceNumber, packet.timestamp, this.clock.now());
    if (pt === this.remote.pt) this.input.audio(message.subarray(packet.payloadStart, packet.payloadEnd), this.remote.codec);
  }

  /** First audio SSRC latches; another replaces it only after the latched one has gone quiet. */
  private acceptAudioSsrc(ssrc: number): boolean {
    if (this.audioSsrc === ssrc) return true;
    if (this.audioSsrc === null) {
      this.audioSsrc = ssrc;
      return true;
    }
    if (this.slot - this.lastAudioSlot >= this.relatchSlots) {
      this.audioSsrc = ssrc;
      this.receiveStats.reset();
      this.counters.ssrcRelatches++;
      return true;
    }
    return false;
  }

  private acceptEventSsrc(ssrc: number): boolean {
    if (ssrc === this.audioSsrc || ssrc === this.eventSsrc) return true;
    if (this.dtmfSsrcPolicy === 'strict') return this.audioSsrc === null ? ((this.audioSsrc = ssrc), true) : false;
    if (this.eventSsrc === null || this.slot - this.lastEventSlot >= EVENT_SSRC_QUIET_SLOTS) {
      // Still one extra stream at a time: a second SSRC while the first is sending is refused.
      this.eventSsrc = ssrc;
      return true;
    }
    return false;
  }

  private receiveRtcp(message: Buffer): void {
    let length = message.length;
    if (this.srtpIn) {
      const result = this.srtpIn.unprotectRtcp(message, length);
      if (!result.ok) {
        // e.g. baresip's plaintext PING/PONG and BYE next to its SRTCP
        if (result.error === 'auth-failed') return this.drop('srtcp-auth');
        if (result.error === 'replayed') return this.drop('srtcp-replay');
        return this.drop('rtcp-malformed');
      }
      length = result.length;
    }
    const parsed = parseRtcpCompound(message.subarray(0, length));
    if (!parsed.ok) return this.drop('rtcp-malformed');
    this.counters.rtcpReceived++;
    this.markActivity();
    if (parsed.summary.lastSr !== null) {
      this.lastSrMiddle = parsed.summary.lastSr;
      this.lastSrArrivalMs = this.clock.now();
    }
  }

  /**
   * Stops the stream, closes the sockets, returns the ports, zeroes keys and packet buffers.
   * Safe to call twice; 'closed' is emitted once.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clock.remove(this);
    this.rtpPeer.close();
    this.rtcpPeer.close();
    for (const socket of [this.ports.rtp, this.ports.rtcp]) {
      socket.off('message', this.onRtpSocket);
      socket.off('message', this.onRtcpSocket);
      try {
        socket.close();
      } catch {
        // already closed
      }
    }
    this.ports.lease.release();
    this.srtpOut?.close();
    this.srtpIn?.close();
    this.srtpOut = null;
    this.srtpIn = null;
    for (const buffer of this.sendBuffers) buffer.fill(0);
    this.rtcpBuffer.fill(0);
    this.emit('closed', undefined);
    this.removeAllListeners();
  }
}
