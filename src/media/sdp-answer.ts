// RFC 3264 offer/answer for an IVR leg: one audio stream, PCMU or PCMA at 20 ms, telephone-event,
// optional SDES-SRTP (RFC 4568). Hostile offers get a coded result (400 or 488), never a throw.
// The offer and the answer carry SRTP keys in base64: neither string may ever be logged, and no
// error here quotes SDP content.
import { isIP } from 'node:net';
import { randomFillSync } from 'node:crypto';
import { parse as parseSdp, write as writeSdp } from 'sdp-transform';
import type { MediaDescription, SessionDescription } from 'sdp-transform';
import type { G711Codec } from './frame-source.ts';
import { SRTP_MASTER_BYTES, SRTP_SUITES, type SrtpSuite } from './srtp.ts';

export const SDP_MAX_BYTES = 8 * 1024;
export const SDP_MAX_MEDIA = 16;
const PTIME_MIN = 1;
const PTIME_MAX = 200; // RFC 3551 allows up to 200 ms frames in practice; beyond is hostile
const B64_KEY_CHARS = 40; // 30 bytes of key||salt, no padding

export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** Answer direction from the offer's (RFC 3264 §6.1). */
const ANSWER_DIRECTION: Record<Direction, Direction> = {
  sendrecv: 'sendrecv',
  sendonly: 'recvonly',
  recvonly: 'sendonly',
  inactive: 'inactive',
};

export type SdpErrorCode =
  | 'sdp-too-large'
  | 'sdp-malformed'
  | 'sdp-too-many-media'
  | 'sdp-no-connection'
  | 'sdp-bad-address'
  | 'sdp-bad-port'
  | 'sdp-duplicate-payload-type'
  | 'sdp-bad-ptime'
  | 'sdp-no-audio'
  | 'sdp-unsupported-transport'
  | 'sdp-no-common-codec'
  | 'sdp-srtp-required'
  | 'sdp-no-usable-crypto';

/** 400 for offers that are broken or hostile; 488 for well-formed offers we cannot accept. */
export const SDP_ERROR_STATUS: Record<SdpErrorCode, 400 | 488> = {
  'sdp-too-large': 400,
  'sdp-malformed': 400,
  'sdp-too-many-media': 400,
  'sdp-no-connection': 400,
  'sdp-bad-address': 400,
  'sdp-bad-port': 400,
  'sdp-duplicate-payload-type': 400,
  'sdp-bad-ptime': 400,
  'sdp-no-audio': 488,
  'sdp-unsupported-transport': 488,
  'sdp-no-common-codec': 488,
  'sdp-srtp-required': 488,
  'sdp-no-usable-crypto': 488,
};

export interface SdpError {
  code: SdpErrorCode;
  status: 400 | 488;
}

/** 'if-tls' (default): SRTP is required when the INVITE came over TLS, optional otherwise. */
export type SrtpPolicy = 'required' | 'if-tls' | 'optional';

export interface NegotiatedSrtp {
  suite: SrtpSuite;
  /** The peer's 30-byte master key||salt (decrypts what it sends). Owned by the holder: zero it. */
  remoteKey: Buffer;
  /** Our 30-byte master key||salt (encrypts what we send). Owned by the holder: zero it. */
  localKey: Buffer;
}

export interface NegotiatedMedia {
  codec: G711Codec;
  pt: number;
  dtmfPt?: number;
  remoteAddress: string;
  remotePort: number;
  /** Where the peer wants RTCP: the RTP port with rtcp-mux, a=rtcp's port, or RTP port + 1. */
  remoteRtcpPort: number;
  rtcpMux: boolean;
  srtp?: NegotiatedSrtp;
  /** What WE do (the answer's direction): 'sendrecv' and 'sendonly' mean we send. */
  direction: Direction;
}

export interface NegotiateOptions {
  /** True when the INVITE arrived over TLS (sips:). */
  signallingSecure: boolean;
  srtpPolicy?: SrtpPolicy;
  /**
   * The current negotiation in a re-offer: its codec is kept when still offered, and its local SRTP
   * key is kept when the suite is unchanged (no rekey on hold/unhold).
   */
  previous?: NegotiatedMedia;
}

export interface LocalMedia {
  /** Our media address for c= (the address the RTP socket is bound to or reachable at). */
  localAddress: string;
  /** Our RTP port from the port pool. */
  localPort: number;
  /** o= line; the caller bumps sessionVersion on every new answer in a dialog (RFC 3264 §8). */
  sessionId: number;
  sessionVersion: number;
}

export type AnswerOptions = NegotiateOptions & LocalMedia;

/** An accepted offer before our port is known: ports are bound only for offers we can take. */
export interface AnswerPlan {
  negotiated: NegotiatedMedia;
  /** Writes the answer SDP (it carries our SRTP key: never log it). */
  render(local: LocalMedia): string;
}

export type NegotiateResult = { ok: true; plan: AnswerPlan } | { ok: false; error: SdpError };

export type AnswerResult =
  | { ok: true; answerSdp: string; negotiated: NegotiatedMedia }
  | { ok: false; error: SdpError };

function fail(code: SdpErrorCode): { ok: false; error: SdpError } {
  return { ok: false, error: { code, status: SDP_ERROR_STATUS[code] } };
}

/** Overwrites RegExp's legacy statics (RegExp.input/$_), which keep the last matched subject. */
function scrubRegExpStatics(): void {
  /^/.exec('');
}

/** Checks raw text before handing it to the regex-based parser: size, characters, line shape, m= count. */
function precheck(text: string): SdpErrorCode | null {
  if (Buffer.byteLength(text, 'utf8') > SDP_MAX_BYTES) return 'sdp-too-large';
  if (!text.startsWith('v=0')) return 'sdp-malformed';
  let media = 0;
  let lineStart = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a) {
      lineStart = true;
      continue;
    }
    if (c < 0x20 && c !== 0x0d && c !== 0x09) return 'sdp-malformed';
    if (c === 0x7f) return 'sdp-malformed';
    if (lineStart) {
      // RFC 4566 §5: every line is <type>=<value>, type one lowercase letter.
      if (c === 0x0d) continue; // blank line
      if (c < 0x61 || c > 0x7a || text.charCodeAt(i + 1) !== 0x3d) return 'sdp-malformed';
      if (c === 0x6d && ++media > SDP_MAX_MEDIA) return 'sdp-too-many-media';
      lineStart = false;
    }
  }
  return null;
}

function validUnicastAddress(ip: string, version: number | undefined): boolean {
  const family = isIP(ip);
  if (family === 0 || family !== version) return false;
  if (family === 4) {
    const first = Number(ip.split('.')[0]);
    if (first >= 224) return false; // multicast, reserved, broadcast
    return true;
  }
  const lower = ip.toLowerCase();
  return !lower.startsWith('ff') && lower !== '::';
}

function isHoldAddress(ip: string): boolean {
  // RFC 3264 §8.4: the old RFC 2543 hold form, c=0.0.0.0.
  return ip === '0.0.0.0';
}

function validPort(port: unknown): port is number {
  return typeof port === 'number' && Number.isInteger(port) && port >= 0 && port <= 65535;
}

function payloadList(media: MediaDescription): number[] | null {
  const text = String(media.payloads ?? '').trim();
  if (text === '') return null;
  const list: number[] = [];
  for (const token of text.split(' ')) {
    if (token === '') continue;
    if (!/^\d{1,3}$/.test(token)) return null;
    const pt = Number(token);
    if (pt > 127) return null;
    list.push(pt);
  }
  return list;
}

interface CodecChoice {
  codec: G711Codec;
  pt: number;
}

const STATIC_CODECS: Record<number, G711Codec> = { 0: 'PCMU', 8: 'PCMA' };

function chooseCodecs(
  media: MediaDescription,
  payloads: number[],
  previous: NegotiatedMedia | undefined,
): { codec: CodecChoice | null; dtmfPt: number | undefined } {
  const found: CodecChoice[] = [];
  let dtmfPt: number | undefined;
  for (const pt of payloads) {
    const map = media.rtp.find((entry) => entry.payload === pt);
    // sdp-transform types fields by their look: "a=rtpmap:96 0/8000" gives a numeric codec
    const name = map ? String(map.codec).toUpperCase() : undefined;
    const rate = map ? Number(map.rate) : undefined;
    if (!map) {
      const codec = STATIC_CODECS[pt];
      if (codec) found.push({ codec, pt });
      continue;
    }
    if ((name === 'PCMU' || name === 'PCMA') && rate === 8000 && (map.encoding === undefined || map.encoding === 1)) {
      found.push({ codec: name, pt });
    } else if (name === 'TELEPHONE-EVENT' && rate === 8000 && pt >= 96 && dtmfPt === undefined) {
      dtmfPt = pt;
    }
  }
  const keep = previous ? found.find((choice) => choice.codec === previous.codec) : undefined;
  const codec = keep ?? found.find((choice) => choice.codec === 'PCMU') ?? found[0] ?? null;
  return { codec, dtmfPt };
}

function isBase64KeyChar(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f;
}

/**
 * RFC 4568 §9.1: a=crypto:<tag> <suite> inline:<key||salt>[|lifetime][|MKI:len] [session-params].
 * We take single-key lines without MKI or session parameters (KDR, UNENCRYPTED_*…), so the
 * contexts keep the defaults srtp.ts implements. The key is decoded straight into Buffer.alloc memory.
 */
function pickCrypto(media: MediaDescription): { tag: number; suite: SrtpSuite; remoteKey: Buffer } | null {
  for (const line of media.crypto ?? []) {
    const suite = SRTP_SUITES.find((name) => name === line.suite);
    if (!suite || line.sessionConfig) continue;
    if (!Number.isInteger(line.id) || line.id < 0 || line.id > 999999999) continue;
    const config = String(line.config); // numeric-looking values come back as numbers
    if (!config.startsWith('inline:') || config.includes(';')) continue;
    const params = config.slice('inline:'.length).split('|');
    if (params.length > 2) continue; // MKI present
    if (params.length === 2 && params[1]!.includes(':')) continue; // the lone parameter is an MKI
    const b64 = params[0]!;
    if (b64.length !== B64_KEY_CHARS) continue;
    let wellFormed = true;
    for (let i = 0; i < b64.length; i++) if (!isBase64KeyChar(b64.charCodeAt(i))) wellFormed = false;
    if (!wellFormed) continue;
    const remoteKey = Buffer.alloc(SRTP_MASTER_BYTES);
    if (remoteKey.write(b64, 'base64') !== SRTP_MASTER_BYTES) {
      remoteKey.fill(0);
      continue;
    }
    return { tag: line.id, suite, remoteKey };
  }
  return null;
}

function rejectedMedia(media: MediaDescription): MediaDescription {
  // RFC 3264 §6: a rejected stream keeps its m= line with port 0 and the offered formats.
  const formats = String(media.payloads ?? '').trim() || '0';
  return { type: media.type, port: 0, protocol: media.protocol, payloads: formats, rtp: [], fmtp: [] };
}

function offeredDirection(media: MediaDescription, session: SessionDescription): Direction {
  return media.direction ?? session.direction ?? 'sendrecv';
}

/** Zeroes the SRTP keys of a negotiation nobody will use (e.g. the INVITE failed after the answer). */
export function wipeNegotiated(negotiated: NegotiatedMedia): void {
  negotiated.srtp?.remoteKey.fill(0);
  negotiated.srtp?.localKey.fill(0);
}

/** Builds our answer to an offer (initial INVITE or re-INVITE) in one step. */
export function answerOffer(offer: string | Uint8Array, options: AnswerOptions): AnswerResult {
  const result = negotiateOffer(offer, options);
  if (!result.ok) return result;
  return { ok: true, answerSdp: result.plan.render(options), negotiated: result.plan.negotiated };
}

/** Checks an offer and chooses codec, DTMF, SRTP and direction, without a local port yet. */
export function negotiateOffer(offer: string | Uint8Array, options: NegotiateOptions): NegotiateResult {
  if (offer.length > SDP_MAX_BYTES * 4) return fail('sdp-too-large'); // before any decoding work
  const text = typeof offer === 'string' ? offer : Buffer.from(offer.buffer, offer.byteOffset, offer.length).toString('utf8');
  const problem = precheck(text);
  if (problem) return fail(problem);

  let session: SessionDescription;
  try {
    session = parseSdp(text);
  } catch {
    return fail('sdp-malformed');
  } finally {
    scrubRegExpStatics();
  }
  if (!Array.isArray(session.media) || session.media.length === 0) return fail('sdp-no-audio');
  try {
    return negotiateParsed(session, options);
  } catch {
    // Last line of defence: the parser hands back loosely typed objects; a shape we did not foresee
    // is a malformed offer (400), never an exception into the SIP layer.
    return fail('sdp-malformed');
  }
}

function negotiateParsed(session: SessionDescription, options: NegotiateOptions): NegotiateResult {

  const policy = options.srtpPolicy ?? 'if-tls';
  const srtpRequired = policy === 'required' || (policy === 'if-tls' && options.signallingSecure);

  let chosenIndex = -1;
  let chosen:
    | { codec: CodecChoice; dtmfPt: number | undefined; crypto: ReturnType<typeof pickCrypto>; address: string; media: MediaDescription }
    | null = null;
  let firstRefusal: SdpErrorCode | null = null;

  for (let index = 0; index < session.media.length; index++) {
    const media = session.media[index]!;
    if (typeof media.type !== 'string' || typeof media.protocol !== 'string' || !validPort(media.port)) {
      return fail(media.type === undefined ? 'sdp-malformed' : 'sdp-bad-port');
    }
    const payloads = payloadList(media);
    if (!payloads) return fail('sdp-malformed');
    if (new Set(payloads).size !== payloads.length) return fail('sdp-duplicate-payload-type');
    const mapped = media.rtp.map((entry) => entry.payload);
    if (new Set(mapped).size !== mapped.length) return fail('sdp-duplicate-payload-type');
    const connection = media.connection ?? session.connection;
    if (!connection) return fail('sdp-no-connection'); // §5.7: c= must come at session level or in every m=
    if (!isHoldAddress(connection.ip) && !validUnicastAddress(connection.ip, connection.version)) return fail('sdp-bad-address');
    if (media.ptime !== undefined) {
      const ptime = Number(media.ptime);
      if (!Number.isInteger(ptime) || ptime < PTIME_MIN || ptime > PTIME_MAX) return fail('sdp-bad-ptime');
    }
    if (media.rtcp && (!validPort(media.rtcp.port) || media.rtcp.port === 0)) return fail('sdp-bad-port');

    if (chosen || media.type !== 'audio' || media.port === 0) continue;
    if (media.protocol !== 'RTP/AVP' && media.protocol !== 'RTP/SAVP') {
      firstRefusal ??= 'sdp-unsupported-transport'; // e.g. DTLS-SRTP (UDP/TLS/RTP/SAVP): not for SIP trunks
      continue;
    }
    const { codec, dtmfPt } = chooseCodecs(media, payloads, options.previous);
    if (!codec) {
      firstRefusal ??= 'sdp-no-common-codec';
      continue;
    }
    let crypto: ReturnType<typeof pickCrypto> = null;
    if (media.protocol === 'RTP/SAVP') {
      crypto = pickCrypto(media);
      if (!crypto) {
        firstRefusal ??= 'sdp-no-usable-crypto';
        continue;
      }
    } else if (srtpRequired) {
      firstRefusal ??= 'sdp-srtp-required';
      continue;
    }
    chosen = { codec, dtmfPt, crypto, address: connection.ip, media };
    chosenIndex = index;
  }

  if (!chosen) {
    const hasAudio = session.media.some((media) => media.type === 'audio' && media.port !== 0);
    return fail(firstRefusal ?? (hasAudio ? 'sdp-no-common-codec' : 'sdp-no-audio'));
  }

  const { media, codec, dtmfPt, crypto, address } = chosen;
  let offered = offeredDirection(media, session);
  if (isHoldAddress(address)) {
    // §8.4: c=0.0.0.0 means "do not send to me", whatever the attribute says.
    offered = offered === 'sendrecv' || offered === 'sendonly' ? 'sendonly' : 'inactive';
  }
  const direction = ANSWER_DIRECTION[offered];
  const rtcpMux = media.rtcpMux === 'rtcp-mux';
  const remoteRtcpPort = rtcpMux ? media.port : (media.rtcp?.port ?? media.port + 1);

  let srtp: NegotiatedSrtp | undefined;
  if (crypto) {
    const localKey = Buffer.alloc(SRTP_MASTER_BYTES);
    const reuse = options.previous?.srtp;
    if (reuse && reuse.suite === crypto.suite) localKey.set(reuse.localKey);
    else randomFillSync(localKey);
    srtp = { suite: crypto.suite, remoteKey: crypto.remoteKey, localKey };
  }

  const negotiated: NegotiatedMedia = {
    codec: codec.codec,
    pt: codec.pt,
    remoteAddress: address,
    remotePort: media.port,
    remoteRtcpPort,
    rtcpMux,
    direction,
  };
  if (dtmfPt !== undefined) negotiated.dtmfPt = dtmfPt;
  if (srtp) negotiated.srtp = srtp;
  const render = (local: LocalMedia): string => {
    const pts = dtmfPt === undefined ? [codec.pt] : [codec.pt, dtmfPt];
    const rtp: MediaDescription['rtp'] = [{ payload: codec.pt, codec: codec.codec, rate: 8000 }];
    const fmtp: MediaDescription['fmtp'] = [];
    if (dtmfPt !== undefined) {
      rtp.push({ payload: dtmfPt, codec: 'telephone-event', rate: 8000 });
      fmtp.push({ payload: dtmfPt, config: '0-15' }); // RFC 4733 §7.1.1: DTMF digits only
    }
    const accepted: MediaDescription = {
      type: 'audio',
      port: local.localPort,
      protocol: media.protocol,
      payloads: pts.join(' '),
      rtp,
      fmtp,
      ptime: 20,
      direction,
    };
    if (rtcpMux) accepted.rtcpMux = 'rtcp-mux';
    // unavoidable: SDES carries the key in the SDP text (RFC 4568 §6.1)
    if (crypto && srtp) accepted.crypto = [{ id: crypto.tag, suite: crypto.suite, config: `inline:${srtp.localKey.toString('base64')}` }];

    const ipVer = isIP(local.localAddress) === 6 ? 6 : 4;
    const answer: SessionDescription = {
      version: 0,
      origin: {
        username: 'traceless',
        sessionId: local.sessionId,
        sessionVersion: local.sessionVersion,
        netType: 'IN',
        ipVer,
        address: local.localAddress,
      },
      name: '-',
      connection: { version: ipVer, ip: local.localAddress },
      timing: { start: 0, stop: 0 },
      media: session.media.map((offered, index) => (index === chosenIndex ? accepted : rejectedMedia(offered))),
    };
    const answerSdp = writeSdp(answer);
    scrubRegExpStatics();
    return answerSdp;
  };
  return { ok: true, plan: { negotiated, render } };
}
