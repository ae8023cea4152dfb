// One call's DTMF input: RFC 4733 events, SIP INFO bodies and in-band tones, each key reported once.
import type { DtmfCode, KeyPushResult, KeySink } from '../vault/types.ts';
import type { G711Codec } from './frame-source.ts';

export interface DtmfReceiverOptions {
  /** Run the Goertzel detector over received audio (off by default: it costs CPU per frame). */
  inband?: boolean;
  /** Monotonic milliseconds, for the cross-path window; injected in tests. */
  now?: () => number;
}

export class DtmfReceiver {
  constructor(_options: DtmfReceiverOptions = {}) {}
  telephoneEvent(_payload: Uint8Array, _rtpTimestamp: number, _ssrc: number): void {}
  audio(_payload: Uint8Array, _codec: G711Codec): void {}
  info(_contentType: string, _body: Uint8Array): void {}
  onKey(_listener: (code: DtmfCode) => void): void {}
  onSecureKey(_listener: (result: KeyPushResult) => void): void {}
  routeTo(_sink: KeySink | null): void {}
  setInband(_enabled: boolean): void {}
  close(): void {}
}
