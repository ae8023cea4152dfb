// The contract between audio producers (player, silence) and the RTP sender on the media clock.

export type G711Codec = 'PCMU' | 'PCMA';

/** One G.711 frame is 20 ms at 8 kHz: 160 samples, one byte each (RFC 3551 §4.5.14). */
export const FRAME_SAMPLES = 160;
export const FRAME_MS = 20;

export interface FrameSource {
  /**
   * The next 20 ms of audio in the given codec: exactly 160 bytes. The bytes are shared and
   * immutable (pre-encoded prompt data); the caller copies them into its packet and never writes them.
   */
  nextFrame(codec: G711Codec): Uint8Array;
}
