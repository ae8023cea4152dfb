// The UAS core on raw-text fixtures: what goes out, byte for byte, on a fake clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeScheduler } from './fake-scheduler.ts';
import { RecordingChannel, request, response, wire, INVITE } from './helpers.ts';
import { UserAgentServer } from '../../src/sip/user-agent-server.ts';
import type { AdmissionHook } from '../../src/sip/user-agent-server.ts';
import type { EndCause, IncomingCall, SdpOffer, InfoMessage } from '../../src/sip/incoming-call.ts';
import { firstHeader } from '../../src/sip/headers.ts';
import type { SipRequest } from '../../src/sip/message.ts';

const ANSWER = 'v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n';

/** Random tags and branches made comparable. */
const normal = (bytes: string) => bytes.replace(/tag=[0-9a-f]{16}/g, 'tag=LOCAL').replace(/branch=z9hG4bK[0-9a-f]{16}/g, 'branch=z9hG4bKLOCAL');

function harness(options: { admission?: AdmissionHook } = {}) {
  const clock = new FakeScheduler();
  const channel = new RecordingChannel(false, () => clock.now());
  const calls: IncomingCall[] = [];
  const ended: EndCause[] = [];
  const uas = new UserAgentServer({
    scheduler: clock,
    local: (kind) => ({ kind, host: '192.0.2.1', port: 5060 }),
    onCall: (call) => {
      calls.push(call);
      call.on('ended', (cause) => ended.push(cause));
    },
    routing: (dialled) => (dialled === '5551000' ? 'parking' : 'not-in-service'),
    ...options,
  });
  const send = (text: string) => uas.receiveRequest(request(text), channel);
  const sent = () => channel.sent.map((s) => normal(s.bytes));
  const lines = () => channel.firstLines;
  /** Our To tag from the last 2xx/final we sent. */
  const localTag = () => {
    for (const s of [...channel.sent].reverse()) {
      const match = /^To: .*;tag=([0-9a-f]{16})/m.exec(s.bytes);
      if (match) return match[1]!;
    }
    throw new Error('no local tag yet');
  };
  return { clock, channel, calls, ended, uas, send, sent, lines, localTag };
}

/** A request from the caller inside the dialog. */
function inDialog(method: string, cseq: number, localTag: string, extra = '', body = '', branch = `z9hG4bK${method.toLowerCase()}${cseq}`): string {
  return `${method} sip:5551000@192.0.2.1:5060 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=${branch}
Max-Forwards: 70
From: <sip:caller@192.0.2.10>;tag=from1
To: <sip:5551000@192.0.2.1>;tag=${localTag}
Call-ID: call-1@192.0.2.10
CSeq: ${cseq} ${method === 'ACK' ? 'INVITE' : method}
${extra}Content-Length: ${Buffer.byteLength(body)}

${body}`.replace(`CSeq: ${cseq} INVITE\n`, method === 'ACK' ? `CSeq: ${cseq} ACK\n` : `CSeq: ${cseq} INVITE\n`);
}

function answered(options: { admission?: AdmissionHook } = {}) {
  const h = harness(options);
  h.send(INVITE);
  const call = h.calls[0]!;
  assert.equal(call.accept(ANSWER), true);
  const tag = h.localTag();
  h.send(inDialog('ACK', 1, tag));
  return { ...h, call, tag };
}

test('basic call: 100 Trying, the IncomingCall, 200 OK with To tag, Contact and SDP, byte for byte', () => {
  const h = harness();
  h.send(INVITE);
  assert.equal(h.calls.length, 1);
  const call = h.calls[0]!;
  assert.equal(call.callId, 'call-1@192.0.2.10');
  assert.equal(call.dialled, '5551000');
  assert.equal(call.application, 'parking');
  assert.equal(call.remoteSdp, 'v=0\r\n');
  assert.equal(call.transport, 'udp');
  assert.deepEqual(call.remote, { address: '192.0.2.10', port: 5060 });
  call.accept(ANSWER);
  assert.deepEqual(h.sent(), [
    wire(`SIP/2.0 100 Trying
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKinv1
From: <sip:caller@192.0.2.10>;tag=from1
To: <sip:5551000@192.0.2.1>
Call-ID: call-1@192.0.2.10
CSeq: 1 INVITE
Content-Length: 0

`).toString(),
    wire(`SIP/2.0 200 OK
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKinv1
From: <sip:caller@192.0.2.10>;tag=from1
To: <sip:5551000@192.0.2.1>;tag=LOCAL
Call-ID: call-1@192.0.2.10
CSeq: 1 INVITE
Contact: <sip:192.0.2.1:5060>
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, NOTIFY
Supported: timer
Content-Type: application/sdp
Content-Length: ${ANSWER.length}

`).toString() + ANSWER,
  ]);
});

test('the 2xx is retransmitted T1 doubling to T2 until the ACK (§13.3.1.4)', () => {
  const h = harness();
  h.send(INVITE);
  h.calls[0]!.accept(ANSWER);
  h.clock.advance(8_000);
  const oks = h.channel.sent.filter((s) => s.bytes.startsWith('SIP/2.0 200'));
  assert.deepEqual(oks.map((s) => s.at), [0, 500, 1500, 3500, 7500]);
  h.send(inDialog('ACK', 1, h.localTag()));
  h.clock.advance(60_000);
  assert.equal(h.channel.sent.filter((s) => s.bytes.startsWith('SIP/2.0 200')).length, 5);
  assert.deepEqual(h.ended, []);
});

test('no ACK within 64*T1: the UAS sends BYE and the call ends with timeout', () => {
  const h = harness();
  h.send(INVITE);
  h.calls[0]!.accept(ANSWER);
  h.clock.advance(32_000);
  assert.equal(h.lines().at(-1), 'BYE sip:caller@192.0.2.10:5060 SIP/2.0');
  assert.deepEqual(h.ended, ['timeout']);
});

test('BYE from the caller: 200 OK and ended(remote-bye); a later BYE gets 481', () => {
  const h = answered();
  h.send(inDialog('BYE', 2, h.tag));
  assert.equal(h.lines().at(-1), 'SIP/2.0 200 OK');
  assert.deepEqual(h.ended, ['remote-bye']);
  h.send(inDialog('BYE', 3, h.tag));
  assert.equal(h.lines().at(-1), 'SIP/2.0 481 Call/Transaction Does Not Exist');
});

test('hangup sends BYE inside the dialog byte for byte; close() afterwards is a no-op', () => {
  const h = answered();
  h.call.hangup();
  const bye = h.sent().at(-1)!;
  assert.equal(bye, wire(`BYE sip:caller@192.0.2.10:5060 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKLOCAL;rport
Max-Forwards: 70
From: <sip:5551000@192.0.2.1>;tag=LOCAL
To: <sip:caller@192.0.2.10>;tag=from1
Call-ID: call-1@192.0.2.10
CSeq: 2 BYE
Contact: <sip:192.0.2.1:5060>
Content-Length: 0

`).toString());
  h.call.close();
  h.call.close();
  assert.deepEqual(h.ended, ['local-bye']);
  // The 200 to our BYE completes the client transaction (Timer K then frees it).
  const byeRequest = h.channel.sent.at(-1)!.message as SipRequest;
  const ok = response(normal(h.channel.sent.at(-1)!.bytes).replace(/^BYE .*\r\n/, 'SIP/2.0 200 OK\r\n').replace('branch=z9hG4bKLOCAL', `branch=${/branch=(z9hG4bK[0-9a-f]+)/.exec(firstHeader(byeRequest, 'Via')!)![1]}`));
  h.uas.receiveResponse(ok);
  h.clock.runAll();
  assert.equal(h.uas.transactions.size, 0);
});

test('CANCEL before the answer: 200 to CANCEL, 487 to the INVITE, ended(cancel), accept() refused', () => {
  const h = harness();
  h.send(INVITE);
  h.send(INVITE.replace('INVITE sip', 'CANCEL sip').replace('1 INVITE', '1 CANCEL').replace(/Content-Type.*\n/, '').replace('Content-Length: 5\n\nv=0\n', 'Content-Length: 0\n\n'));
  assert.deepEqual(h.lines(), ['SIP/2.0 100 Trying', 'SIP/2.0 200 OK', 'SIP/2.0 487 Request Terminated']);
  assert.match(h.sent()[1]!, /^CSeq: 1 CANCEL\r$/m);
  assert.deepEqual(h.ended, ['cancel']);
  assert.equal(h.calls[0]!.accept(ANSWER), false);
  // The ACK for the 487 is absorbed by the INVITE transaction; nothing else goes out.
  const before = h.channel.sent.length;
  h.send(inDialog('ACK', 1, h.localTag(), '', '', 'z9hG4bKinv1'));
  h.clock.runAll();
  assert.equal(h.channel.sent.length, before);
  assert.equal(h.uas.transactions.size, 0);
});

test('CANCEL race: CANCEL after the 200 gets 200 but no 487, the call stays up', () => {
  const h = harness();
  h.send(INVITE);
  h.calls[0]!.accept(ANSWER);
  h.send(INVITE.replace('INVITE sip', 'CANCEL sip').replace('1 INVITE', '1 CANCEL').replace(/Content-Type.*\n/, '').replace('Content-Length: 5\n\nv=0\n', 'Content-Length: 0\n\n'));
  assert.deepEqual(h.lines(), ['SIP/2.0 100 Trying', 'SIP/2.0 200 OK', 'SIP/2.0 200 OK']);
  assert.deepEqual(h.ended, []);
  assert.equal(h.calls[0]!.ended, false);
});

test('CANCEL that matches nothing gets 481', () => {
  const h = harness();
  h.send(INVITE.replace('INVITE sip', 'CANCEL sip').replace('1 INVITE', '1 CANCEL').replace(/Content-Type.*\n/, '').replace('Content-Length: 5\n\nv=0\n', 'Content-Length: 0\n\n'));
  assert.deepEqual(h.lines(), ['SIP/2.0 481 Call/Transaction Does Not Exist']);
});

test('re-INVITE: the offer goes to the app, its answer is sent in a 200; reject → 488; no listener → 488', () => {
  const h = answered();
  const offers: SdpOffer[] = [];
  h.call.on('reinvite', (offer) => offers.push(offer));
  h.send(inDialog('INVITE', 2, h.tag, 'Content-Type: application/sdp\n', 'v=0\r\na=sendonly\r\n'));
  assert.equal(offers[0]!.sdp, 'v=0\r\na=sendonly\r\n');
  assert.equal(offers[0]!.method, 'INVITE');
  offers[0]!.answer('v=0\r\na=recvonly\r\n');
  offers[0]!.answer('twice is ignored');
  const ok = h.sent().at(-1)!;
  assert.match(ok, /^SIP\/2\.0 200 OK\r\n/);
  assert.match(ok, /CSeq: 2 INVITE\r\n/);
  assert.ok(ok.endsWith('\r\n\r\nv=0\r\na=recvonly\r\n'));
  h.send(inDialog('ACK', 2, h.tag));
  h.send(inDialog('INVITE', 3, h.tag, 'Content-Type: application/sdp\n', 'v=0\r\n'));
  offers[1]!.reject();
  assert.equal(h.lines().at(-1), 'SIP/2.0 488 Not Acceptable Here');
  h.call.removeAllListeners('reinvite');
  h.send(inDialog('UPDATE', 4, h.tag, 'Content-Type: application/sdp\n', 'v=0\r\n'));
  assert.equal(h.lines().at(-1), 'SIP/2.0 488 Not Acceptable Here');
  assert.deepEqual(h.ended, []);
});

test('UPDATE with an offer is answered through the same reinvite event', () => {
  const h = answered();
  h.call.on('reinvite', (offer) => offer.answer(`v=0\r\ns=${offer.method}\r\n`));
  h.send(inDialog('UPDATE', 2, h.tag, 'Content-Type: application/sdp\n', 'v=0\r\n'));
  assert.ok(h.sent().at(-1)!.endsWith('\r\n\r\nv=0\r\ns=UPDATE\r\n'));
});

test('out-of-order CSeq inside the dialog gets 500 (§12.2.2)', () => {
  const h = answered();
  h.send(inDialog('INFO', 5, h.tag));
  h.send(inDialog('INFO', 4, h.tag));
  assert.deepEqual(h.lines().slice(-2), ['SIP/2.0 200 OK', 'SIP/2.0 500 CSeq Out of Order']);
});

test('INFO in a dialog reaches the app as bytes; outside a dialog 481', () => {
  const h = answered();
  const infos: InfoMessage[] = [];
  h.call.on('info', (info) => infos.push(info));
  h.send(inDialog('INFO', 2, h.tag, 'Content-Type: application/dtmf-relay\n', 'Signal=5\r\nDuration=160\r\n'));
  assert.equal(h.lines().at(-1), 'SIP/2.0 200 OK');
  assert.equal(infos[0]!.contentType, 'application/dtmf-relay');
  assert.ok(Buffer.isBuffer(infos[0]!.body));
  assert.equal(infos[0]!.body.toString(), 'Signal=5\r\nDuration=160\r\n');
  h.send(inDialog('INFO', 3, 'nosuchtag'));
  assert.equal(h.lines().at(-1), 'SIP/2.0 481 Call/Transaction Does Not Exist');
});

test('INFO the app refuses is answered 415 with its Accept list, or 400; the rest 200', () => {
  const h = answered();
  h.call.on('info', (info) => {
    if (info.contentType === 'text/plain') info.refuse({ status: 415, accept: 'application/dtmf-relay, application/dtmf' });
    else if (info.body.toString() === 'garbage') info.refuse({ status: 400 });
  });
  h.send(inDialog('INFO', 2, h.tag, 'Content-Type: text/plain\n', 'hello'));
  assert.equal(h.lines().at(-1), 'SIP/2.0 415 Unsupported Media Type');
  assert.match(h.sent().at(-1)!, /\r\nAccept: application\/dtmf-relay, application\/dtmf\r\n/);
  h.send(inDialog('INFO', 3, h.tag, 'Content-Type: application/dtmf\n', 'garbage'));
  assert.equal(h.lines().at(-1), 'SIP/2.0 400 Bad Request');
  h.send(inDialog('INFO', 4, h.tag, 'Content-Type: application/dtmf\n', '5'));
  assert.equal(h.lines().at(-1), 'SIP/2.0 200 OK');
});

test('OPTIONS is answered with Allow, Supported and Accept, byte for byte', () => {
  const h = harness();
  h.send(`OPTIONS sip:192.0.2.1 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKopt1
Max-Forwards: 70
From: <sip:caller@192.0.2.10>;tag=from2
To: <sip:192.0.2.1>
Call-ID: opt-1@192.0.2.10
CSeq: 7 OPTIONS
Content-Length: 0

`);
  assert.deepEqual(h.sent(), [wire(`SIP/2.0 200 OK
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKopt1
From: <sip:caller@192.0.2.10>;tag=from2
To: <sip:192.0.2.1>;tag=LOCAL
Call-ID: opt-1@192.0.2.10
CSeq: 7 OPTIONS
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, NOTIFY
Supported: timer
Accept: application/sdp, application/dtmf-relay, application/dtmf, message/sipfrag
Content-Length: 0

`).toString()]);
});

test('unknown method → 501, known but not served → 405, unsupported Require → 420', () => {
  const h = harness();
  const out = (method: string, extra = '') => `${method} sip:192.0.2.1 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK${method}
Max-Forwards: 70
From: <sip:caller@192.0.2.10>;tag=from3
To: <sip:192.0.2.1>
Call-ID: m-${method}@192.0.2.10
CSeq: 1 ${method}
${extra}Content-Length: 0

`;
  h.send(out('FOOBAR'));
  h.send(out('REGISTER'));
  h.send(out('OPTIONS', 'Require: 100rel\n'));
  h.send(out('BYE'));
  assert.deepEqual(h.lines(), [
    'SIP/2.0 501 Not Implemented',
    'SIP/2.0 405 Method Not Allowed',
    'SIP/2.0 420 Bad Extension',
    'SIP/2.0 481 Call/Transaction Does Not Exist',
  ]);
  assert.match(h.sent()[0]!, /\r\nAllow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, NOTIFY\r\n/);
  assert.match(h.sent()[2]!, /\r\nUnsupported: 100rel\r\n/);
});

test('admission: a refusal is sent with Retry-After and no call is created', () => {
  const h = harness({ admission: () => ({ ok: false, status: 503, reason: 'Service Unavailable', retryAfter: 30 }) });
  h.send(INVITE);
  assert.equal(h.calls.length, 0);
  assert.deepEqual(h.lines(), ['SIP/2.0 100 Trying', 'SIP/2.0 503 Service Unavailable']);
  assert.match(h.sent()[1]!, /\r\nRetry-After: 30\r\n/);
});

const withTimer = (se: string, supported = 'Supported: timer\n') => INVITE.replace('Contact:', `Session-Expires: ${se}\n${supported}Contact:`);

test('Session-Expires below Min-SE → 422 with our Min-SE (RFC 4028 §9)', () => {
  const h = harness();
  h.send(withTimer('60'));
  assert.equal(h.calls.length, 0);
  assert.equal(h.lines().at(-1), 'SIP/2.0 422 Session Interval Too Small');
  assert.match(h.sent().at(-1)!, /\r\nMin-SE: 90\r\n/);
});

test('session timer honoured: refresher=uac, Require: timer; a refresh re-arms; silence ends the call', () => {
  const h = harness();
  h.send(withTimer('120'));
  const call = h.calls[0]!;
  call.accept(ANSWER);
  const ok = h.sent().at(-1)!;
  assert.match(ok, /\r\nSession-Expires: 120;refresher=uac\r\nRequire: timer\r\n/);
  const tag = h.localTag();
  h.send(inDialog('ACK', 1, tag));
  // Expiry = 120 − min(32, 40) = 88 s. A refresh UPDATE at 60 s re-arms it.
  h.clock.advance(60_000);
  h.send(inDialog('UPDATE', 2, tag, 'Session-Expires: 120;refresher=uac\nSupported: timer\n'));
  assert.match(h.sent().at(-1)!, /^SIP\/2\.0 200 OK\r\n[^]*Session-Expires: 120;refresher=uac\r\n/);
  h.clock.advance(87_999);
  assert.deepEqual(h.ended, []);
  h.clock.advance(1);
  assert.deepEqual(h.ended, ['session-timer']);
  assert.match(h.lines().at(-1)!, /^BYE /);
});

test('a UAC without timer support makes us the refresher: we send UPDATE at half the interval', () => {
  const h = harness();
  h.send(withTimer('180', ''));
  h.calls[0]!.accept(ANSWER);
  assert.match(h.sent().at(-1)!, /\r\nSession-Expires: 180;refresher=uas\r\n/);
  assert.doesNotMatch(h.sent().at(-1)!, /Require: timer/);
  h.send(inDialog('ACK', 1, h.localTag()));
  h.clock.advance(90_000);
  assert.match(h.sent().at(-1)!, /^UPDATE sip:caller@192\.0\.2\.10:5060 SIP\/2\.0\r\n[^]*Session-Expires: 180;refresher=uas\r\n/);
});

/** Builds the caller's NOTIFY for our REFER subscription. */
const notify = (tag: string, cseq: number, frag: string, state = 'active;expires=60') =>
  inDialog('NOTIFY', cseq, tag, `Event: refer\nSubscription-State: ${state}\nContent-Type: message/sipfrag;version=2.0\n`, frag);

function referResponse(h: ReturnType<typeof answered>, status: number, reason: string) {
  const refer = [...h.channel.sent].reverse().find((s) => s.bytes.startsWith('REFER'))!;
  const via = firstHeader(refer.message, 'Via')!;
  return response(`SIP/2.0 ${status} ${reason}
Via: ${via}
From: <sip:5551000@192.0.2.1>;tag=${h.tag}
To: <sip:caller@192.0.2.10>;tag=from1
Call-ID: call-1@192.0.2.10
CSeq: ${/^CSeq: (\d+)/m.exec(refer.bytes)![1]} REFER
Content-Length: 0

`);
}

test('blind transfer: REFER with Refer-To and Referred-By, NOTIFY sipfrag 200 → accepted, then BYE', async () => {
  const h = answered();
  const result = h.call.transfer('sip:agent@192.0.2.30', [{ name: 'X-Traceless-Context', value: 'lang=en' }]);
  assert.equal(h.sent().at(-1)!, wire(`REFER sip:caller@192.0.2.10:5060 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKLOCAL;rport
Max-Forwards: 70
From: <sip:5551000@192.0.2.1>;tag=LOCAL
To: <sip:caller@192.0.2.10>;tag=from1
Call-ID: call-1@192.0.2.10
CSeq: 2 REFER
Contact: <sip:192.0.2.1:5060>
Refer-To: <sip:agent@192.0.2.30>
Referred-By: <sip:5551000@192.0.2.1>
X-Traceless-Context: lang=en
Content-Length: 0

`).toString());
  h.uas.receiveResponse(referResponse(h, 202, 'Accepted'));
  h.send(notify(h.tag, 2, 'SIP/2.0 100 Trying\r\n'));
  h.send(notify(h.tag, 3, 'SIP/2.0 200 OK\r\n', 'terminated;reason=noresource'));
  assert.equal(await result, 'accepted');
  assert.match(h.lines().at(-1)!, /^BYE /);
  assert.deepEqual(h.ended, ['transfer']);
});

test('transfer failure: NOTIFY sipfrag 486 → failed and the call stays; REFER refused → failed', async () => {
  const h = answered();
  const first = h.call.transfer('sip:agent@192.0.2.30', []);
  h.uas.receiveResponse(referResponse(h, 202, 'Accepted'));
  h.send(notify(h.tag, 2, 'SIP/2.0 486 Busy Here\r\n', 'terminated'));
  assert.equal(await first, 'failed');
  assert.deepEqual(h.ended, []);
  const second = h.call.transfer('sip:agent@192.0.2.30', []);
  h.uas.receiveResponse(referResponse(h, 403, 'Forbidden'));
  assert.equal(await second, 'failed');
  const third = h.call.transfer('sip:agent@192.0.2.30', []);
  h.clock.advance(32_000); // no response at all: Timer F
  assert.equal(await third, 'failed');
  assert.deepEqual(h.ended, []);
});

test('no enumeration: an unknown number gets the same SIP exchange as a known one (routing never rejects)', () => {
  const known = harness();
  const unknown = harness();
  known.send(INVITE);
  unknown.send(INVITE.replaceAll('5551000', '5559999'));
  assert.equal(unknown.calls[0]!.application, 'not-in-service');
  assert.equal(known.calls[0]!.application, 'parking');
  // Both got exactly 100 Trying at t=0 and a call object; what follows is the application's answer.
  assert.deepEqual(unknown.channel.sent.map((s) => [s.at, s.bytes.split('\r\n')[0]]), known.channel.sent.map((s) => [s.at, s.bytes.split('\r\n')[0]]));
});

test('Contact follows the request: sip:;transport=tls over TLS, sips: when the Request-URI is SIPS (§8.1.1.8)', () => {
  for (const [uri, contact] of [
    ['sip:5551000@192.0.2.1', '<sip:192.0.2.1:5061;transport=tls>'],
    ['sips:5551000@192.0.2.1', '<sips:192.0.2.1:5061>'],
  ] as const) {
    const clock = new FakeScheduler();
    const channel = new RecordingChannel(true, () => clock.now(), { kind: 'tls', address: '192.0.2.10', port: 40000, connectionId: 1 });
    const uas = new UserAgentServer({
      scheduler: clock,
      local: (kind) => ({ kind, host: '192.0.2.1', port: 5061 }),
      onCall: (call) => call.accept(ANSWER),
    });
    uas.receiveRequest(request(INVITE.replace('INVITE sip:5551000@192.0.2.1', `INVITE ${uri}`).replace('SIP/2.0/UDP', 'SIP/2.0/TLS')), channel);
    assert.equal(firstHeader(channel.sent.at(-1)!.message, 'Contact'), contact);
  }
});

test('a sips: Request-URI is served over TLS only: over UDP or TCP it gets 416 and no call (§26.2.2, RFC 5630)', () => {
  for (const kind of ['udp', 'tcp', 'tls'] as const) {
    const clock = new FakeScheduler();
    const peer = { kind, address: '192.0.2.10', port: 40000, ...(kind === 'udp' ? {} : { connectionId: 1 }) };
    const channel = new RecordingChannel(kind !== 'udp', () => clock.now(), peer);
    const calls: IncomingCall[] = [];
    const uas = new UserAgentServer({ scheduler: clock, local: (k) => ({ kind: k, host: '192.0.2.1', port: 5061 }), onCall: (call) => calls.push(call) });
    const via = `SIP/2.0/${kind.toUpperCase()} 192.0.2.10:40000;branch=z9hG4bKsips`;
    uas.receiveRequest(request(INVITE.replace('INVITE sip:5551000@192.0.2.1', 'INVITE sips:5551000@192.0.2.1').replace('SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKinv1', via)), channel);
    if (kind === 'tls') {
      assert.equal(calls.length, 1, kind);
      continue;
    }
    assert.equal(calls.length, 0, kind);
    assert.deepEqual(channel.sent.map((sent) => normal(sent.bytes)).at(-1), wire(`SIP/2.0 416 Unsupported URI Scheme
Via: ${via}
From: <sip:caller@192.0.2.10>;tag=from1
To: <sip:5551000@192.0.2.1>;tag=LOCAL
Call-ID: call-1@192.0.2.10
CSeq: 1 INVITE
Content-Length: 0

`).toString(), kind);
  }
});

test('Accept decides whether our SDP may be sent: no Accept, */*, application/* and application/sdp pass; others get 406', () => {
  const outcome = (accept: string | undefined) => {
    const h = harness();
    h.send(accept === undefined ? INVITE : INVITE.replace('Contact:', `Accept: ${accept}\nContact:`));
    return h.calls.length === 1 ? 'call' : h.lines().at(-1);
  };
  assert.deepEqual(
    [undefined, '*/*', 'application/*', 'text/plain, application/SDP;level=1', 'application/sdp;q=0', 'text/plain', 'application/sdp;q=0.0, text/html'].map(outcome),
    ['call', 'call', 'call', 'call', 'SIP/2.0 406 Not Acceptable', 'SIP/2.0 406 Not Acceptable', 'SIP/2.0 406 Not Acceptable'],
  );
  // The same holds for a re-INVITE inside the dialog; the call stays up.
  const h = answered();
  h.call.on('reinvite', (offer) => offer.answer(ANSWER));
  h.send(inDialog('INVITE', 2, h.tag, 'Accept: text/plain\nContent-Type: application/sdp\n', 'v=0\r\n'));
  assert.equal(h.sent().at(-1), wire(`SIP/2.0 406 Not Acceptable
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKinvite2
From: <sip:caller@192.0.2.10>;tag=from1
To: <sip:5551000@192.0.2.1>;tag=LOCAL
Call-ID: call-1@192.0.2.10
CSeq: 2 INVITE
Accept: application/sdp
Content-Length: 0

`).toString());
  assert.deepEqual(h.ended, []);
});

test('an application that never answers: 480 and ended(timeout) for the INVITE, 488 for an offer', () => {
  const h = harness();
  h.send(INVITE);
  h.clock.advance(59_999);
  assert.deepEqual(h.lines(), ['SIP/2.0 100 Trying']);
  h.clock.advance(1);
  assert.deepEqual(h.lines(), ['SIP/2.0 100 Trying', 'SIP/2.0 480 Temporarily Unavailable']);
  assert.deepEqual(h.ended, ['timeout']);

  const a = answered();
  a.call.on('reinvite', () => undefined); // listens, never answers
  a.send(inDialog('INVITE', 2, a.tag, 'Content-Type: application/sdp\n', 'v=0\r\n'));
  a.clock.advance(60_000);
  assert.equal(a.lines().at(-1), 'SIP/2.0 488 Not Acceptable Here');
  assert.deepEqual(a.ended, []);
});

test('delayed offer: an INVITE without SDP, our offer in the 200, the answer from the ACK reaches the app', () => {
  const h = harness();
  h.send(INVITE.replace('Content-Type: application/sdp\n', '').replace('Content-Length: 5\n\nv=0\n', 'Content-Length: 0\n\n'));
  const call = h.calls[0]!;
  assert.equal(call.remoteSdp, '');
  const answers: string[] = [];
  call.on('answer', (sdp) => answers.push(sdp));
  call.accept(ANSWER);
  assert.ok(h.sent().at(-1)!.endsWith(`\r\n\r\n${ANSWER}`));
  h.send(inDialog('ACK', 1, h.localTag(), 'Content-Type: application/sdp\n', 'v=0\r\ns=answer\r\n'));
  assert.deepEqual(answers, ['v=0\r\ns=answer\r\n']);
});

test('a 2xx that can no longer be sent (flow gone) ends the call with transport-error', () => {
  const h = harness();
  h.send(INVITE);
  h.calls[0]!.accept(ANSWER);
  h.channel.failing = true;
  h.clock.advance(500);
  assert.deepEqual(h.ended, ['transport-error']);
});
