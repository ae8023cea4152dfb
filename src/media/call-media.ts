// The per-call media facade the server uses: offer in → answer out, then re-INVITEs, hold,
// DTMF send, stats and close. It owns the call's ports, RTP session and SRTP keys.
//
// Close cascade (each step safe to repeat): session.close() (leaves the clock, closes the sockets,
// releases the port pair, zeroes SRTP contexts and packet buffers) → the negotiated SDES keys held
// here are zeroed → 'closed' is emitted once. The DtmfReceiver and FrameSource belong to the caller.
import { timingSafeEqual } from 'node:crypto';
import type { DtmfCode } from '../vault/types.ts';
import type { FrameSource } from './frame-source.ts';
import type { LatenessStats, MediaClock } from './media-clock.ts';
import type { PortPool } from './port-pool.ts';
import { bindRtpPorts, type BindError, type SocketFactory } from './rtp-ports.ts';
import { RtpSession, type DropReason, type DtmfSsrcPolicy, type LatchMode, type MediaInput, type RemoteMedia } from './rtp-session.ts';
import { negotiateOffer, wipeNegotiated, type Direction, type NegotiatedMedia, type SdpError, type SrtpPolicy } from './sdp-answer.ts';
import type { DtmfSendOptions } from './dtmf-sender.ts';
import { TypedEvents } from './typed-events.ts';

export interface MediaConfig {
  /** Address the RTP sockets bind to (default 127.0.0.1). */
  bindAddress?: string;
  /** Address written in c= when it differs from the bind address (e.g. behind 1:1 NAT). */
  advertisedAddress?: string;
  srtpPolicy?: SrtpPolicy;
  latch?: LatchMode;
  dtmfSsrc?: DtmfSsrcPolicy;
  inactivityMs?: number;
  rtcpIntervalMs?: number;
}

/** Shared by every call of the process. */
export interface MediaServices {
  pool: PortPool;
  clock: MediaClock;
  config: MediaConfig;
  socketFactory?: SocketFactory;
}

/** Per call: where audio comes from and where received media goes (the player and DtmfReceiver). */
export interface CallMediaParts {
  source: FrameSource;
  input: MediaInput;
  /** True when the INVITE arrived over TLS. */
  signallingSecure: boolean;
}

export type CallMediaError = SdpError | BindError;

export type CallMediaResult = { ok: true; media: CallMedia; answerSdp: string } | { ok: false; error: CallMediaError };
export type ReofferResult = { ok: true; answerSdp: string } | { ok: false; error: SdpError };

export interface CallMediaStats {
  packetsSent: number;
  packetsReceived: number;
  telephoneEventsReceived: number;
  rtcpReceived: number;
  dropped: number;
  droppedBy: Record<DropReason, number>;
  /** The shared clock's lateness (every call sees the same tick). */
  clockLateness: LatenessStats;
}

export interface CallMediaEvents extends Record<string, unknown> {
  /** No media from the peer for the configured time: the server should end the call. */
  inactive: { silentMs: number };
  closed: undefined;
}

function remoteOf(negotiated: NegotiatedMedia): RemoteMedia {
  const remote: RemoteMedia = {
    address: negotiated.remoteAddress,
    port: negotiated.remotePort,
    rtcpPort: negotiated.remoteRtcpPort,
    rtcpMux: negotiated.rtcpMux,
    codec: negotiated.codec,
    pt: negotiated.pt,
  };
  if (negotiated.dtmfPt !== undefined) remote.dtmfPt = negotiated.dtmfPt;
  return remote;
}

function sameKeys(a: NegotiatedMedia['srtp'], b: NegotiatedMedia['srtp']): boolean {
  if (!a || !b) return a === b;
  return a.suite === b.suite && timingSafeEqual(a.localKey, b.localKey) && timingSafeEqual(a.remoteKey, b.remoteKey);
}

let sessionIds = Math.floor(Date.now() / 1000);

export class CallMedia extends TypedEvents<CallMediaEvents> {
  private readonly session: RtpSession;
  private readonly services: MediaServices;
  private readonly signallingSecure: boolean;
  private readonly sessionId = sessionIds++;
  private sessionVersion = 1;
  private negotiated: NegotiatedMedia;
  private closed = false;

  private constructor(session: RtpSession, services: MediaServices, negotiated: NegotiatedMedia, signallingSecure: boolean) {
    super();
    this.session = session;
    this.services = services;
    this.negotiated = negotiated;
    this.signallingSecure = signallingSecure;
    session.on('inactive', (event) => this.emit('inactive', event));
  }

  /**
   * Answers an initial offer: checks it (400/488 before any port is taken), binds a port pair
   * (503 when none is free), starts the RTP session on the shared clock and returns the answer SDP.
   * The answer carries our SRTP key when SRTP was negotiated: it must never be logged.
   */
  static async answer(offer: string | Uint8Array, parts: CallMediaParts, services: MediaServices): Promise<CallMediaResult> {
    const { config } = services;
    const negotiatedOffer = negotiateOffer(offer, {
      signallingSecure: parts.signallingSecure,
      ...(config.srtpPolicy ? { srtpPolicy: config.srtpPolicy } : {}),
    });
    if (!negotiatedOffer.ok) return negotiatedOffer;
    const { plan } = negotiatedOffer;
    const bindAddress = config.bindAddress ?? '127.0.0.1';
    const bound = await bindRtpPorts(services.pool, bindAddress, services.socketFactory ? { socketFactory: services.socketFactory } : {});
    if (!bound.ok) {
      wipeNegotiated(plan.negotiated);
      return bound;
    }
    const session = new RtpSession({
      ports: bound.ports,
      clock: services.clock,
      source: parts.source,
      input: parts.input,
      remote: remoteOf(plan.negotiated),
      direction: plan.negotiated.direction,
      ...(plan.negotiated.srtp ? { srtp: plan.negotiated.srtp } : {}),
      ...(config.latch ? { latch: config.latch } : {}),
      ...(config.dtmfSsrc ? { dtmfSsrc: config.dtmfSsrc } : {}),
      ...(config.inactivityMs !== undefined ? { inactivityMs: config.inactivityMs } : {}),
      ...(config.rtcpIntervalMs !== undefined ? { rtcpIntervalMs: config.rtcpIntervalMs } : {}),
    });
    const media = new CallMedia(session, services, plan.negotiated, parts.signallingSecure);
    await session.settled(); // the sockets are connected to the peer before the answer goes out
    const answerSdp = plan.render(media.local());
    return { ok: true, media, answerSdp };
  }

  private local() {
    return {
      localAddress: this.services.config.advertisedAddress ?? this.services.config.bindAddress ?? '127.0.0.1',
      localPort: this.session.localPort,
      sessionId: this.sessionId,
      sessionVersion: this.sessionVersion,
    };
  }

  /** What was agreed, for the server's records (keys included: never log this object). */
  get current(): Readonly<NegotiatedMedia> {
    return this.negotiated;
  }

  get localPort(): number {
    return this.session.localPort;
  }

  /** Resolves once the sockets' connects to the peer have completed (see RtpSession.settled). */
  settled(): Promise<void> {
    return this.session.settled();
  }

  /**
   * Answers a re-offer (re-INVITE/UPDATE: hold, unhold, new address, refresh). On failure the
   * current session stays as it was (RFC 3264 §8: a rejected re-offer changes nothing).
   */
  answerReoffer(offer: string | Uint8Array): ReofferResult {
    if (this.closed) return { ok: false, error: { code: 'sdp-no-audio', status: 488 } };
    const result = negotiateOffer(offer, {
      signallingSecure: this.signallingSecure,
      ...(this.services.config.srtpPolicy ? { srtpPolicy: this.services.config.srtpPolicy } : {}),
      previous: this.negotiated,
    });
    if (!result.ok) return result;
    this.sessionVersion++;
    this.updateRemote(result.plan.negotiated);
    return { ok: true, answerSdp: result.plan.render(this.local()) };
  }

  /**
   * Applies a new negotiation: moves the peer (new latches), the codec and direction, and
   * rebuilds SRTP contexts only when keys changed (kept keys keep their rollover state).
   * Takes ownership of `negotiated` (its keys are zeroed when replaced or at close).
   */
  updateRemote(negotiated: NegotiatedMedia): void {
    if (this.closed) {
      wipeNegotiated(negotiated);
      return;
    }
    const previous = this.negotiated;
    const remote = remoteOf(negotiated);
    const before = remoteOf(previous);
    const moved =
      remote.address !== before.address || remote.port !== before.port || remote.rtcpPort !== before.rtcpPort ||
      remote.rtcpMux !== before.rtcpMux || remote.pt !== before.pt || remote.codec !== before.codec || remote.dtmfPt !== before.dtmfPt;
    if (moved) this.session.updateRemote(remote);
    if (!sameKeys(previous.srtp, negotiated.srtp)) this.session.setSrtp(negotiated.srtp);
    this.session.setDirection(negotiated.direction);
    this.negotiated = negotiated;
    if (previous !== negotiated) wipeNegotiated(previous);
  }

  /** Our direction: the server's own hold, or the answer's direction from a re-offer. */
  setDirection(direction: Direction): void {
    if (this.closed) return;
    this.negotiated.direction = direction;
    this.session.setDirection(direction);
  }

  /** Sends one key as RFC 4733 events (bridged or outbound legs); false when busy or not negotiated. */
  sendDtmf(code: DtmfCode, options?: DtmfSendOptions): boolean {
    return !this.closed && this.session.sendDtmf(code, options);
  }

  get stats(): CallMediaStats {
    const session = this.session.stats;
    const dropped = Object.values(session.dropped).reduce((sum, count) => sum + count, 0);
    return {
      packetsSent: session.packetsSent,
      packetsReceived: session.packetsReceived,
      telephoneEventsReceived: session.telephoneEventsReceived,
      rtcpReceived: session.rtcpReceived,
      dropped,
      droppedBy: session.dropped,
      clockLateness: this.services.clock.stats.lateness,
    };
  }

  /** Safe to call twice; see the close cascade at the top of this file. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.session.close();
    wipeNegotiated(this.negotiated);
    this.emit('closed', undefined);
    this.removeAllListeners();
  }
}
