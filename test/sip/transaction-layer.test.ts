import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FakeScheduler } from './fake-scheduler.ts';
import { normalTags, RecordingChannel, request, wire, INVITE, ACK_FOR_FAILURE, OPTIONS } from './helpers.ts';
import { TransactionLayer } from '../../src/sip/transaction-layer.ts';
import type { TransactionUser } from '../../src/sip/transaction-layer.ts';
import { buildResponse } from '../../src/sip/serializer.ts';
import type { SipRequest } from '../../src/sip/message.ts';
import type { ServerTransaction } from '../../src/sip/transaction.ts';

function setup(maxTransactions?: number) {
  const clock = new FakeScheduler();
  const channel = new RecordingChannel(false, () => clock.now());
  const requests: Array<{ request: SipRequest; tx: ServerTransaction }> = [];
  const acks: SipRequest[] = [];
  const user: TransactionUser = {
    onRequest: (request, tx) => requests.push({ request, tx }),
    onAck: (ack) => acks.push(ack),
  };
  const layer = new TransactionLayer({ user, scheduler: clock, ...(maxTransactions === undefined ? {} : { maxTransactions }) });
  return { clock, channel, requests, acks, layer };
}

test('a retransmitted request is matched and absorbed, not passed up twice (§17.2.3)', () => {
  const { channel, requests, layer } = setup();
  layer.receiveRequest(request(INVITE), channel);
  layer.receiveRequest(request(INVITE), channel);
  assert.equal(requests.length, 1);
  assert.deepEqual(channel.firstLines, ['SIP/2.0 100 Trying', 'SIP/2.0 100 Trying']);
});

test('ACK to a failure is absorbed by the INVITE transaction; ACK to a 2xx goes to the TU', () => {
  const { channel, requests, acks, layer, clock } = setup();
  layer.receiveRequest(request(INVITE), channel);
  const { tx, request: invite } = requests[0]!;
  tx.respond(buildResponse(invite, 486, 'Busy Here', [], 'srv'));
  layer.receiveRequest(request(ACK_FOR_FAILURE), channel);
  assert.equal(acks.length, 0);
  assert.equal(tx.state, 'confirmed');
  clock.advance(5_000);
  assert.equal(layer.size, 0);
  const ack2xx = request(ACK_FOR_FAILURE.replace('z9hG4bKinv1', 'z9hG4bKack2'));
  layer.receiveRequest(ack2xx, channel);
  assert.equal(acks.length, 1);
});

test('a merged request (same From tag, Call-ID, CSeq, other branch) is answered 482 (§8.2.2.2)', () => {
  const { channel, requests, layer } = setup();
  layer.receiveRequest(request(INVITE), channel);
  layer.receiveRequest(request(INVITE.replace('z9hG4bKinv1', 'z9hG4bKother')), channel);
  assert.equal(requests.length, 1);
  assert.equal(normalTags(channel.sent[1]!.bytes), wire(`SIP/2.0 482 Loop Detected
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKother
From: <sip:caller@192.0.2.10>;tag=from1
To: <sip:5551000@192.0.2.1>;tag=LOCAL
Call-ID: call-1@192.0.2.10
CSeq: 1 INVITE
Content-Length: 0

`).toString());
});

test('a branch without the RFC 3261 cookie, or only the cookie, gets 400; the RFC 2543 fallback is not implemented', () => {
  const { channel, requests, layer } = setup();
  layer.receiveRequest(request(OPTIONS.replace('z9hG4bKopt1', 'old2543')), channel);
  layer.receiveRequest(request(OPTIONS.replace('z9hG4bKopt1', 'z9hG4bK')), channel);
  layer.receiveRequest(request(ACK_FOR_FAILURE.replace('z9hG4bKinv1', 'z9hG4bK')), channel); // never answered (§17.2.1)
  assert.equal(requests.length, 0);
  assert.equal(layer.size, 0);
  assert.deepEqual(channel.sent.map((s) => normalTags(s.bytes)), ['old2543', 'z9hG4bK'].map((branch) => wire(`SIP/2.0 400 Missing RFC 3261 Via Branch
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=${branch}
From: <sip:caller@192.0.2.10>;tag=from2
To: <sip:192.0.2.1>;tag=LOCAL
Call-ID: opt-1@192.0.2.10
CSeq: 7 OPTIONS
Content-Length: 0

`).toString()));
});

test('CANCEL finds the INVITE it targets by branch and sent-by (§9.2)', () => {
  const { channel, requests, layer } = setup();
  layer.receiveRequest(request(INVITE), channel);
  const cancel = request(INVITE.replace('INVITE sip', 'CANCEL sip').replace('1 INVITE', '1 CANCEL').replace(/Content-Type.*\n/, '').replace('Content-Length: 5\n\nv=0\n', 'Content-Length: 0\n\n'));
  layer.receiveRequest(cancel, channel);
  assert.equal(requests.length, 2);
  assert.equal(layer.inviteFor(cancel), requests[0]!.tx);
});

test('beyond maxTransactions new requests get a stateless 503', () => {
  const { channel, requests, layer } = setup(1);
  layer.receiveRequest(request(INVITE), channel);
  layer.receiveRequest(request(OPTIONS), channel);
  assert.equal(requests.length, 1);
  assert.equal(normalTags(channel.sent.at(-1)!.bytes), wire(`SIP/2.0 503 Service Unavailable
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKopt1
From: <sip:caller@192.0.2.10>;tag=from2
To: <sip:192.0.2.1>;tag=LOCAL
Call-ID: opt-1@192.0.2.10
CSeq: 7 OPTIONS
Retry-After: 5
Content-Length: 0

`).toString());
});

test('BYE and CANCEL may use a reserve above maxTransactions, and it is bounded too', () => {
  const { channel, requests, layer } = setup(4);
  for (let n = 1; n <= 4; n++) layer.receiveRequest(request(INVITE.replace('z9hG4bKinv1', `z9hG4bKinv${n}`).replace('call-1@', `call-${n}@`)), channel);
  const bye = (n: number) =>
    request(ACK_FOR_FAILURE.replace('ACK sip', 'BYE sip').replace('1 ACK', '2 BYE').replace('z9hG4bKinv1', `z9hG4bKbye${n}`).replace('call-1@', `call-${n}@`));
  layer.receiveRequest(request(OPTIONS), channel); // outside a dialog: refused at the cap
  assert.equal(channel.firstLines.at(-1), 'SIP/2.0 503 Service Unavailable');
  layer.receiveRequest(bye(1), channel); // inside a dialog: admitted from the reserve (4 × 1.25 = 5)
  assert.equal(requests.at(-1)!.request.method, 'BYE');
  assert.equal(layer.size, 5);
  layer.receiveRequest(bye(2), channel); // the reserve is spent too
  assert.equal(requests.length, 5);
  assert.equal(channel.firstLines.at(-1), 'SIP/2.0 503 Service Unavailable');
});

test('responses match client transactions by branch and CSeq method (§17.1.3)', () => {
  const { channel, layer } = setup();
  const options = request(OPTIONS.replace('z9hG4bKopt1', 'z9hG4bKmine'));
  const got: number[] = [];
  layer.sendRequest(options, channel, { onResponse: (r) => got.push(r.status), onFailure: () => assert.fail() });
  layer.receiveResponse(buildResponse(request(OPTIONS), 200, 'OK'));
  layer.receiveResponse(buildResponse(options, 200, 'OK'));
  assert.deepEqual(got, [200]);
});

// Property: any sequence of requests, retransmissions, ACKs, CANCELs, TU responses and clock
// advances leaves no exception, and once the clock runs out every transaction has terminated.
const methods = ['INVITE', 'OPTIONS', 'BYE', 'ACK', 'CANCEL', 'INFO'] as const;
const step = fc.oneof(
  fc.record({ kind: fc.constant('request' as const), method: fc.constantFrom(...methods), branch: fc.integer({ min: 0, max: 3 }), cseq: fc.integer({ min: 1, max: 2 }), tag: fc.boolean() }),
  fc.record({ kind: fc.constant('respond' as const), index: fc.nat(), status: fc.constantFrom(100, 180, 200, 404, 487, 503) }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 40_000 }) }),
  fc.record({ kind: fc.constant('transport' as const), failing: fc.boolean() }),
);

function raw(method: string, branch: number, cseq: number, tag: boolean): SipRequest {
  const cseqMethod = method === 'ACK' ? 'INVITE' : method;
  return request(`${method} sip:1@192.0.2.1 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK${branch}
From: <sip:a@192.0.2.10>;tag=f
To: <sip:1@192.0.2.1>${tag ? ';tag=t' : ''}
Call-ID: prop
CSeq: ${cseq} ${method === 'ACK' ? 'ACK' : cseqMethod}
Max-Forwards: 70
Content-Length: 0

`);
}

test('property: random request/retransmit/ACK/CANCEL/response sequences never throw and always terminate', () => {
  fc.assert(
    fc.property(fc.array(step, { maxLength: 60 }), fc.boolean(), (steps, reliable) => {
      const clock = new FakeScheduler();
      const channel = new RecordingChannel(reliable, () => clock.now());
      const live: ServerTransaction[] = [];
      const layer = new TransactionLayer({
        scheduler: clock,
        maxTransactions: 16,
        user: { onRequest: (_r, tx) => live.push(tx), onAck: () => undefined },
      });
      for (const s of steps) {
        if (s.kind === 'request') layer.receiveRequest(raw(s.method, s.branch, s.cseq, s.tag), channel);
        else if (s.kind === 'advance') clock.advance(s.ms);
        else if (s.kind === 'transport') channel.failing = s.failing;
        else if (live.length > 0) {
          const tx = live[s.index % live.length]!;
          tx.respond(buildResponse(tx.request, s.status, 'X', [], 'srv'));
        }
        assert.ok(layer.size <= 16);
      }
      // Every live transaction answered with a final response, then time runs out.
      channel.failing = false;
      for (const tx of live) tx.respond(buildResponse(tx.request, 500, 'X', [], 'srv'));
      clock.runAll();
      assert.equal(layer.size, 0);
      assert.equal(clock.armed, 0);
      assert.ok(live.every((tx) => tx.state === 'terminated'));
    }),
    { numRuns: 300 },
  );
});
