// Minimal RTCP (RFC 3550 §6): one compound packet — SR or RR with at most one report block, then
// SDES CNAME (§6.1 requires it in every compound packet) — and a validity check for what arrives.
import { readU32, writeU32 } from './byte-order.ts';

export const RTCP_SR = 200;
export const RTCP_RR = 201;
export const RTCP_SDES = 202;
export const RTCP_BYE = 203;
export const RTCP_APP = 204;

/** Seconds from 1900 (NTP era 0) to 1970. */
const NTP_UNIX_OFFSET = 2_208_988_800;

export interface ReportBlock {
  ssrc: number;
  /** Fraction lost since the last report, 0-255 (§6.4.1). */
  fractionLost: number;
  /** Cumulative packets lost, 24-bit signed. */
  cumulativeLost: number;
  extendedHighestSeq: number;
  jitter: number;
  /** Middle 32 bits of the last SR's NTP timestamp, 0 if none. */
  lastSr: number;
  /** Delay since that SR in 1/65536 s, 0 if none. */
  delaySinceLastSr: number;
}

export interface SenderInfo {
  /** Wall-clock time of the report in Unix milliseconds. */
  wallClockMs: number;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
}

/** NTP timestamp (§4) of a Unix millisecond time: [seconds, fraction]. */
export function ntpTimestamp(unixMs: number): [number, number] {
  const seconds = Math.floor(unixMs / 1000) + NTP_UNIX_OFFSET;
  const fraction = Math.floor(((unixMs % 1000) / 1000) * 0x100000000);
  return [seconds >>> 0, fraction >>> 0];
}

/** The middle 32 bits of an NTP timestamp, as LSR carries it (§6.4.1). */
export function ntpMiddle(seconds: number, fraction: number): number {
  return (((seconds & 0xffff) << 16) | (fraction >>> 16)) >>> 0;
}

/**
 * Writes SR (when `sender` is given) or RR, plus SDES CNAME, into `target`; returns the length.
 * `target` must hold 8 + 20 + 24 + 8 + cname + 4 bytes (≈ 80 for a short CNAME).
 */
export function writeReport(
  target: Uint8Array,
  ssrc: number,
  sender: SenderInfo | null,
  block: ReportBlock | null,
  cname: Uint8Array,
): number {
  const blocks = block ? 1 : 0;
  const type = sender ? RTCP_SR : RTCP_RR;
  const words = 1 + (sender ? 5 : 0) + blocks * 6; // length in 32-bit words minus one (§6.4.1)
  target[0] = 0x80 | blocks;
  target[1] = type;
  target[2] = words >>> 8;
  target[3] = words & 0xff;
  writeU32(target, 4, ssrc);
  let offset = 8;
  if (sender) {
    const [seconds, fraction] = ntpTimestamp(sender.wallClockMs);
    writeU32(target, offset, seconds);
    writeU32(target, offset + 4, fraction);
    writeU32(target, offset + 8, sender.rtpTimestamp >>> 0);
    writeU32(target, offset + 12, sender.packetCount >>> 0);
    writeU32(target, offset + 16, sender.octetCount >>> 0);
    offset += 20;
  }
  if (block) {
    writeU32(target, offset, block.ssrc);
    const lost = Math.max(-0x800000, Math.min(0x7fffff, block.cumulativeLost)) & 0xffffff;
    writeU32(target, offset + 4, ((block.fractionLost & 0xff) << 24) | lost);
    writeU32(target, offset + 8, block.extendedHighestSeq >>> 0);
    writeU32(target, offset + 12, block.jitter >>> 0);
    writeU32(target, offset + 16, block.lastSr >>> 0);
    writeU32(target, offset + 20, block.delaySinceLastSr >>> 0);
    offset += 24;
  }
  // SDES: one chunk, CNAME item, terminated by a null item and padded to 32 bits (§6.5).
  const sdesStart = offset;
  const cnameLength = Math.min(cname.length, 255);
  const chunkBytes = 4 + 2 + cnameLength + 1;
  const padded = Math.ceil(chunkBytes / 4) * 4;
  target[offset] = 0x81;
  target[offset + 1] = RTCP_SDES;
  const sdesWords = padded / 4;
  target[offset + 2] = sdesWords >>> 8;
  target[offset + 3] = sdesWords & 0xff;
  writeU32(target, offset + 4, ssrc);
  target[offset + 8] = 1; // CNAME
  target[offset + 9] = cnameLength;
  target.set(cname.subarray(0, cnameLength), offset + 10);
  target.fill(0, offset + 10 + cnameLength, sdesStart + 4 + padded);
  return sdesStart + 4 + padded;
}

export type RtcpParseError = 'too-short' | 'bad-version' | 'bad-first-type' | 'bad-length' | 'padding-not-last';

export interface RtcpSummary {
  senderSsrc: number;
  /** From an SR: the NTP middle 32 bits, for LSR in our next report. */
  lastSr: number | null;
}

/**
 * RFC 3550 Appendix A.2 validity check on a compound packet: V=2, no padding on the first packet,
 * and the lengths adding up to the datagram exactly. A.2 also wants SR or RR first; we accept any
 * RTCP type (200-204) first, because libre/baresip sends lone APP keep-alives.
 */
export function parseRtcpCompound(bytes: Uint8Array): { ok: true; summary: RtcpSummary } | { ok: false; error: RtcpParseError } {
  if (bytes.length < 8) return { ok: false, error: 'too-short' };
  const firstType = bytes[1]!;
  if ((bytes[0]! & 0xe0) !== 0x80) return { ok: false, error: (bytes[0]! >>> 6) !== 2 ? 'bad-version' : 'padding-not-last' };
  if (firstType < RTCP_SR || firstType > RTCP_APP) return { ok: false, error: 'bad-first-type' };
  let offset = 0;
  let lastSr: number | null = null;
  while (offset < bytes.length) {
    if (offset + 4 > bytes.length) return { ok: false, error: 'bad-length' };
    if (bytes[offset]! >>> 6 !== 2) return { ok: false, error: 'bad-version' };
    const length = (((bytes[offset + 2]! << 8) | bytes[offset + 3]!) + 1) * 4;
    const end = offset + length;
    if (end > bytes.length) return { ok: false, error: 'bad-length' };
    if ((bytes[offset]! & 0x20) !== 0 && end !== bytes.length) return { ok: false, error: 'padding-not-last' };
    if (bytes[offset + 1] === RTCP_SR && length >= 28) lastSr = ntpMiddle(readU32(bytes, offset + 8), readU32(bytes, offset + 12));
    offset = end;
  }
  return { ok: true, summary: { senderSsrc: readU32(bytes, 4), lastSr } };
}
