// The e2e test caller itself, against a scripted UAS on loopback: the bytes of its RFC 4733
// keys inside its media stream, its ACK, and CANCEL of an unanswered INVITE (which the real
// IVR answers too fast to cancel deterministically).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import type { SipMessage, SipRequest } from '../../src/sip/message.ts';
import { parseMessage } from '../../src/sip/parser.ts';
import { buildResponse, serializeMessage } from '../../src/sip/serializer.ts';
import { firstHeader } from '../../src/sip/headers.ts';
import { parseRtp, type RtpPacket } from '../../src/media/rtp-packet.ts';
import { TestCall } from '../support/test-caller.ts';

const HOST = '127.0.0.1';

/** A UAS that hands every SIP message to the test and can answer it. */
async function scriptedUas(): Promise<{ socket: Socket; port: number; next: (method: string) => Promise<{ message: SipRequest; reply: (bytes: Buffer) => void }> }> {
  const socket = createSocket('udp4');
  const inbox: Array<{ message: SipMessage; port: number }> = [];
  const waiters: Array<() => void> = [];
  socket.on('message', (bytes, from) => {
    const parsed = parseMessage(bytes);
    if (!parsed.ok) return;
    inbox.push({ message: parsed.message, port: from.port });
    for (const wake of waiters.splice(0)) wake();
  });
  socket.bind(0, HOST);
  await once(socket, 'listening');
  const next = async (method: string): Promise<{ message: SipRequest; reply: (bytes: Buffer) => void }> => {
    for (;;) {
      const index = inbox.findIndex((m) => m.message.kind === 'request' && m.message.method === method);
      if (index >= 0) {
        const [{ message, port }] = inbox.splice(index, 1) as [{ message: SipRequest; port: number }];
        return { message, reply: (bytes) => socket.send(bytes, port, HOST) };
      }
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  return { socket, port: socket.address().port, next };
}

function answerSdp(rtpPort: number): string {
  return ['v=0', `o=- 1 1 IN IP4 ${HOST}`, 's=-', `c=IN IP4 ${HOST}`, 't=0 0', `m=audio ${rtpPort} RTP/AVP 0 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=sendrecv', ''].join('\r\n');
}

test('test caller: ACKs the 2xx, keys one RFC 4733 event inside its 20 ms stream, hangs up with BYE', async (t) => {
  const uas = await scriptedUas();
  const rtp = createSocket('udp4');
  rtp.bind(0, HOST);
  await once(rtp, 'listening');
  const packets: RtpPacket[] = [];
  let onPacket: () => void = () => undefined;
  rtp.on('message', (bytes) => {
    const parsed = parseRtp(Buffer.from(bytes));
    if (parsed.ok) packets.push({ ...parsed.packet, payload: Uint8Array.from(parsed.packet.payload) });
    onPacket();
  });
  const phone = await TestCall.dial({ port: uas.port });
  t.after(() => {
    phone.close();
    uas.socket.close();
    rtp.close();
  });

  const invite = await uas.next('INVITE');
  assert.match(invite.message.body.toString('utf8'), /m=audio \d+ RTP\/AVP 0 101\r\n/);
  assert.match(invite.message.body.toString('utf8'), /a=rtpmap:101 telephone-event\/8000\r\n/);
  const ok = buildResponse(invite.message, 200, 'OK', [{ name: 'Contact', value: `<sip:ivr@${HOST}:${uas.port}>` }, { name: 'Content-Type', value: 'application/sdp' }], 'uastag');
  ok.body = Buffer.from(answerSdp(rtp.address().port), 'utf8');
  invite.reply(serializeMessage(ok));
  const answer = await phone.answered;
  assert.deepEqual(answer.rtp, { address: HOST, port: rtp.address().port });
  const ack = await uas.next('ACK');
  assert.equal(ack.message.uri, `sip:ivr@${HOST}:${uas.port}`);
  assert.equal(firstHeader(ack.message, 'CSeq'), '1 ACK');
  assert.match(firstHeader(ack.message, 'To') ?? '', /;tag=uastag$/);

  const received = (count: number): Promise<void> =>
    new Promise<void>((resolve) => {
      onPacket = () => {
        if (packets.length >= count) resolve();
      };
    });
  // Silence flows as soon as the call is up; the key goes into that stream.
  await received(2);
  assert.deepEqual(packets.slice(0, 2).map((p) => [p.payloadType, Buffer.from(p.payload).equals(Buffer.alloc(160, 0xff))]), [[0, true], [0, true]]);
  await phone.sendKeys('5');
  // Two more frames after the key so the stream is seen resuming.
  await received(packets.length + 2);
  const events = packets.filter((p) => p.payloadType === 101);
  assert.equal(events.length, 7, '100 ms: five updates, the last one ended, then two more end packets');
  assert.deepEqual(events.map((p) => p.marker), [true, false, false, false, false, false, false]);
  assert.equal(new Set(events.map((p) => p.timestamp)).size, 1, 'one timestamp for the whole event');
  assert.deepEqual(events.map((p) => Buffer.from(p.payload).toString('hex')), [
    '050a00a0', '050a0140', '050a01e0', '050a0280', '058a0320', '058a0320', '058a0320',
  ]);
  // One stream: sequence numbers run on across audio and event packets, the clock keeps going.
  for (let i = 1; i < packets.length; i++) {
    assert.equal(packets[i]!.sequenceNumber, (packets[i - 1]!.sequenceNumber + 1) & 0xffff);
    assert.equal(packets[i]!.ssrc, packets[0]!.ssrc);
  }
  const first = packets.indexOf(events[0]!);
  assert.equal(events[0]!.timestamp, packets[first - 1]!.timestamp + 160, 'the event starts on the next 20 ms tick');
  assert.equal(packets.at(-1)!.payloadType, 0);
  assert.equal(packets.at(-1)!.payload.length, 160);

  const hangup = phone.hangup();
  const bye = await uas.next('BYE');
  assert.equal(firstHeader(bye.message, 'CSeq'), '2 BYE');
  bye.reply(serializeMessage(buildResponse(bye.message, 200, 'OK')));
  assert.equal(await hangup, 200);
  assert.equal(await phone.ended, 'local-bye');
});

test('test caller: CANCEL of an unanswered INVITE, then ACK for the 487', async (t) => {
  const uas = await scriptedUas();
  const phone = await TestCall.dial({ port: uas.port });
  t.after(() => {
    phone.close();
    uas.socket.close();
  });
  const invite = await uas.next('INVITE');
  invite.reply(serializeMessage(buildResponse(invite.message, 180, 'Ringing', [], 'uastag')));
  await once(phone, 'provisional');
  assert.deepEqual(phone.provisionals, [180]);

  const cancelled = phone.cancel();
  const cancel = await uas.next('CANCEL');
  assert.equal(cancel.message.uri, invite.message.uri);
  assert.equal(firstHeader(cancel.message, 'Via'), firstHeader(invite.message, 'Via'), 'same branch as the INVITE (§9.1)');
  assert.equal(firstHeader(cancel.message, 'CSeq'), '1 CANCEL');
  cancel.reply(serializeMessage(buildResponse(cancel.message, 200, 'OK')));
  assert.equal(await cancelled, 200);
  invite.reply(serializeMessage(buildResponse(invite.message, 487, 'Request Terminated', [], 'uastag')));
  await assert.rejects(phone.answered, /487/);
  const ack = await uas.next('ACK');
  assert.equal(firstHeader(ack.message, 'Via'), firstHeader(invite.message, 'Via'), 'the 487 is ACKed in the INVITE transaction (§17.1.1.3)');
  assert.equal(await phone.ended, 'cancelled');
});
