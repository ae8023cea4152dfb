// RTP fixed header, CSRC list, header extension and padding (RFC 3550 §5.1, §5.3.1).
// Parsing never throws: outside input gets a result code. Payload and extension are views
// into the caller's bytes (zero-copy); they are valid only while the caller keeps those bytes.
import { readU32, writeU32 } from './byte-order.ts';

export const RTP_VERSION = 2;
export const RTP_FIXED_HEADER_BYTES = 12;

export interface RtpHeaderExtension {
  /** "defined by profile" 16-bit field (RFC 3550 §5.3.1). */
  profile: number;
  /** Extension body, a multiple of 4 bytes; a view into the parsed bytes. */
  data: Uint8Array;
}

export interface RtpPacket {
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  csrcs: number[];
  extension: RtpHeaderExtension | null;
  /** A view into the parsed bytes. */
  payload: Uint8Array;
  /** Padding octets at the end (including the count octet itself), 0 when the P bit is clear. */
  paddingLength: number;
}

export type RtpParseError =
  | 'too-short' // fewer than 12 bytes
  | 'bad-version' // V != 2
  | 'csrc-truncated' // CC says more CSRCs than bytes remain
  | 'extension-truncated' // X set but the extension header or body is cut off
  | 'bad-padding'; // P set with a count of 0 or one that eats into the header

export type RtpParseResult = { ok: true; packet: RtpPacket } | { ok: false; error: RtpParseError };

/**
 * Where one packet's parts lie, filled in place by readRtpHeader: the receive path reuses one
 * per session instead of building a packet object (and its CSRC array) for every datagram.
 */
export interface RtpHeaderView {
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  csrcCount: number;
  /** Offset of the header extension's 4-byte header, or -1 when the X bit is clear. */
  extensionAt: number;
  payloadStart: number;
  payloadEnd: number;
  paddingLength: number;
}

export function newRtpHeaderView(): RtpHeaderView {
  return { marker: false, payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0, csrcCount: 0, extensionAt: -1, payloadStart: 0, payloadEnd: 0, paddingLength: 0 };
}

/**
 * Checks the first `length` bytes as an RTP packet and fills `out`; returns null when valid, else
 * the error (and `out` is then meaningless). Allocates nothing.
 */
export function readRtpHeader(bytes: Uint8Array, length: number, out: RtpHeaderView): RtpParseError | null {
  if (length < RTP_FIXED_HEADER_BYTES) return 'too-short';
  const first = bytes[0]!;
  if (first >>> 6 !== RTP_VERSION) return 'bad-version';
  const csrcCount = first & 0x0f;
  let offset = RTP_FIXED_HEADER_BYTES + csrcCount * 4;
  if (offset > length) return 'csrc-truncated';
  let extensionAt = -1;
  if ((first & 0x10) !== 0) {
    if (offset + 4 > length) return 'extension-truncated';
    const words = (bytes[offset + 2]! << 8) | bytes[offset + 3]!;
    const end = offset + 4 + words * 4;
    if (end > length) return 'extension-truncated';
    extensionAt = offset;
    offset = end;
  }
  let paddingLength = 0;
  if ((first & 0x20) !== 0) {
    // §5.1: the last octet counts the padding octets, itself included.
    paddingLength = bytes[length - 1]!;
    if (paddingLength === 0 || length - paddingLength < offset) return 'bad-padding';
  }
  const second = bytes[1]!;
  out.marker = (second & 0x80) !== 0;
  out.payloadType = second & 0x7f;
  out.sequenceNumber = (bytes[2]! << 8) | bytes[3]!;
  out.timestamp = readU32(bytes, 4);
  out.ssrc = readU32(bytes, 8);
  out.csrcCount = csrcCount;
  out.extensionAt = extensionAt;
  out.payloadStart = offset;
  out.payloadEnd = length - paddingLength;
  out.paddingLength = paddingLength;
  return null;
}

export function parseRtp(bytes: Uint8Array): RtpParseResult {
  const view = newRtpHeaderView();
  const error = readRtpHeader(bytes, bytes.length, view);
  if (error !== null) return { ok: false, error };
  const csrcs: number[] = [];
  for (let i = 0; i < view.csrcCount; i++) csrcs.push(readU32(bytes, RTP_FIXED_HEADER_BYTES + i * 4));
  let extension: RtpHeaderExtension | null = null;
  if (view.extensionAt >= 0) {
    const at = view.extensionAt;
    extension = { profile: (bytes[at]! << 8) | bytes[at + 1]!, data: bytes.subarray(at + 4, view.payloadStart) };
  }
  return {
    ok: true,
    packet: {
      marker: view.marker,
      payloadType: view.payloadType,
      sequenceNumber: view.sequenceNumber,
      timestamp: view.timestamp,
      ssrc: view.ssrc,
      csrcs,
      extension,
      payload: bytes.subarray(view.payloadStart, view.payloadEnd),
      paddingLength: view.paddingLength,
    },
  };
}

/** The fields the hot send path sets; everything else in the fixed header is fixed. */
export interface RtpHeaderFields {
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
}

/** Writes a 12-byte header (V=2, no padding, no extension, no CSRCs) for the send path. */
export function writeRtpHeader(target: Uint8Array, fields: RtpHeaderFields): number {
  return writeRtpFixedHeader(target, fields.marker, fields.payloadType, fields.sequenceNumber, fields.timestamp, fields.ssrc);
}

/** writeRtpHeader with the fields as arguments: the per-packet send path builds no object. */
export function writeRtpFixedHeader(target: Uint8Array, marker: boolean, payloadType: number, sequenceNumber: number, timestamp: number, ssrc: number): number {
  target[0] = RTP_VERSION << 6;
  target[1] = (marker ? 0x80 : 0) | (payloadType & 0x7f);
  target[2] = (sequenceNumber >>> 8) & 0xff;
  target[3] = sequenceNumber & 0xff;
  writeU32(target, 4, timestamp >>> 0);
  writeU32(target, 8, ssrc >>> 0);
  return RTP_FIXED_HEADER_BYTES;
}

export function rtpSerializedLength(packet: RtpPacket): number {
  const extensionBytes = packet.extension ? 4 + packet.extension.data.length : 0;
  return RTP_FIXED_HEADER_BYTES + packet.csrcs.length * 4 + extensionBytes + packet.payload.length + packet.paddingLength;
}

/**
 * Serializes a full packet (CSRCs, extension, padding) into a fresh zeroed buffer. Throws on a packet
 * our own code built wrongly (programming error), never on outside input, which only goes through parseRtp.
 */
export function serializeRtp(packet: RtpPacket): Uint8Array {
  if (packet.csrcs.length > 15) throw new RangeError('RTP allows at most 15 CSRCs');
  if (packet.extension && packet.extension.data.length % 4 !== 0) throw new RangeError('RTP extension must be whole 32-bit words');
  if (packet.paddingLength < 0 || packet.paddingLength > 255) throw new RangeError('RTP padding must be 0-255 octets');
  const out = new Uint8Array(rtpSerializedLength(packet));
  writeRtpHeader(out, packet);
  out[0] = (RTP_VERSION << 6) | (packet.paddingLength > 0 ? 0x20 : 0) | (packet.extension ? 0x10 : 0) | packet.csrcs.length;
  let offset = RTP_FIXED_HEADER_BYTES;
  for (const csrc of packet.csrcs) {
    writeU32(out, offset, csrc);
    offset += 4;
  }
  if (packet.extension) {
    out[offset] = packet.extension.profile >>> 8;
    out[offset + 1] = packet.extension.profile & 0xff;
    const words = packet.extension.data.length / 4;
    out[offset + 2] = words >>> 8;
    out[offset + 3] = words & 0xff;
    out.set(packet.extension.data, offset + 4);
    offset += 4 + packet.extension.data.length;
  }
  out.set(packet.payload, offset);
  if (packet.paddingLength > 0) out[out.length - 1] = packet.paddingLength;
  return out;
}

/**
 * RFC 5761 §4: with rtcp-mux, a second octet of 192-223 (PT 64-95 with the marker set) is RTCP.
 */
export function looksLikeRtcp(bytes: Uint8Array): boolean {
  const second = bytes[1];
  return bytes.length >= 8 && second !== undefined && second >= 192 && second <= 223;
}
