// SRTP and SRTCP (RFC 3711) for the two SDES suites of RFC 4568 §6.2:
// AES_CM_128_HMAC_SHA1_80 and AES_CM_128_HMAC_SHA1_32. Primitives are node:crypto's AES and
// HMAC-SHA1; this file only builds counters and indices around them (verified against RFC 3711 Appendix B).
// Key material lives in Buffer.alloc memory (never the shared pool) and is zeroed by close().
// node:crypto copies keys into OpenSSL contexts we cannot wipe; docs/media.md says so.
import { createCipheriv, createHmac, timingSafeEqual, type Cipher } from 'node:crypto';
import { newRtpHeaderView, readRtpHeader, RTP_FIXED_HEADER_BYTES } from './rtp-packet.ts';
import { readU32, writeU32 } from './byte-order.ts';

export type SrtpSuite = 'AES_CM_128_HMAC_SHA1_80' | 'AES_CM_128_HMAC_SHA1_32';
export const SRTP_SUITES: readonly SrtpSuite[] = ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'];

export const SRTP_MASTER_KEY_BYTES = 16;
export const SRTP_MASTER_SALT_BYTES = 14;
/** SDES inline key = master key || master salt (RFC 4568 §6.1). */
export const SRTP_MASTER_BYTES = SRTP_MASTER_KEY_BYTES + SRTP_MASTER_SALT_BYTES;
const AUTH_KEY_BYTES = 20;
/** SRTCP always uses an 80-bit tag, for both suites (RFC 4568 §6.2.1, §6.2.2). */
const SRTCP_TAG_BYTES = 10;
const SRTCP_INDEX_BYTES = 4;
const REPLAY_WINDOW = 64; // RFC 3711 §3.3.2: at least 64
const MAX_TRACKED_SSRCS = 4; // a peer has one stream, plus sipp-style DTMF streams; more is abuse

/** Maximum bytes protect() appends to an RTP packet. */
export const SRTP_MAX_OVERHEAD = 10;
export const SRTCP_OVERHEAD = SRTCP_INDEX_BYTES + SRTCP_TAG_BYTES;

export function srtpTagBytes(suite: SrtpSuite): number {
  return suite === 'AES_CM_128_HMAC_SHA1_80' ? 10 : 4;
}

/** §4.3.2 key derivation labels. */
const enum Label {
  RtpEncryption = 0x00,
  RtpAuthentication = 0x01,
  RtpSalt = 0x02,
  RtcpEncryption = 0x03,
  RtcpAuthentication = 0x04,
  RtcpSalt = 0x05,
}

/**
 * §4.3.1/§4.3.3 AES-CM PRF with key_derivation_rate 0 (the SDES default, so r = 0):
 * x = label<<48 XOR master_salt, output = AES-CM keystream from IV x·2^16.
 */
export function deriveSessionKey(masterKey: Uint8Array, masterSalt: Uint8Array, label: number, target: Uint8Array): void {
  const iv = Buffer.alloc(16);
  iv.set(masterSalt.subarray(0, SRTP_MASTER_SALT_BYTES), 0);
  iv[7] = iv[7]! ^ label; // key_id = label || r (48 bits of zero), right-aligned in the 112-bit salt
  const keystream = new AesCmKeystream(masterKey);
  target.fill(0);
  keystream.xor(iv, target);
  keystream.close();
  iv.fill(0);
}

/**
 * §4.1.1 AES in counter mode: block j of a packet's keystream is AES_k(IV + j). The IV's low
 * 16 bits are zero by construction (§4.1.1), so j goes in the last two bytes. AES-ECB is created once
 * per key and encrypts the counter blocks, avoiding a cipher object per packet.
 */
export class AesCmKeystream {
  private ecb: Cipher | null;
  private counters = Buffer.alloc(0);

  constructor(key: Uint8Array) {
    this.ecb = createCipheriv('aes-128-ecb', key, null);
    this.ecb.setAutoPadding(false);
  }

  /** XORs the keystream for `iv` into `data` in place. */
  xor(iv: Uint8Array, data: Uint8Array): void {
    if (!this.ecb) throw new Error('SRTP keystream used after close');
    const blocks = Math.ceil(data.length / 16);
    if (blocks > 0x10000) throw new RangeError('AES-CM segment limited to 2^16 blocks'); // §4.1.1
    if (this.counters.length < blocks * 16) this.counters = Buffer.alloc(blocks * 16);
    const counters = this.counters.subarray(0, blocks * 16);
    for (let j = 0; j < blocks; j++) {
      const at = j * 16;
      counters.set(iv, at);
      counters[at + 14] = j >>> 8;
      counters[at + 15] = j & 0xff;
    }
    const keystream = this.ecb.update(counters);
    for (let i = 0; i < data.length; i++) data[i] = data[i]! ^ keystream[i]!;
    // The keystream XOR the wire bytes is the plaintext: do not leave it in the heap.
    keystream.fill(0);
    counters.fill(0);
  }

  close(): void {
    this.ecb = null;
    this.counters.fill(0);
  }
}

interface SessionKeys {
  cipher: AesCmKeystream;
  authKey: Buffer;
  salt: Buffer;
}

/** Replay and rollover state for one SSRC in one direction (§3.3.1, §3.3.2). */
interface StreamState {
  roc: number;
  highestSeq: number;
  highestIndex: number;
  /** window[index % 64] holds the last index accepted in that slot. */
  window: Float64Array;
  /** SRTCP replay state (§3.4): highest SRTCP index and its window. */
  rtcpHighest: number;
  rtcpWindow: Float64Array;
  /** Next SRTCP index when this state is ours (sending). */
  rtcpNext: number;
}

function newStreamState(firstSeq: number): StreamState {
  return {
    roc: 0,
    highestSeq: firstSeq,
    highestIndex: -1,
    window: new Float64Array(REPLAY_WINDOW).fill(-1),
    rtcpHighest: -1,
    rtcpWindow: new Float64Array(REPLAY_WINDOW).fill(-1),
    rtcpNext: 0,
  };
}

/**
 * RFC 3711 Appendix A: guess the ROC of a packet from its sequence number and the highest one seen,
 * so a wrap (or a late packet from before a wrap) lands on the right 48-bit index.
 */
export function estimateIndex(roc: number, highestSeq: number, seq: number): { index: number; roc: number } {
  let v = roc;
  if (highestSeq < 32768) {
    if (seq - highestSeq > 32768) v = roc - 1;
  } else if (highestSeq - 32768 > seq) {
    v = roc + 1;
  }
  if (v < 0) v = 0; // before the first wrap a "late from previous ROC" guess cannot exist
  return { index: v * 65536 + seq, roc: v };
}

function replayed(window: Float64Array, highest: number, index: number): boolean {
  if (index > highest) return false;
  if (highest - index >= REPLAY_WINDOW) return true; // §3.3.2: too old to tell, so reject
  return window[index % REPLAY_WINDOW] === index;
}

function remember(window: Float64Array, index: number): void {
  window[index % REPLAY_WINDOW] = index;
}

export type SrtpError = 'malformed' | 'auth-failed' | 'replayed' | 'too-many-ssrcs' | 'closed';
export type SrtpResult = { ok: true; length: number } | { ok: false; error: SrtpError };

/**
 * One direction's crypto context (§3.2): the session keys derived from one SDES master key, plus
 * rollover/replay state per SSRC. A call has two: ours (protect) and the peer's (unprotect).
 * Protect and unprotect work in place on the caller's buffer.
 */
export class SrtpContext {
  readonly suite: SrtpSuite;
  readonly tagBytes: number;
  private readonly keyMemory: Buffer;
  private rtp: SessionKeys | null;
  private rtcp: SessionKeys | null;
  private readonly streams = new Map<number, StreamState>();
  private readonly iv = Buffer.alloc(16);
  private readonly rocBytes = Buffer.alloc(4);
  /** Filled in place for each packet: no parse object per packet on the media path. */
  private readonly header = newRtpHeaderView();

  /** `master` is the 30-byte SDES key||salt; it is not retained (kdr = 0, session keys only). */
  constructor(suite: SrtpSuite, master: Uint8Array) {
    if (master.length !== SRTP_MASTER_BYTES) throw new RangeError('SRTP master key||salt must be 30 bytes');
    this.suite = suite;
    this.tagBytes = srtpTagBytes(suite);
    const masterKey = master.subarray(0, SRTP_MASTER_KEY_BYTES);
    const masterSalt = master.subarray(SRTP_MASTER_KEY_BYTES);
    // One allocation holds every session key: 2 × (16 cipher + 20 auth + 14 salt).
    this.keyMemory = Buffer.alloc(2 * (16 + AUTH_KEY_BYTES + SRTP_MASTER_SALT_BYTES));
    const derive = (base: number, encLabel: number, authLabel: number, saltLabel: number): SessionKeys => {
      const cipherKey = this.keyMemory.subarray(base, base + 16);
      const authKey = this.keyMemory.subarray(base + 16, base + 16 + AUTH_KEY_BYTES);
      const salt = this.keyMemory.subarray(base + 16 + AUTH_KEY_BYTES, base + 16 + AUTH_KEY_BYTES + SRTP_MASTER_SALT_BYTES);
      deriveSessionKey(masterKey, masterSalt, encLabel, cipherKey);
      deriveSessionKey(masterKey, masterSalt, authLabel, authKey);
      deriveSessionKey(masterKey, masterSalt, saltLabel, salt);
      const cipher = new AesCmKeystream(cipherKey);
      cipherKey.fill(0); // OpenSSL holds its own schedule now
      return { cipher, authKey, salt };
    };
    this.rtp = derive(0, Label.RtpEncryption, Label.RtpAuthentication, Label.RtpSalt);
    this.rtcp = derive(50, Label.RtcpEncryption, Label.RtcpAuthentication, Label.RtcpSalt);
  }

  /** §4.1.1 IV = (k_s·2^16) XOR (SSRC·2^64) XOR (i·2^16). */
  private buildIv(salt: Uint8Array, ssrc: number, index: number): Buffer {
    const iv = this.iv;
    iv.fill(0);
    iv.set(salt, 0);
    iv[4] = iv[4]! ^ (ssrc >>> 24);
    iv[5] = iv[5]! ^ ((ssrc >>> 16) & 0xff);
    iv[6] = iv[6]! ^ ((ssrc >>> 8) & 0xff);
    iv[7] = iv[7]! ^ (ssrc & 0xff);
    const high = Math.floor(index / 0x100000000); // 48-bit index: top 16 bits
    const low = index >>> 0;
    iv[8] = iv[8]! ^ (high >>> 8);
    iv[9] = iv[9]! ^ (high & 0xff);
    iv[10] = iv[10]! ^ (low >>> 24);
    iv[11] = iv[11]! ^ ((low >>> 16) & 0xff);
    iv[12] = iv[12]! ^ ((low >>> 8) & 0xff);
    iv[13] = iv[13]! ^ (low & 0xff);
    return iv;
  }

  private stream(ssrc: number, seq: number): StreamState | null {
    let state = this.streams.get(ssrc);
    if (!state) {
      if (this.streams.size >= MAX_TRACKED_SSRCS) return null;
      state = newStreamState(seq);
      this.streams.set(ssrc, state);
    }
    return state;
  }

  /** §4.2 SRTP tag: HMAC-SHA1(auth_key, authenticated portion || ROC), truncated. */
  private rtpTag(keys: SessionKeys, packet: Uint8Array, roc: number): Buffer {
    writeU32(this.rocBytes, 0, roc);
    return createHmac('sha1', keys.authKey).update(packet).update(this.rocBytes).digest();
  }

  /**
   * Encrypts the payload of the plain RTP packet in buffer[0, length) and appends the tag.
   * The buffer needs tagBytes of room after `length`. Returns the SRTP length.
   */
  protectRtp(buffer: Uint8Array, length: number): SrtpResult {
    const keys = this.rtp;
    if (!keys) return { ok: false, error: 'closed' };
    if (buffer.length < length + this.tagBytes) throw new RangeError('no room for the SRTP tag');
    const header = this.header;
    if (readRtpHeader(buffer, length, header) !== null) return { ok: false, error: 'malformed' };
    const { ssrc, sequenceNumber, payloadStart } = header;
    const state = this.stream(ssrc, sequenceNumber);
    if (!state) return { ok: false, error: 'too-many-ssrcs' };
    const { index, roc } = estimateIndex(state.roc, state.highestSeq, sequenceNumber);
    if (index > state.highestIndex) {
      state.highestIndex = index;
      state.highestSeq = sequenceNumber;
      state.roc = roc;
    }
    keys.cipher.xor(this.buildIv(keys.salt, ssrc, index), buffer.subarray(payloadStart, length));
    const tag = this.rtpTag(keys, buffer.subarray(0, length), roc);
    buffer.set(tag.subarray(0, this.tagBytes), length);
    return { ok: true, length: length + this.tagBytes };
  }

  /**
   * Authenticates, replay-checks and decrypts SRTP in buffer[0, length) in place (§3.3).
   * The tag is checked before anything is decrypted or any state changes, so forged packets
   * cost one HMAC and leave the stream untouched. Returns the plain RTP length.
   */
  unprotectRtp(buffer: Uint8Array, length: number = buffer.length): SrtpResult {
    const keys = this.rtp;
    if (!keys) return { ok: false, error: 'closed' };
    const bodyLength = length - this.tagBytes;
    if (bodyLength < RTP_FIXED_HEADER_BYTES) return { ok: false, error: 'malformed' };
    const body = buffer.subarray(0, bodyLength);
    const header = this.header;
    if (readRtpHeader(body, bodyLength, header) !== null) return { ok: false, error: 'malformed' };
    const { ssrc, sequenceNumber, payloadStart } = header;
    const known = this.streams.get(ssrc);
    if (!known && this.streams.size >= MAX_TRACKED_SSRCS) return { ok: false, error: 'too-many-ssrcs' };
    const state = known ?? newStreamState(sequenceNumber);
    const { index, roc } = estimateIndex(state.roc, state.highestSeq, sequenceNumber);
    if (replayed(state.window, state.highestIndex, index)) return { ok: false, error: 'replayed' };
    const expected = this.rtpTag(keys, body, roc);
    const received = buffer.subarray(bodyLength, length);
    if (!timingSafeEqual(expected.subarray(0, this.tagBytes), received)) return { ok: false, error: 'auth-failed' };
    if (!known) this.streams.set(ssrc, state);
    remember(state.window, index);
    if (index > state.highestIndex) {
      state.highestIndex = index;
      state.highestSeq = sequenceNumber;
      state.roc = roc;
    }
    keys.cipher.xor(this.buildIv(keys.salt, ssrc, index), buffer.subarray(payloadStart, bodyLength));
    return { ok: true, length: bodyLength };
  }

  /**
   * §3.4 SRTCP: encrypts everything after the first 8 octets, appends E||SRTCP index and the
   * 80-bit tag. The buffer needs SRTCP_OVERHEAD bytes of room after `length`.
   */
  protectRtcp(buffer: Uint8Array, length: number): SrtpResult {
    const keys = this.rtcp;
    if (!keys) return { ok: false, error: 'closed' };
    if (buffer.length < length + SRTCP_OVERHEAD) throw new RangeError('no room for the SRTCP trailer');
    if (length < 8) return { ok: false, error: 'malformed' };
    const ssrc = readU32(buffer, 4);
    const state = this.stream(ssrc, 0);
    if (!state) return { ok: false, error: 'too-many-ssrcs' };
    const index = state.rtcpNext;
    state.rtcpNext = (state.rtcpNext + 1) & 0x7fffffff;
    keys.cipher.xor(this.buildIv(keys.salt, ssrc, index), buffer.subarray(8, length));
    writeU32(buffer, length, (0x80000000 | index) >>> 0); // E = 1: encrypted
    const tag = createHmac('sha1', keys.authKey).update(buffer.subarray(0, length + SRTCP_INDEX_BYTES)).digest();
    buffer.set(tag.subarray(0, SRTCP_TAG_BYTES), length + SRTCP_INDEX_BYTES);
    return { ok: true, length: length + SRTCP_OVERHEAD };
  }

  /** Authenticates, replay-checks and decrypts SRTCP in place; returns the plain RTCP length. */
  unprotectRtcp(buffer: Uint8Array, length: number = buffer.length): SrtpResult {
    const keys = this.rtcp;
    if (!keys) return { ok: false, error: 'closed' };
    const bodyLength = length - SRTCP_OVERHEAD;
    if (bodyLength < 8) return { ok: false, error: 'malformed' };
    const authenticated = buffer.subarray(0, bodyLength + SRTCP_INDEX_BYTES);
    const expected = createHmac('sha1', keys.authKey).update(authenticated).digest();
    if (!timingSafeEqual(expected.subarray(0, SRTCP_TAG_BYTES), buffer.subarray(bodyLength + SRTCP_INDEX_BYTES, length))) {
      return { ok: false, error: 'auth-failed' };
    }
    const word = readU32(buffer, bodyLength);
    const encrypted = (word & 0x80000000) !== 0;
    const index = word & 0x7fffffff;
    const ssrc = readU32(buffer, 4);
    const known = this.streams.get(ssrc);
    if (!known && this.streams.size >= MAX_TRACKED_SSRCS) return { ok: false, error: 'too-many-ssrcs' };
    const state = known ?? newStreamState(0);
    if (replayed(state.rtcpWindow, state.rtcpHighest, index)) return { ok: false, error: 'replayed' };
    if (!known) this.streams.set(ssrc, state);
    remember(state.rtcpWindow, index);
    if (index > state.rtcpHighest) state.rtcpHighest = index;
    if (encrypted) keys.cipher.xor(this.buildIv(keys.salt, ssrc, index), buffer.subarray(8, bodyLength));
    return { ok: true, length: bodyLength };
  }

  /** Zeroes every key this context holds; safe to call twice. */
  close(): void {
    this.rtp?.cipher.close();
    this.rtcp?.cipher.close();
    this.rtp = null;
    this.rtcp = null;
    this.keyMemory.fill(0);
    this.iv.fill(0);
    this.streams.clear();
  }
}
