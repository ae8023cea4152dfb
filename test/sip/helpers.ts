// Shared test helpers: raw-text SIP fixtures and a recording in-memory channel.
import assert from 'node:assert/strict';
import { parseMessage } from '../../src/sip/parser.ts';
import { serializeMessage } from '../../src/sip/serializer.ts';
import type { SipMessage, SipRequest, SipResponse } from '../../src/sip/message.ts';
import type { MessageChannel } from '../../src/sip/transaction.ts';
import type { SipLogger, Source, Target, TransportKind } from '../../src/sip/transport.ts';
import { TransportLayer } from '../../src/sip/transport-layer.ts';
import { UserAgentServer } from '../../src/sip/user-agent-server.ts';
import type { UserAgentServerOptions } from '../../src/sip/user-agent-server.ts';
import { FakeScheduler } from './fake-scheduler.ts';

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

/** Random tags and branches made comparable in wire fixtures. */
export const normalTags = (bytes: string): string =>
  bytes.replace(/tag=[0-9a-f]{16}/g, 'tag=LOCAL').replace(/branch=z9hG4bK[0-9a-f]{16}/g, 'branch=z9hG4bKLOCAL');

/**
 * The real stack — transport layer (parse, 400s, Via stamping, §18.2.2 routing) → transaction
 * layer → UAS core — over an in-memory transport of the given kind, on a fake clock. `receive`
 * takes wire bytes from 192.0.2.10:5060; `sent` keeps every datagram or stream write.
 */
export function fakeStack(kind: TransportKind, options: Partial<UserAgentServerOptions> & { logger?: SipLogger } = {}) {
  const clock = new FakeScheduler();
  const sent: Array<{ at: number; target: Target; bytes: string }> = [];
  const uas = new UserAgentServer({
    scheduler: clock,
    local: (local) => ({ kind: local, host: '192.0.2.1', port: kind === 'tls' ? 5061 : 5060 }),
    onCall: () => undefined,
    ...options,
  });
  const layer = new TransportLayer(uas, options.logger === undefined ? {} : { logger: options.logger });
  const transport = {
    kind,
    reliable: kind !== 'udp',
    local: { address: '192.0.2.1', port: kind === 'tls' ? 5061 : 5060 },
    failing: false,
    send(target: Target, data: Buffer): boolean {
      if (transport.failing) return false;
      sent.push({ at: clock.now(), target, bytes: data.toString('latin1') });
      return true;
    },
    close: async () => undefined,
  };
  layer.add(transport);
  const peer: Source = { kind, address: '192.0.2.10', port: 5060, ...(kind === 'udp' ? {} : { connectionId: 1 }) };
  const receive = (bytes: Buffer, framingError?: { reason: string }) => layer.receive(bytes, peer, framingError);
  /** What went out, tags and branches normalised. */
  const wireOut = () => sent.map((entry) => normalTags(entry.bytes));
  return { clock, uas, layer, transport, sent, receive, peer, wireOut };
}
