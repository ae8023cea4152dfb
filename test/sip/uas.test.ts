// The UAS core on raw-text fixtures: what goes out, byte for byte, on a fake clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeScheduler } from './fake-scheduler.ts';
import { RecordingChannel, request, response, wire, INVITE, OPTIONS } from './helpers.ts';
import { UserAgentServer } from '../../src/sip/user-agent-server.ts';
import { createAdmission } from '../../src/sip/admission.ts';
import { buildResponse } from '../../src/sip/serializer.ts';
import type { AdmissionHook, StackRejection } from '../../src/sip/user-agent-server.ts';
import type { EndCause, IncomingCall, SdpOffer, InfoMessage } from '../../src/sip/incoming-call.ts';
import { firstHeader } from '../../src/sip/headers.ts';
import type { SipRequest } from '../../src/sip/message.ts';

const ANSWER = 'v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n';

/** Random tags and branches made comparable. */
const normal = (bytes: string) => bytes.replace(/tag=[0-9a-f]{16}/g, 'tag=LOCAL').replace(/branch=z9hG4bK[0-9a-f]{16}/g, 'branch=z9hG4bKLOCAL');

/** The fields a response copies (§8.2.6.2) from the INVITE fixture (or its CANCEL), with our To tag. */
const inviteCopy = (cseq = '1 INVITE') => `Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKinv1
From: <sip:caller@192.0.2.10>;tag=from1
To: <sip:5551000@192.0.2.1>;tag=LOCAL
Call-ID: call-1@192.0.2.10
CSeq: ${cseq}
`;

/** The fields a response copies from a request inDialog() built. */
const dialogCopy = (method: string, cseq: number) => `Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK${method.toLowerCase()}${cseq}
From: <sip:caller@192.0.2.10>;tag=from1
To: <sip:5551000@192.0.2.1>;tag=LOCAL
Call-ID: call-1@192.0.2.10
CSeq: ${cseq} ${method}
`;

/** A body-less response as it goes on the wire: status, copied fields, extra fields. */
const bodyless = (status: string, copied: string, extra = '') => wire(`SIP/2.0 ${status}\n${copied}${extra}Content-Length: 0\n\n`).toString();

/** A request we send inside the dialog, as it goes on the wire (tags and branch normalised). */
const ours = (method: string, cseq: number, extra = '', body = '') =>
  wire(`${method} sip:caller@192.0.2.10:5060 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKLOCAL;rport
Max-Forwards: 70
From: <sip:5551000@192.0.2.1>;tag=LOCAL
To: <sip:caller@192.0.2.10>;tag=from1
Call-ID: call-1@192.0.2.10
CSeq: ${cseq} ${method}
Contact: <sip:192.0.2.1:5060>
${extra}Content-Length: ${Buffer.byteLength(body)}

`).toString() + body;

const ALLOW = 'Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, NOTIFY\n';

function harness(options: { admission?: AdmissionHook; onReject?: (rejection: StackRejection) => void } = {}) {
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
  assert.equal(h.sent().at(-1), bodyless('200 OK', dialogCopy('BYE', 2)));
  assert.deepEqual(h.ended, ['remote-bye']);
  h.send(inDialog('BYE', 3, h.tag));
  assert.equal(h.sent().at(-1), bodyless('481 Call/Transaction Does Not Exist', dialogCopy('BYE', 3)));
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
  assert.deepEqual(h.sent().slice(1), [bodyless('200 OK', inviteCopy('1 CANCEL')), bodyless('487 Request Terminated', inviteCopy())]);
  // §9.2: the 200 to the CANCEL carries the To tag of the INVITE's responses.
  const tags = h.channel.sent.slice(1).map((sent) => firstHeader(sent.message, 'To'));
  assert.equal(tags[0], tags[1]);
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
  assert.deepEqual(h.sent(), [bodyless('481 Call/Transaction Does Not Exist', inviteCopy('1 CANCEL'))]);
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
  assert.equal(h.sent().at(-1), wire(`SIP/2.0 200 OK
${dialogCopy('INVITE', 2)}Contact: <sip:192.0.2.1:5060>
${ALLOW}Supported: timer
Content-Type: application/sdp
Content-Length: 17

`).toString() + 'v=0\r\na=recvonly\r\n');
  h.send(inDialog('ACK', 2, h.tag));
  h.send(inDialog('INVITE', 3, h.tag, 'Content-Type: application/sdp\n', 'v=0\r\n'));
  offers[1]!.reject();
  assert.equal(h.sent().at(-1), bodyless('488 Not Acceptable Here', dialogCopy('INVITE', 3)));
  h.call.removeAllListeners('reinvite');
  h.send(inDialog('UPDATE', 4, h.tag, 'Content-Type: application/sdp\n', 'v=0\r\n'));
  assert.equal(h.sent().at(-1), bodyless('488 Not Acceptable Here', dialogCopy('UPDATE', 4)));
  assert.deepEqual(h.ended, []);
});

test('an offer still waiting for the application when the call ends is answered 487 (§15.1.2)', () => {
  const h = answered();
  h.call.on('reinvite', () => undefined); // listens, has not answered yet
  h.send(inDialog('INVITE', 2, h.tag, 'Content-Type: application/sdp\n', 'v=0\r\n'));
  h.send(inDialog('BYE', 3, h.tag));
  assert.deepEqual(h.sent().slice(-2), [bodyless('200 OK', dialogCopy('BYE', 3)), bodyless('487 Request Terminated', dialogCopy('INVITE', 2))]);
  assert.deepEqual(h.ended, ['remote-bye']);
  h.send(inDialog('ACK', 2, h.tag, '', '', 'z9hG4bKinvite2')); // the ACK for the 487
  h.clock.runAll();
  assert.equal(h.uas.transactions.size, 0);
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
  assert.equal(h.sent().at(-1), bodyless('415 Unsupported Media Type', dialogCopy('INFO', 2), 'Accept: application/dtmf-relay, application/dtmf\n'));
  h.send(inDialog('INFO', 3, h.tag, 'Content-Type: application/dtmf\n', 'garbage'));
  assert.equal(h.sent().at(-1), bodyless('400 Bad Request', dialogCopy('INFO', 3)));
  h.send(inDialog('INFO', 4, h.tag, 'Content-Type: application/dtmf\n', '5'));
  assert.equal(h.sent().at(-1), bodyless('200 OK', dialogCopy('INFO', 4)));
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
  const copy = (method: string) => `Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK${method}
From: <sip:caller@192.0.2.10>;tag=from3
To: <sip:192.0.2.1>;tag=LOCAL
Call-ID: m-${method}@192.0.2.10
CSeq: 1 ${method}
`;
  assert.deepEqual(h.sent(), [
    bodyless('501 Not Implemented', copy('FOOBAR'), ALLOW),
    bodyless('405 Method Not Allowed', copy('REGISTER'), ALLOW),
    bodyless('420 Bad Extension', copy('OPTIONS'), 'Unsupported: 100rel\n'),
    bodyless('481 Call/Transaction Does Not Exist', copy('BYE')),
  ]);
});

test('admission: a refusal is sent with Retry-After and no call is created', () => {
  const h = harness({ admission: () => ({ ok: false, status: 503, reason: 'Service Unavailable', retryAfter: 30 }) });
  h.send(INVITE);
  assert.equal(h.calls.length, 0);
  assert.deepEqual(h.sent(), [
    bodyless('100 Trying', inviteCopy().replace(';tag=LOCAL', '')),
    bodyless('503 Service Unavailable', inviteCopy(), 'Retry-After: 30\n'),
  ]);
});

test('digest admission: a peer outside the trusted list gets 401 with one challenge per algorithm, byte for byte', () => {
  const admission = createAdmission({
    activeCalls: () => 0,
    trustedPeers: ['198.51.100.0/24'],
    digest: { realm: 'ivr.example', credentials: () => undefined },
  });
  const h = harness({ admission: admission.hook });
  h.send(INVITE);
  assert.equal(h.calls.length, 0);
  const challenge = h.sent()[1]!;
  const nonces = [...challenge.matchAll(/nonce="([^"]+)"/g)].map((match) => match[1]);
  assert.equal(nonces.length, 2);
  assert.equal(nonces[0], nonces[1]);
  assert.equal(challenge.replaceAll(nonces[0]!, 'NONCE'), bodyless('401 Unauthorized', inviteCopy(), `WWW-Authenticate: Digest realm="ivr.example", nonce="NONCE", algorithm=SHA-256, qop="auth"
WWW-Authenticate: Digest realm="ivr.example", nonce="NONCE", algorithm=MD5, qop="auth"
`));
});

const withTimer = (se: string, supported = 'Supported: timer\n') => INVITE.replace('Contact:', `Session-Expires: ${se}\n${supported}Contact:`);

test('Session-Expires below Min-SE → 422 with our Min-SE (RFC 4028 §9)', () => {
  const h = harness();
  h.send(withTimer('60'));
  assert.equal(h.calls.length, 0);
  assert.equal(h.sent().at(-1), bodyless('422 Session Interval Too Small', inviteCopy(), 'Min-SE: 90\n'));
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
  assert.equal(h.sent().at(-1), bodyless('200 OK', dialogCopy('UPDATE', 2), 'Contact: <sip:192.0.2.1:5060>\nSession-Expires: 120;refresher=uac\nRequire: timer\n'));
  h.clock.advance(87_999);
  assert.deepEqual(h.ended, []);
  h.clock.advance(1);
  assert.deepEqual(h.ended, ['session-timer']);
  assert.match(h.lines().at(-1)!, /^BYE /);
});

/** The peer's answer to the last request we sent with this method. */
function peerAnswers(h: ReturnType<typeof harness>, method: string, status: number, reason: string, body = '') {
  const sent = [...h.channel.sent].reverse().find((entry) => entry.bytes.startsWith(`${method} `));
  assert.ok(sent, `no ${method} sent`);
  const extra = body === '' ? [] : [{ name: 'Content-Type', value: 'application/sdp' }];
  const answer = buildResponse(sent.message as SipRequest, status, reason, extra);
  answer.body = Buffer.from(body);
  h.uas.receiveResponse(answer);
}

/** A call where we are the session-timer refresher (the caller does not support timers), answered and ACKed. */
function weRefresh(allow: string) {
  const h = harness();
  h.send(withTimer('180', `Allow: ${allow}\n`));
  const call = h.calls[0]!;
  call.accept(ANSWER);
  assert.equal(h.sent().at(-1), wire(`SIP/2.0 200 OK
${inviteCopy()}Contact: <sip:192.0.2.1:5060>
${ALLOW}Supported: timer
Session-Expires: 180;refresher=uas
Content-Type: application/sdp
Content-Length: ${ANSWER.length}

`).toString() + ANSWER);
  const tag = h.localTag();
  h.send(inDialog('ACK', 1, tag));
  return { ...h, call, tag };
}

test('we refresh with a body-less UPDATE at half the interval when the peer allows UPDATE; each 2xx re-arms', () => {
  const h = weRefresh('INVITE, ACK, CANCEL, BYE, UPDATE');
  h.clock.advance(90_000);
  assert.equal(h.sent().at(-1), ours('UPDATE', 2, 'Session-Expires: 180;refresher=uas\nSupported: timer\n'));
  peerAnswers(h, 'UPDATE', 200, 'OK');
  h.clock.advance(90_000);
  assert.equal(h.sent().at(-1), ours('UPDATE', 3, 'Session-Expires: 180;refresher=uas\nSupported: timer\n'));
  // No answer this time: the session ends at 180 − 32 = 148 s after the last refresh.
  h.clock.advance(58_000 - 1);
  assert.deepEqual(h.ended, []);
  h.clock.advance(1);
  assert.deepEqual(h.ended, ['session-timer']);
  assert.equal(h.sent().at(-1), ours('BYE', 4));
});

test('without UPDATE in the peer Allow we refresh with a re-INVITE offering our SDP unchanged, and ACK its 2xx (RFC 4028 §10)', () => {
  const h = weRefresh('INVITE, ACK, CANCEL, BYE');
  const answers: string[] = [];
  h.call.on('answer', (sdp) => answers.push(sdp));
  h.clock.advance(90_000);
  const refresh = ours('INVITE', 2, `Session-Expires: 180;refresher=uas\n${ALLOW}Supported: timer\nContent-Type: application/sdp\n`, ANSWER);
  assert.equal(h.sent().at(-1), refresh);
  h.clock.advance(500);
  assert.equal(h.sent().at(-1), refresh); // Timer A: the INVITE is resent over UDP
  peerAnswers(h, 'INVITE', 200, 'OK', 'v=0\r\ns=peer\r\n');
  const ack = h.channel.sent.at(-1)!.bytes;
  assert.equal(normal(ack), ours('ACK', 2));
  assert.notEqual(/branch=(\S+)/.exec(ack)![1], /branch=(\S+)/.exec(h.channel.sent.at(-2)!.bytes)![1]); // §17.1.1.3: its own branch
  assert.deepEqual(answers, ['v=0\r\ns=peer\r\n']);
  // A retransmitted 2xx gets the same ACK again and changes nothing else.
  peerAnswers(h, 'INVITE', 200, 'OK', 'v=0\r\ns=peer\r\n');
  assert.equal(h.channel.sent.at(-1)!.bytes, ack);
  assert.deepEqual(answers, ['v=0\r\ns=peer\r\n']);
  // The 2xx refreshed the session: the next refresh is due 90 s later, the call lives on.
  h.clock.advance(89_999);
  assert.equal(h.channel.sent.at(-1)!.bytes, ack);
  h.clock.advance(1);
  assert.equal(h.sent().at(-1), ours('INVITE', 3, `Session-Expires: 180;refresher=uas\n${ALLOW}Supported: timer\nContent-Type: application/sdp\n`, ANSWER));
  assert.deepEqual(h.ended, []);
});

test('offers cross: the peer offer during our refresh re-INVITE gets 491; after our 491 the next offer is served', () => {
  const h = weRefresh('INVITE, ACK, BYE');
  h.call.on('reinvite', (offer) => offer.answer(ANSWER));
  h.clock.advance(90_000);
  h.send(inDialog('INVITE', 2, h.tag, 'Content-Type: application/sdp\n', 'v=0\r\n'));
  assert.equal(h.sent().at(-1), bodyless('491 Request Pending', dialogCopy('INVITE', 2)));
  h.send(inDialog('UPDATE', 3, h.tag)); // no offer in it: answered
  assert.equal(h.sent().at(-1), bodyless('200 OK', dialogCopy('UPDATE', 3), 'Contact: <sip:192.0.2.1:5060>\n'));
  peerAnswers(h, 'INVITE', 491, 'Request Pending');
  assert.match(h.sent().at(-1)!, /^ACK sip:caller@192\.0\.2\.10:5060 SIP\/2\.0\r\n[^]*\r\nCSeq: 2 ACK\r\n/); // the transaction ACKs a failure
  h.send(inDialog('INVITE', 4, h.tag, 'Content-Type: application/sdp\n', 'v=0\r\n'));
  assert.match(h.sent().at(-1)!, /^SIP\/2\.0 200 OK\r\n[^]*CSeq: 4 INVITE\r\n/);
});

test('a refresh due while the peer offer awaits the application waits for it; refused, the re-INVITE goes out then', () => {
  const h = weRefresh('INVITE, ACK, BYE');
  const offers: SdpOffer[] = [];
  h.call.on('reinvite', (offer) => offers.push(offer));
  h.clock.advance(89_000);
  h.send(inDialog('INVITE', 2, h.tag, 'Content-Type: application/sdp\n', 'v=0\r\n'));
  h.clock.advance(1_000);
  assert.doesNotMatch(h.sent().at(-1)!, /^INVITE /);
  offers[0]!.reject();
  assert.deepEqual(h.sent().slice(-2), [
    bodyless('488 Not Acceptable Here', dialogCopy('INVITE', 2)),
    ours('INVITE', 2, `Session-Expires: 180;refresher=uas\n${ALLOW}Supported: timer\nContent-Type: application/sdp\n`, ANSWER),
  ]);
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
  assert.equal(h.sent().at(-1), bodyless('200 OK', dialogCopy('NOTIFY', 2)));
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

test('onReject reports each new INVITE the stack refuses by itself, once, and nothing else', () => {
  const seen: Array<[number, string, string]> = [];
  const h = harness({ onReject: (r) => seen.push([r.status, r.reason, r.transport]) });
  const branch = (n: number, text: string) => text.replace('z9hG4bKinv1', `z9hG4bKrj${n}`).replace('call-1@', `call-rj${n}@`);
  h.send(branch(1, INVITE.replace('INVITE sip:5551000@192.0.2.1', 'INVITE tel:5551000')));
  h.send(branch(2, INVITE.replace('Contact:', 'Require: 100rel\nContact:')));
  h.send(branch(3, INVITE.replace('Contact:', 'Accept: text/plain\nContact:')));
  h.send(branch(4, INVITE.replace('Content-Type: application/sdp', 'Content-Type: text/plain')));
  h.send(branch(5, withTimer('60')));
  // A retransmission is absorbed by its transaction; an OPTIONS refusal is no call.
  h.send(branch(5, withTimer('60')));
  h.send(OPTIONS.replace('Content-Length', 'Require: 100rel\nContent-Length'));
  assert.deepEqual(h.lines().map((line) => line.split(' ')[1]).filter((status) => status !== '100'), ['416', '420', '406', '415', '422', '422', '420']); // the retransmission gets the 422 again (§17.2.1)
  assert.deepEqual(seen, [
    [416, 'unsupported-uri-scheme', 'udp'],
    [420, 'bad-extension', 'udp'],
    [406, 'not-acceptable', 'udp'],
    [415, 'unsupported-media-type', 'udp'],
    [422, 'session-interval-too-small', 'udp'],
  ]);
  assert.equal(h.calls.length, 0);
});
