import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeScheduler } from './fake-scheduler.ts';
import { RecordingChannel, request, response, INVITE, ACK_FOR_FAILURE, OPTIONS, wire } from './helpers.ts';
import { timerValues } from '../../src/sip/timers.ts';
import { buildResponse } from '../../src/sip/serializer.ts';
import { InviteServerTransaction } from '../../src/sip/transaction-invite-server.ts';
import { NonInviteServerTransaction } from '../../src/sip/transaction-non-invite-server.ts';
import { NonInviteClientTransaction } from '../../src/sip/transaction-non-invite-client.ts';
import { InviteClientTransaction } from '../../src/sip/transaction-invite-client.ts';
import { InvalidTransitionError } from '../../src/sip/state-machine.ts';
import type { TransactionEnd } from '../../src/sip/transaction.ts';
import type { SipResponse } from '../../src/sip/message.ts';

function setup(reliable: boolean) {
  const clock = new FakeScheduler();
  const channel = new RecordingChannel(reliable, () => clock.now());
  const ends: TransactionEnd[] = [];
  const context = { channel, scheduler: clock, timers: timerValues(reliable), onTerminated: (end: TransactionEnd) => ends.push(end) };
  return { clock, channel, ends, context };
}

test('INVITE server sends 100 Trying at once, byte for byte (§17.2.1)', () => {
  const { channel, context } = setup(false);
  new InviteServerTransaction(request(INVITE), context);
  assert.deepEqual(channel.sent.map((s) => s.bytes), [
    wire(`SIP/2.0 100 Trying
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKinv1
From: <sip:caller@192.0.2.10>;tag=from1
To: <sip:5551000@192.0.2.1>
Call-ID: call-1@192.0.2.10
CSeq: 1 INVITE
Content-Length: 0

`).toString('latin1'),
  ]);
});

test('INVITE server: failure retransmitted on Timer G doubling to T2, Timer H ends it without ACK', () => {
  const { clock, channel, ends, context } = setup(false);
  const invite = request(INVITE);
  const tx = new InviteServerTransaction(invite, context);
  tx.respond(buildResponse(invite, 486, 'Busy Here', [], 'srv'));
  assert.equal(tx.state, 'completed');
  clock.advance(40_000);
  const finals = channel.sent.filter((s) => s.bytes.startsWith('SIP/2.0 486'));
  // Sent at 0, then G = 500, 1000, 2000, 4000, 4000... until H fires at 64*T1 = 32 s.
  assert.deepEqual(finals.map((s) => s.at), [0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
  assert.equal(tx.state, 'terminated');
  assert.deepEqual(ends, ['timeout']);
  assert.equal(clock.armed, 0);
});

test('INVITE server: ACK stops retransmission, Confirmed absorbs ACKs, Timer I ends it', () => {
  const { clock, channel, ends, context } = setup(false);
  const invite = request(INVITE);
  const tx = new InviteServerTransaction(invite, context);
  tx.respond(buildResponse(invite, 486, 'Busy Here', [], 'srv'));
  clock.advance(600);
  tx.receiveRequest(request(ACK_FOR_FAILURE));
  assert.equal(tx.state, 'confirmed');
  const sentBefore = channel.sent.length;
  tx.receiveRequest(request(ACK_FOR_FAILURE));
  tx.receiveRequest(invite);
  clock.advance(4_999);
  assert.equal(channel.sent.length, sentBefore);
  assert.equal(tx.state, 'confirmed');
  clock.advance(1);
  assert.equal(tx.state, 'terminated');
  assert.deepEqual(ends, ['normal']);
});

test('INVITE server: a retransmitted INVITE gets the latest provisional again; Accepted absorbs it (RFC 6026)', () => {
  const { clock, channel, ends, context } = setup(false);
  const invite = request(INVITE);
  const tx = new InviteServerTransaction(invite, context);
  tx.respond(buildResponse(invite, 180, 'Ringing', [], 'srv'));
  tx.receiveRequest(invite);
  assert.deepEqual(channel.firstLines, ['SIP/2.0 100 Trying', 'SIP/2.0 180 Ringing', 'SIP/2.0 180 Ringing']);
  tx.respond(buildResponse(invite, 200, 'OK', [], 'srv'));
  assert.equal(tx.state, 'accepted');
  tx.receiveRequest(invite);
  tx.respond(buildResponse(invite, 200, 'OK', [], 'srv')); // the TU's 2xx retransmission passes
  assert.deepEqual(channel.firstLines.slice(3), ['SIP/2.0 200 OK', 'SIP/2.0 200 OK']);
  clock.advance(32_000);
  assert.equal(tx.state, 'terminated');
  assert.deepEqual(ends, ['normal']);
});

test('INVITE server over a reliable transport: no retransmission, Timer I is zero', () => {
  const { clock, channel, context } = setup(true);
  const invite = request(INVITE);
  const tx = new InviteServerTransaction(invite, context);
  tx.respond(buildResponse(invite, 603, 'Decline', [], 'srv'));
  clock.advance(10_000);
  assert.equal(channel.sent.length, 2);
  tx.receiveRequest(request(ACK_FOR_FAILURE));
  clock.advance(0);
  assert.equal(tx.state, 'terminated');
});

test('a transport error terminates the server transaction and is reported', () => {
  const { channel, ends, context } = setup(false);
  const invite = request(INVITE);
  const tx = new InviteServerTransaction(invite, context);
  channel.failing = true;
  tx.respond(buildResponse(invite, 200, 'OK', [], 'srv'));
  assert.equal(tx.state, 'terminated');
  assert.deepEqual(ends, ['transport-error']);
});

test('non-INVITE server: Trying absorbs, Completed resends the final, Timer J = 64*T1 over UDP', () => {
  const { clock, channel, ends, context } = setup(false);
  const options = request(OPTIONS);
  const tx = new NonInviteServerTransaction(options, context);
  tx.receiveRequest(options);
  assert.equal(channel.sent.length, 0);
  tx.respond(buildResponse(options, 200, 'OK', [], 'srv'));
  tx.receiveRequest(options);
  assert.deepEqual(channel.firstLines, ['SIP/2.0 200 OK', 'SIP/2.0 200 OK']);
  tx.respond(buildResponse(options, 500, 'Late'));
  assert.equal(channel.sent.length, 2);
  clock.advance(31_999);
  assert.equal(tx.state, 'completed');
  clock.advance(1);
  assert.equal(tx.state, 'terminated');
  assert.deepEqual(ends, ['normal']);
});

test('non-INVITE server over TCP: Timer J is zero', () => {
  const { clock, context } = setup(true);
  const options = request(OPTIONS);
  const tx = new NonInviteServerTransaction(options, context);
  tx.respond(buildResponse(options, 200, 'OK'));
  clock.advance(0);
  assert.equal(tx.state, 'terminated');
});

const BYE = `BYE sip:caller@192.0.2.10:5060 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKbye1;rport
Max-Forwards: 70
From: <sip:5551000@192.0.2.1>;tag=srv
To: <sip:caller@192.0.2.10>;tag=from1
Call-ID: call-1@192.0.2.10
CSeq: 2 BYE
Content-Length: 0

`;

test('non-INVITE client: Timer E doubles to T2, Timer F times out at 64*T1', () => {
  const { clock, channel, context } = setup(false);
  const failures: string[] = [];
  const tx = new NonInviteClientTransaction(request(BYE), context, { onResponse: () => assert.fail(), onFailure: (e) => failures.push(e) });
  clock.advance(40_000);
  assert.deepEqual(channel.times, [0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
  assert.equal(tx.state, 'terminated');
  assert.deepEqual(failures, ['timeout']);
});

test('non-INVITE client: Proceeding retransmits every T2, final → Completed, Timer K absorbs and ends', () => {
  const { clock, channel, context } = setup(false);
  const got: number[] = [];
  const bye = request(BYE);
  const tx = new NonInviteClientTransaction(bye, context, { onResponse: (r) => got.push(r.status), onFailure: () => assert.fail() });
  clock.advance(100);
  tx.receiveResponse(buildResponse(bye, 100, 'Trying'));
  assert.equal(tx.state, 'proceeding');
  clock.advance(9_000); // E fires at 500 (then 4000 in Proceeding): 500, 4500, 8500
  assert.deepEqual(channel.times, [0, 500, 4500, 8500]);
  tx.receiveResponse(buildResponse(bye, 200, 'OK'));
  tx.receiveResponse(buildResponse(bye, 200, 'OK'));
  assert.deepEqual(got, [100, 200]);
  clock.advance(4_999);
  assert.equal(tx.state, 'completed');
  clock.advance(1);
  assert.equal(tx.state, 'terminated');
  assert.equal(channel.sent.length, 4);
});

const OUT_INVITE = `INVITE sip:agent@192.0.2.20 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKout1;rport
Max-Forwards: 70
Route: <sip:proxy.example;lr>
From: <sip:ivr@192.0.2.1>;tag=ivr1
To: <sip:agent@192.0.2.20>
Call-ID: out-1@192.0.2.1
CSeq: 5 INVITE
Content-Length: 0

`;

test('INVITE client: Timer A doubles uncapped until Timer B', () => {
  const { clock, channel, context } = setup(false);
  const failures: string[] = [];
  new InviteClientTransaction(request(OUT_INVITE), context, { onResponse: () => assert.fail(), onFailure: (e) => failures.push(e) });
  clock.advance(40_000);
  assert.deepEqual(channel.times, [0, 500, 1500, 3500, 7500, 15500, 31500]);
  assert.deepEqual(failures, ['timeout']);
});

test('INVITE client: a failure is ACKed in the transaction, byte for byte, and retransmissions re-ACKed (§17.1.1.3)', () => {
  const { clock, channel, context } = setup(false);
  const got: SipResponse[] = [];
  const invite = request(OUT_INVITE);
  const tx = new InviteClientTransaction(invite, context, { onResponse: (r) => got.push(r), onFailure: () => assert.fail() });
  const busy = response(`SIP/2.0 486 Busy Here
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKout1;rport=5060;received=192.0.2.1
From: <sip:ivr@192.0.2.1>;tag=ivr1
To: <sip:agent@192.0.2.20>;tag=ag7
Call-ID: out-1@192.0.2.1
CSeq: 5 INVITE
Content-Length: 0

`);
  tx.receiveResponse(busy);
  tx.receiveResponse(busy);
  assert.equal(got.length, 1);
  assert.equal(channel.sent.length, 3);
  const ack = wire(`ACK sip:agent@192.0.2.20 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKout1;rport
Route: <sip:proxy.example;lr>
Max-Forwards: 70
From: <sip:ivr@192.0.2.1>;tag=ivr1
To: <sip:agent@192.0.2.20>;tag=ag7
Call-ID: out-1@192.0.2.1
CSeq: 5 ACK
Content-Length: 0

`).toString('latin1');
  assert.equal(channel.sent[1]!.bytes, ack);
  assert.equal(channel.sent[2]!.bytes, ack);
  clock.advance(32_000);
  assert.equal(tx.state, 'terminated');
});

test('INVITE client: 2xx → Accepted passes 2xx retransmissions up, Timer M ends it', () => {
  const { clock, context } = setup(true);
  const got: number[] = [];
  const invite = request(OUT_INVITE);
  const tx = new InviteClientTransaction(invite, context, { onResponse: (r) => got.push(r.status), onFailure: () => assert.fail() });
  tx.receiveResponse(buildResponse(invite, 180, 'Ringing'));
  tx.receiveResponse(buildResponse(invite, 200, 'OK'));
  tx.receiveResponse(buildResponse(invite, 200, 'OK'));
  tx.receiveResponse(buildResponse(invite, 180, 'Ringing'));
  assert.deepEqual(got, [180, 200, 200]);
  clock.advance(32_000);
  assert.equal(tx.state, 'terminated');
});

test('the guard refuses a transition the table does not allow', async () => {
  const { GuardedState } = await import('../../src/sip/state-machine.ts');
  const machine = new GuardedState<'a' | 'b'>('m', { a: ['b'], b: [] }, 'a');
  machine.move('b');
  assert.throws(() => machine.move('a'), InvalidTransitionError);
});
