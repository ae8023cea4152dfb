// The bench's RTP receiver: reads a classic libpcap capture of the loopback (dumpcap -P) and
// computes, per stream, what a receiver would see — loss from sequence gaps, RFC 3550 §6.4.1
// interarrival jitter — plus the sender's lateness (each packet's capture time against the
// 20 ms grid its RTP timestamp puts it on) and key-end → response latency.
// A packet captured on `lo` is timestamped as it is sent, so lateness here is send lateness.
import { readFileSync } from 'node:fs';

export interface RtpPacket {
  /** Capture time in ms (epoch-relative, microsecond resolution). */
  timeMs: number;
  srcPort: number;
  dstPort: number;
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  /** The captured payload bytes (the capture's snap length may cut it short). */
  payload: Buffer;
}

const LINKTYPE_ETHERNET = 1;
const LINKTYPE_LINUX_SLL = 113;
const LINKTYPE_LINUX_SLL2 = 276;

export interface UdpPacket {
  /** Capture time in ms (epoch-relative, microsecond resolution). */
  timeMs: number;
  srcPort: number;
  dstPort: number;
  /** The captured UDP payload (the capture's snap length may cut it short). */
  payload: Buffer;
}

/** Every IPv4/UDP packet of a classic libpcap capture (dumpcap -P). */
export function readUdpPackets(path: string): UdpPacket[] {
  const file = readFileSync(path);
  if (file.length < 24) return [];
  const magic = file.readUInt32LE(0);
  const littleEndian = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!littleEndian && file.readUInt32BE(0) !== 0xa1b2c3d4 && file.readUInt32BE(0) !== 0xa1b23c4d) {
    throw new Error(`${path}: not a libpcap file (run dumpcap with -P)`);
  }
  const nanos = (littleEndian ? magic : file.readUInt32BE(0)) === 0xa1b23c4d;
  const u32 = (at: number) => (littleEndian ? file.readUInt32LE(at) : file.readUInt32BE(at));
  const linkType = u32(20) & 0xffff;
  const linkHeader = linkType === LINKTYPE_ETHERNET ? 14 : linkType === LINKTYPE_LINUX_SLL ? 16 : linkType === LINKTYPE_LINUX_SLL2 ? 20 : -1;
  if (linkHeader < 0) throw new Error(`${path}: unsupported link type ${linkType}`);
  const packets: UdpPacket[] = [];
  let at = 24;
  while (at + 16 <= file.length) {
    const seconds = u32(at);
    const fraction = u32(at + 4);
    const captured = u32(at + 8);
    const data = at + 16;
    at = data + captured;
    if (at > file.length) break;
    const ip = data + linkHeader;
    if (captured < linkHeader + 20 + 8 || file[ip]! >> 4 !== 4 || file[ip + 9] !== 17) continue;
    const udp = ip + (file[ip]! & 0x0f) * 4;
    packets.push({
      timeMs: seconds * 1000 + (nanos ? fraction / 1e6 : fraction / 1e3),
      srcPort: file.readUInt16BE(udp),
      dstPort: file.readUInt16BE(udp + 2),
      payload: file.subarray(udp + 8, data + captured),
    });
  }
  return packets;
}

/** The UDP packets whose payload looks like RTP version 2, with their header fields. */
export function readRtpPackets(path: string): RtpPacket[] {
  const packets: RtpPacket[] = [];
  for (const udp of readUdpPackets(path)) {
    const rtp = udp.payload;
    if (rtp.length < 12 || rtp[0]! >> 6 !== 2) continue;
    packets.push({
      timeMs: udp.timeMs,
      srcPort: udp.srcPort,
      dstPort: udp.dstPort,
      marker: (rtp[1]! & 0x80) !== 0,
      payloadType: rtp[1]! & 0x7f,
      sequence: rtp.readUInt16BE(2),
      timestamp: rtp.readUInt32BE(4),
      ssrc: rtp.readUInt32BE(8),
      payload: rtp.subarray(Math.min(rtp.length, 12 + (rtp[0]! & 0x0f) * 4)),
    });
  }
  return packets;
}

export interface SipOutcomes {
  /** INVITE → 200 OK per call, sorted, in ms. */
  inviteTo200Ms: number[];
  /** Calls that got a 503 to their INVITE. */
  rejected503: number;
}

/**
 * What the callee on `sipPort` answered, on the wire, per Call-ID: the time from the first INVITE
 * sent to it to the first 200 OK for CSeq INVITE it sent back, and the 503s.
 */
export function sipOutcomes(packets: readonly UdpPacket[], sipPort: number): SipOutcomes {
  const invites = new Map<string, number>();
  const latencies: number[] = [];
  const rejected = new Set<string>();
  for (const packet of packets) {
    const text = packet.payload.toString('latin1');
    const callId = /^(?:Call-ID|i)[ \t]*:[ \t]*(\S+)/im.exec(text)?.[1];
    if (callId === undefined) continue;
    if (packet.dstPort === sipPort && text.startsWith('INVITE ')) {
      if (!invites.has(callId)) invites.set(callId, packet.timeMs);
    } else if (packet.srcPort === sipPort && text.startsWith('SIP/2.0 503')) {
      rejected.add(callId);
    } else if (packet.srcPort === sipPort && text.startsWith('SIP/2.0 200') && /^CSeq[ \t]*:[ \t]*\d+[ \t]+INVITE/im.test(text)) {
      const sent = invites.get(callId);
      if (sent !== undefined) {
        latencies.push(packet.timeMs - sent);
        invites.delete(callId);
      }
    }
  }
  return { inviteTo200Ms: latencies.sort((a, b) => a - b), rejected503: rejected.size };
}

export interface StreamFigures {
  streams: number;
  packets: number;
  /** Packets missing from sequence gaps inside each stream's captured span. */
  lost: number;
  lossPercent: number;
  /**
   * 20 ms frames never sent: RTP timestamp span ÷ 160 + 1 minus the packets seen (less the
   * sequence losses). A clock that skips slots under overload keeps sequence numbers whole, so
   * this is the audio gap a listener hears that `lost` does not show.
   */
  skippedFrames: number;
  skippedPercent: number;
  /** RFC 3550 interarrival jitter at the end of each stream, in ms. */
  jitterMs: { mean: number; max: number };
  /** Send lateness in ms: capture time minus the stream's best (earliest) time for the packet's RTP timestamp. */
  latenessMs: { p50: number; p99: number; max: number };
}

export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const SAMPLES_PER_MS = 8;

/** Audio streams (payload type `audioPt`) sent from a port `from` selects. */
export function streamFigures(packets: readonly RtpPacket[], from: (port: number) => boolean, audioPt = 0): StreamFigures {
  const streams = new Map<string, RtpPacket[]>();
  for (const packet of packets) {
    if (packet.payloadType !== audioPt || !from(packet.srcPort)) continue;
    const key = `${packet.srcPort}>${packet.dstPort}#${packet.ssrc}`;
    let list = streams.get(key);
    if (!list) streams.set(key, (list = []));
    list.push(packet);
  }
  let total = 0;
  let lost = 0;
  let skipped = 0;
  const jitters: number[] = [];
  const lateness: number[] = [];
  for (const list of streams.values()) {
    if (list.length < 2) continue;
    total += list.length;
    // Sequence numbers unwrapped from the first packet, so a wrap is not a gap.
    let highest = 0;
    let previous = list[0]!.sequence;
    let extended = 0;
    for (const packet of list.slice(1)) {
      const step = (packet.sequence - previous) & 0xffff;
      if (step === 0 || step > 0x8000) continue; // a duplicate or a late (reordered) packet
      extended += step;
      previous = packet.sequence;
      if (extended > highest) highest = extended;
    }
    const streamLost = Math.max(0, highest + 1 - list.length);
    lost += streamLost;
    const span = (list.at(-1)!.timestamp - list[0]!.timestamp) >>> 0;
    if (span < 0x80000000) skipped += Math.max(0, Math.round(span / 160) + 1 - list.length - streamLost);
    // RFC 3550 §6.4.1 / A.8: J += (|D| - J) / 16, D from arrival and RTP timestamp differences.
    let jitter = 0;
    const baseTs = list[0]!.timestamp;
    const offsets: number[] = [];
    for (let i = 0; i < list.length; i++) {
      const packet = list[i]!;
      const rtpMs = (((packet.timestamp - baseTs) >>> 0) / SAMPLES_PER_MS);
      offsets.push(packet.timeMs - rtpMs);
      if (i > 0) {
        const d = Math.abs(offsets[i]! - offsets[i - 1]!);
        jitter += (d - jitter) / 16;
      }
    }
    jitters.push(jitter);
    let best = Infinity;
    for (const offset of offsets) if (offset < best) best = offset;
    for (const offset of offsets) lateness.push(offset - best);
  }
  lateness.sort((a, b) => a - b);
  return {
    streams: jitters.length,
    packets: total,
    lost,
    lossPercent: total + lost === 0 ? 0 : (100 * lost) / (total + lost),
    skippedFrames: skipped,
    skippedPercent: total + lost + skipped === 0 ? 0 : (100 * skipped) / (total + lost + skipped),
    jitterMs: {
      mean: jitters.length === 0 ? Number.NaN : jitters.reduce((a, b) => a + b, 0) / jitters.length,
      max: jitters.length === 0 ? Number.NaN : Math.max(...jitters),
    },
    latenessMs: { p50: percentile(lateness, 0.5), p99: percentile(lateness, 0.99), max: lateness.at(-1) ?? Number.NaN },
  };
}

export interface KeyResponse {
  /** Keys (RFC 4733 events) the caller sent that the capture saw start. */
  keys: number;
  /** Keys followed by the response prompt's first packet within the capture. */
  answered: number;
  /** Of those, responses whose first packet left before the key's first end packet. */
  beforeKeyEnd: number;
  /** Key start (first RFC 4733 packet of the event) → first packet of the response prompt, in ms. */
  latencyMs: { p50: number; p99: number; max: number };
}

/** Each call's packets, by the IVR port they were sent from or to. */
function byIvrPort(packets: readonly RtpPacket[], ivrPort: (port: number) => boolean): Map<number, RtpPacket[]> {
  const byPort = new Map<number, RtpPacket[]>();
  for (const packet of packets) {
    const port = ivrPort(packet.srcPort) ? packet.srcPort : ivrPort(packet.dstPort) ? packet.dstPort : -1;
    if (port < 0) continue;
    let list = byPort.get(port);
    if (!list) byPort.set(port, (list = []));
    list.push(packet);
  }
  return byPort;
}

/** A replay of the same key's capture (same SSRC and timestamp) this long after its last packet is a new press. */
const NEW_PRESS_GAP_MS = 500;

/**
 * Tells key presses apart in one call's RFC 4733 packets: a press starts when the (SSRC,
 * timestamp) differs from the previous event packet's, or when the same capture is replayed after
 * a pause — sipp's captures reuse one timestamp per digit, so a digit pressed again looks alike.
 */
class PressTracker {
  private last: { id: string; atMs: number } | null = null;

  isNewPress(packet: RtpPacket): boolean {
    const id = `${packet.ssrc}:${packet.timestamp}`;
    const last = this.last;
    this.last = { id, atMs: packet.timeMs };
    return last === null || last.id !== id || packet.timeMs - last.atMs > NEW_PRESS_GAP_MS;
  }
}

/**
 * For each call port of the IVR: every RFC 4733 key the caller sent (payload type `eventPt`) and
 * the first packet after its start that carries the response prompt's first audible frame
 * (`responseFrame`, compared on the captured bytes; `frameOffset` frames into the prompt).
 * Timed from the key's first packet because the IVR acts on key-down (the prompt is already
 * playing when the key's end packets arrive), so key-end would give negative latencies.
 */
export function keyResponse(
  packets: readonly RtpPacket[],
  ivrPort: (port: number) => boolean,
  eventPt: number,
  responseFrame: Uint8Array,
  frameOffset: number,
): KeyResponse {
  const byPort = byIvrPort(packets, ivrPort);
  const latencies: number[] = [];
  let keys = 0;
  let beforeKeyEnd = 0;
  for (const [port, list] of byPort) {
    const presses = new PressTracker();
    let keyStart: number | null = null;
    let keyEnded = false;
    let waiting = false;
    for (const packet of list) {
      if (packet.dstPort === port && packet.payloadType === eventPt && packet.payload.length >= 4) {
        if (presses.isNewPress(packet)) {
          keys++;
          keyStart = packet.timeMs;
          keyEnded = false;
          waiting = true;
        }
        if ((packet.payload[1]! & 0x80) !== 0) keyEnded = true;
        continue;
      }
      if (waiting && keyStart !== null && packet.srcPort === port && packet.payloadType === 0 && startsWith(packet.payload, responseFrame)) {
        latencies.push(packet.timeMs - keyStart - frameOffset * 20);
        if (!keyEnded) beforeKeyEnd++;
        waiting = false;
      }
    }
  }
  latencies.sort((a, b) => a - b);
  return {
    keys,
    answered: latencies.length,
    beforeKeyEnd,
    latencyMs: { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), max: latencies.at(-1) ?? Number.NaN },
  };
}

function startsWith(payload: Buffer, frame: Uint8Array): boolean {
  const length = Math.min(payload.length, frame.length);
  if (length < 16) return false;
  for (let i = 0; i < length; i++) if (payload[i] !== frame[i]) return false;
  return true;
}

export interface ResponseTiming {
  /** Capture time of the key's first RFC 4733 packet (ms since epoch). */
  keyAtMs: number;
  /** Key start → first packet of the response prompt (its first audible frame, less the frames before it). */
  latencyMs: number;
}


/**
 * For each call port of the IVR: every time the response prompt starts (`responseFrame`, its
 * first audible frame, `frameOffset` frames in), the latest key the caller started before it
 * since the previous response — only keys with RFC 4733 event code `keyCode`, when given.
 */
export function keyResponses(
  packets: readonly RtpPacket[],
  ivrPort: (port: number) => boolean,
  eventPt: number,
  responseFrame: Uint8Array,
  frameOffset: number,
  keyCode?: number,
): ResponseTiming[] {
  const byPort = byIvrPort(packets, ivrPort);
  const timings: ResponseTiming[] = [];
  for (const [port, list] of byPort) {
    const presses = new PressTracker();
    let pendingKey: number | null = null;
    for (const packet of list) {
      if (packet.dstPort === port && packet.payloadType === eventPt && packet.payload.length >= 4) {
        if (presses.isNewPress(packet) && (keyCode === undefined || packet.payload[0] === keyCode)) pendingKey = packet.timeMs;
        continue;
      }
      if (pendingKey !== null && packet.srcPort === port && packet.payloadType === 0 && startsWith(packet.payload, responseFrame)) {
        timings.push({ keyAtMs: pendingKey, latencyMs: packet.timeMs - pendingKey - frameOffset * 20 });
        pendingKey = null;
      }
    }
  }
  return timings.sort((a, b) => a.keyAtMs - b.keyAtMs);
}
