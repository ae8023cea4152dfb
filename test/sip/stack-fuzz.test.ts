// Property: the whole stack — transport layer → transactions → UAS core → calls — fed mutated
// torture messages, random bytes, requests inside live dialogs and answers to what we sent,
// over UDP and TCP (through the stream framer), on a fake clock with an application that
// accepts, rejects, hangs up, transfers and answers offers at random. Nothing may throw,
// the stack may never log an error (sip.dispatch-failed is how a thrown exception shows),
// and once time runs out every transaction and timer is gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { fakeStack, wire, INVITE, OPTIONS } from './helpers.ts';
import { parseMessage } from '../../src/sip/parser.ts';
import { buildResponse, serializeMessage } from '../../src/sip/serializer.ts';
import { firstHeader } from '../../src/sip/headers.ts';
import { StreamFramer } from '../../src/sip/stream-framer.ts';
import type { SipRequest, SipResponse } from '../../src/sip/message.ts';
import type { IncomingCall, SdpOffer } from '../../src/sip/incoming-call.ts';
import type { SipLogger } from '../../src/sip/transport.ts';

const TORTURE = join(import.meta.dirname, '../fixtures/sip-torture');
const seeds: Buffer[] = [
  ...readdirSync(TORTURE).filter((file) => file.endsWith('.sip')).sort().map((file) => readFileSync(join(TORTURE, file))),
  wire(INVITE),
  wire(OPTIONS),
  wire(INVITE.replace('Contact:', 'Session-Expires: 90\nAllow: INVITE, ACK, BYE\nContact:')),
];

const SDP = 'v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';

const step = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('seed' as const), seed: fc.nat(seeds.length - 1), flips: fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 4 }), cut: fc.option(fc.nat(), { nil: undefined }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ maxLength: 300 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('invite' as const), sdp: fc.boolean(), timer: fc.constantFrom('', 'Session-Expires: 90\n', 'Session-Expires: 90\nSupported: timer\n', 'Session-Expires: 30\n'), allow: fc.constantFrom('', 'Allow: INVITE, ACK, BYE\n', 'Allow: INVITE, ACK, BYE, UPDATE\n') }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('dialog' as const), method: fc.constantFrom('ACK', 'BYE', 'INFO', 'INVITE', 'UPDATE', 'NOTIFY', 'CANCEL', 'PRACK'), sdp: fc.boolean(), stale: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('respond' as const), status: fc.constantFrom(100, 180, 200, 202, 403, 481, 491, 500), sdp: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('app' as const), pick: fc.nat(), action: fc.constantFrom('accept', 'reject', 'hangup', 'transfer', 'answer-offer', 'reject-offer') }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 70_000 }) }) },
);

function run(kind: 'udp' | 'tcp', steps: ReadonlyArray<typeof step extends fc.Arbitrary<infer T> ? T : never>, infoRefusal: boolean): void {
  const errors: unknown[] = [];
  const logger: SipLogger = { info: () => undefined, warn: () => undefined, debug: () => undefined, trace: () => undefined, error: (obj, msg) => errors.push([obj, msg]) };
  const calls: IncomingCall[] = [];
  const offers: SdpOffer[] = [];
  const stack = fakeStack(kind, {
    logger,
    answerTimeoutMs: 30_000,
    onCall: (call) => {
      calls.push(call);
      call.on('reinvite', (offer) => offers.push(offer));
      call.on('info', (info) => {
        if (infoRefusal) info.refuse({ status: 415, accept: 'application/dtmf-relay' });
      });
    },
  });
  let framer = new StreamFramer();
  const deliver = (bytes: Buffer) => {
    if (kind === 'udp') return stack.receive(bytes);
    const out = framer.push(bytes);
    for (const message of out.messages) stack.receive(message);
    if (out.error !== undefined) {
      // As the TCP transport does: answer from the header section, then the connection is gone.
      if (out.error.headerSection !== undefined) stack.receive(out.error.headerSection, out.error);
      framer = new StreamFramer();
    }
  };
  const lastSent = (match: (text: string) => boolean) => {
    const entry = [...stack.sent].reverse().find((sent) => match(sent.bytes));
    if (entry === undefined) return undefined;
    const parsed = parseMessage(Buffer.from(entry.bytes, 'latin1'));
    return parsed.ok ? parsed.message : undefined;
  };
  let cseq = 100;
  let branch = 0;

  for (const s of steps) {
    switch (s.kind) {
      case 'seed': {
        const bytes = Buffer.from(seeds[s.seed]!);
        for (const [at, value] of s.flips) bytes[at % bytes.length] = value;
        deliver(s.cut === undefined ? bytes : bytes.subarray(0, s.cut % (bytes.length + 1)));
        break;
      }
      case 'random':
        deliver(Buffer.from(s.bytes));
        break;
      case 'invite': {
        // A fresh, valid INVITE: a new call the application then handles.
        const n = ++branch;
        let text = INVITE.replace('z9hG4bKinv1', `z9hG4bKnew${n}`).replace('call-1@', `call-${n}@`).replace('Contact:', `${s.timer}${s.allow}Contact:`);
        if (!s.sdp) text = text.replace('Content-Type: application/sdp\n', '').replace('Content-Length: 5\n\nv=0\n', 'Content-Length: 0\n\n');
        deliver(wire(kind === 'udp' ? text : text.replace('SIP/2.0/UDP', 'SIP/2.0/TCP')));
        break;
      }
      case 'dialog': {
        // A request inside the dialog of the last final response we sent to an INVITE.
        const final = lastSent((text) => /^SIP\/2\.0 [2-6]\d\d /.test(text) && /\r\nCSeq: \d+ INVITE\r\n/.test(text)) as SipResponse | undefined;
        if (final === undefined) break;
        const via = firstHeader(final, 'Via') ?? '';
        const inviteSeq = (firstHeader(final, 'CSeq') ?? '1').split(' ')[0];
        const seq = s.method === 'ACK' || s.method === 'CANCEL' ? inviteSeq : String(s.stale ? 1 : ++cseq);
        const body = s.sdp ? SDP : '';
        const text = [
          `${s.method} sip:5551000@192.0.2.1:5060 SIP/2.0`,
          s.method === 'CANCEL' ? `Via: ${via}` : `Via: SIP/2.0/${kind.toUpperCase()} 192.0.2.10:5060;branch=z9hG4bKfuzz${++branch};rport`,
          'Max-Forwards: 70',
          `From: ${firstHeader(final, 'From') ?? ''}`,
          `To: ${firstHeader(final, 'To') ?? ''}`,
          `Call-ID: ${firstHeader(final, 'Call-ID') ?? ''}`,
          `CSeq: ${seq} ${s.method}`,
          ...(s.method === 'NOTIFY' ? ['Event: refer', 'Subscription-State: terminated', 'Content-Type: message/sipfrag'] : []),
          ...(s.sdp && s.method !== 'NOTIFY' ? ['Content-Type: application/sdp'] : []),
          `Content-Length: ${Buffer.byteLength(s.method === 'NOTIFY' ? 'SIP/2.0 200 OK\r\n' : body)}`,
          '',
          s.method === 'NOTIFY' ? 'SIP/2.0 200 OK\r\n' : body,
        ].join('\r\n');
        deliver(Buffer.from(text, 'utf8'));
        break;
      }
      case 'respond': {
        // The peer's answer to the last request we sent (BYE, REFER, UPDATE, re-INVITE, ACK excluded).
        const ours = lastSent((text) => !text.startsWith('SIP/2.0') && !text.startsWith('ACK ')) as SipRequest | undefined;
        if (ours === undefined) break;
        const answer = buildResponse(ours, s.status, 'Fuzz', s.sdp ? [{ name: 'Content-Type', value: 'application/sdp' }] : [], 'peer');
        if (s.sdp) answer.body = Buffer.from(SDP);
        deliver(serializeMessage(answer));
        break;
      }
      case 'app': {
        if (s.action === 'answer-offer' || s.action === 'reject-offer') {
          const offer = offers[s.pick % Math.max(offers.length, 1)];
          if (s.action === 'answer-offer') offer?.answer(SDP);
          else offer?.reject();
          break;
        }
        const call = calls[s.pick % Math.max(calls.length, 1)];
        if (call === undefined) break;
        if (s.action === 'accept') call.accept(SDP);
        else if (s.action === 'reject') call.reject(486, 'Busy Here');
        else if (s.action === 'hangup') call.hangup();
        else void call.transfer('sip:agent@192.0.2.30');
        break;
      }
      case 'advance':
        stack.clock.advance(s.ms);
        break;
    }
  }
  // Everything the application left waiting is answered for it; every timer then runs out.
  stack.clock.runAll();
  assert.deepEqual(errors, []);
  assert.equal(stack.uas.transactions.size, 0);
  stack.uas.close();
  stack.clock.runAll();
  assert.equal(stack.uas.activeCalls, 0);
  assert.equal(stack.clock.armed, 0);
}

for (const kind of ['udp', 'tcp'] as const) {
  test(`property (${kind}): mutated torture messages, random bytes, dialog traffic and a random application never throw or log an error`, () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 5, maxLength: 60 }), fc.boolean(), (steps, infoRefusal) => run(kind, steps, infoRefusal)),
      { numRuns: 300 },
    );
  });
}
