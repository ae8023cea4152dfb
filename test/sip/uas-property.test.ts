// Property: whatever a peer and the application do, in any order, the UAS core never throws,
// every call ends exactly once, and when time runs out no call, transaction or timer is left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FakeScheduler } from './fake-scheduler.ts';
import { RecordingChannel, request, response } from './helpers.ts';
import { UserAgentServer } from '../../src/sip/user-agent-server.ts';
import type { IncomingCall, SdpOffer } from '../../src/sip/incoming-call.ts';
import { firstHeader } from '../../src/sip/headers.ts';

const peerMethods = ['INVITE', 'RE-INVITE', 'ACK', 'CANCEL', 'BYE', 'INFO', 'UPDATE', 'NOTIFY', 'OPTIONS', 'FOO'] as const;

const action = fc.oneof(
  fc.record({ kind: fc.constant('peer' as const), method: fc.constantFrom(...peerMethods), call: fc.integer({ min: 0, max: 2 }), retransmit: fc.boolean(), cseq: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('app' as const), op: fc.constantFrom('accept', 'reject', 'hangup', 'transfer', 'answer-offer', 'reject-offer', 'close'), call: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ kind: fc.constant('reply' as const), status: fc.constantFrom(100, 200, 202, 481, 500) }),
  fc.record({ kind: fc.constant('time' as const), ms: fc.integer({ min: 0, max: 40_000 }) }),
);

test('property: random peer and application behaviour never throws and always winds down', () => {
  fc.assert(
    fc.property(fc.array(action, { maxLength: 50 }), fc.boolean(), (actions, reliable) => {
      const clock = new FakeScheduler();
      const channel = new RecordingChannel(reliable, () => clock.now());
      // A list, not a map by Call-ID: a new INVITE may reuse a Call-ID (e.g. after a 401, §22.2).
      const calls: IncomingCall[] = [];
      const endings = new Map<IncomingCall, number>();
      const offers: SdpOffer[] = [];
      const uas = new UserAgentServer({
        scheduler: clock,
        local: (kind) => ({ kind, host: '192.0.2.1', port: 5060 }),
        onCall: (call) => {
          calls.push(call);
          call.on('ended', () => endings.set(call, (endings.get(call) ?? 0) + 1));
          call.on('reinvite', (offer) => offers.push(offer));
        },
      });
      const localTags = new Map<string, string>();
      const learnTags = () => {
        for (const sent of channel.sent) {
          const to = /^To: .*;tag=([0-9a-f]{16})/m.exec(sent.bytes);
          const callId = /^Call-ID: (.*)\r$/m.exec(sent.bytes)?.[1];
          if (to && callId && sent.bytes.startsWith('SIP/2.0')) localTags.set(callId, to[1]!);
        }
      };
      for (const step of actions) {
        if (step.kind === 'time') clock.advance(step.ms);
        else if (step.kind === 'reply') {
          const last = [...channel.sent].reverse().find((s) => !s.bytes.startsWith('SIP/2.0'));
          if (last !== undefined) {
            const head = last.bytes.split('\r\n\r\n')[0]!.split('\r\n');
            const keep = head.filter((line) => /^(Via|From|To|Call-ID|CSeq):/.test(line));
            uas.receiveResponse(response(`SIP/2.0 ${step.status} X\n${keep.join('\n')}\nContent-Length: 0\n\n`));
          }
        } else if (step.kind === 'app') {
          const call = calls[step.call];
          if (call === undefined) continue;
          if (step.op === 'accept') call.accept('v=0\r\n');
          if (step.op === 'reject') call.reject(486, 'Busy Here');
          if (step.op === 'hangup') call.hangup();
          if (step.op === 'close') call.close();
          if (step.op === 'transfer') void call.transfer('sip:agent@192.0.2.30', []);
          if (step.op === 'answer-offer') offers.shift()?.answer('v=0\r\n');
          if (step.op === 'reject-offer') offers.shift()?.reject();
        } else {
          learnTags();
          const callId = `c${step.call}`;
          const tag = localTags.get(callId);
          const inDialog = step.method !== 'INVITE' && step.method !== 'CANCEL' && step.method !== 'OPTIONS';
          const method = step.method === 'RE-INVITE' ? 'INVITE' : step.method;
          const cseq = step.method === 'INVITE' || step.method === 'CANCEL' || step.method === 'ACK' ? 1 : step.cseq + 1;
          const branch = step.method === 'INVITE' || step.method === 'CANCEL' || (step.method === 'ACK' && step.retransmit) ? `z9hG4bK${callId}` : `z9hG4bK${callId}${method}${cseq}${step.retransmit ? '' : clock.now()}`;
          const body = method === 'INVITE' || method === 'UPDATE' ? 'v=0\r\n' : method === 'NOTIFY' ? 'SIP/2.0 200 OK\r\n' : '';
          uas.receiveRequest(
            request(`${method} sip:5551000@192.0.2.1 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=${branch}
From: <sip:a@192.0.2.10>;tag=f${step.call}
To: <sip:5551000@192.0.2.1>${inDialog && tag !== undefined ? `;tag=${tag}` : ''}
Call-ID: ${callId}
CSeq: ${cseq} ${method}
Max-Forwards: 70
${method === 'NOTIFY' ? 'Event: refer\nSubscription-State: terminated\n' : ''}${body ? `Content-Type: ${method === 'NOTIFY' ? 'message/sipfrag' : 'application/sdp'}\n` : ''}Content-Length: ${body.length}

${body}`),
            channel,
          );
        }
      }
      for (const call of calls) call.close();
      clock.runAll();
      assert.equal(uas.activeCalls, 0);
      assert.equal(uas.transactions.size, 0);
      assert.equal(clock.armed, 0);
      for (const call of calls) assert.equal(endings.get(call), 1, `call ${call.callId} ended ${endings.get(call)} times`);
      // Every message sent is well formed enough to carry a CSeq.
      assert.ok(channel.sent.every((s) => firstHeader(s.message, 'CSeq') !== undefined));
    }),
    { numRuns: 400 },
  );
});
