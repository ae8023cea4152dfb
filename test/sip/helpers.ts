// Shared test helpers: raw-text SIP fixtures and a recording in-memory channel.
import assert from 'node:assert/strict';
import { parseMessage } from '../../src/sip/parser.ts';
import { serializeMessage } from '../../src/sip/serializer.ts';
import type { SipMessage, SipRequest, SipResponse } from '../../src/sip/message.ts';
import type { MessageChannel } from '../../src/sip/transaction.ts';
import type { Source } from '../../src/sip/transport.ts';

/** Raw fixture text written with \n line ends → wire bytes with CRLF. */
export function wire(text: string): Buffer {
  return Buffer.from(text.replace(/\r?\n/g, '\r\n'));
}

export function parse(text: string): SipMessage {
  const result = parseMessage(wire(text));
  if (!result.ok) throw new Error(`fixture does not parse: ${result.error.code} ${result.error.reason}`);
  return result.message;
}

export function request(text: string): SipRequest {
  const message = parse(text);
  assert.equal(message.kind, 'request');
  return message as SipRequest;
}

export function response(text: string): SipResponse {
  const message = parse(text);
  assert.equal(message.kind, 'response');
  return message as SipResponse;
}

export const udpPeer: Source = { kind: 'udp', address: '192.0.2.10', port: 5060 };

/** A channel that records what was sent (serialized) and when, on the given clock. */
export class RecordingChannel implements MessageChannel {
  readonly sent: Array<{ at: number; bytes: string; message: SipMessage }> = [];
  failing = false;

  constructor(
    readonly reliable: boolean,
    private readonly now: () => number = () => 0,
    readonly peer: Source = udpPeer,
  ) {}

  send(message: SipMessage): boolean {
    if (this.failing) return false;
    this.sent.push({ at: this.now(), bytes: serializeMessage(message).toString('latin1'), message });
    return true;
  }

  get times(): number[] {
    return this.sent.map((entry) => entry.at);
  }

  get firstLines(): string[] {
    return this.sent.map((entry) => entry.bytes.slice(0, entry.bytes.indexOf('\r\n')));
  }
}

export const INVITE = `INVITE sip:5551000@192.0.2.1 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKinv1
Max-Forwards: 70
From: <sip:caller@192.0.2.10>;tag=from1
To: <sip:5551000@192.0.2.1>
Call-ID: call-1@192.0.2.10
CSeq: 1 INVITE
Contact: <sip:caller@192.0.2.10:5060>
Content-Type: application/sdp
Content-Length: 5

v=0
`;

export const ACK_FOR_FAILURE = `ACK sip:5551000@192.0.2.1 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKinv1
Max-Forwards: 70
From: <sip:caller@192.0.2.10>;tag=from1
To: <sip:5551000@192.0.2.1>;tag=srv
Call-ID: call-1@192.0.2.10
CSeq: 1 ACK
Content-Length: 0

`;

export const OPTIONS = `OPTIONS sip:192.0.2.1 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKopt1
Max-Forwards: 70
From: <sip:caller@192.0.2.10>;tag=from2
To: <sip:192.0.2.1>
Call-ID: opt-1@192.0.2.10
CSeq: 7 OPTIONS
Content-Length: 0

`;
