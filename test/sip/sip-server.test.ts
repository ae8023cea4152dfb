import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect } from 'node:net';
import { SipServer } from '../../src/sip/sip-server.ts';
import { createAdmission } from '../../src/sip/admission.ts';
import type { IncomingCall } from '../../src/sip/incoming-call.ts';
import { wire, INVITE } from './helpers.ts';

test('a server without any listener is a configuration error', async () => {
  await assert.rejects(SipServer.start({ onCall: () => undefined }), /no listener configured/);
});

test('over real UDP: the admission cap answers the second INVITE 503 with Retry-After, close() is idempotent', async (t) => {
  const calls: IncomingCall[] = [];
  let server: SipServer | undefined;
  const admission = createAdmission({ maxCalls: 1, activeCalls: () => server?.activeCalls ?? 0, retryAfterSeconds: 9 });
  server = await SipServer.start({ udp: { host: '127.0.0.1', port: 0 }, admission: admission.hook, onCall: (call) => calls.push(call) });
  const client = createSocket('udp4');
  t.after(async () => {
    client.close();
    await server.close();
    await server.close();
  });
  await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
  const port = server.address('udp')!.port;
  const replies: string[] = [];
  const got = (count: number) =>
    new Promise<void>((resolve) => {
      const onMessage = (data: Buffer) => {
        replies.push(data.toString('latin1'));
        if (replies.length >= count) {
          client.off('message', onMessage);
          resolve();
        }
      };
      client.on('message', onMessage);
    });
  const first = got(1);
  client.send(wire(INVITE.replace('192.0.2.10:5060;branch', '127.0.0.1:5060;rport;branch')), port, '127.0.0.1');
  await first;
  const second = got(3);
  client.send(wire(INVITE.replace('192.0.2.10:5060;branch=z9hG4bKinv1', '127.0.0.1:5060;rport;branch=z9hG4bKinv2').replace('call-1@', 'call-2@')), port, '127.0.0.1');
  await second;
  assert.equal(calls.length, 1);
  assert.match(replies[2]!, /^SIP\/2\.0 503 Service Unavailable\r\n[^]*\r\nRetry-After: 9\r\n/);
  assert.equal(admission.counters.full, 1);
  // Closing the server ends the waiting call (480) exactly once.
  const ended = once(calls[0]!, 'ended');
  await server.close();
  assert.deepEqual(await ended, ['local-bye']);
});

test('OPTIONS keep-alive between two servers over UDP: 200; to a silent peer: timeout on Timer F', async (t) => {
  const { FakeScheduler } = await import('./fake-scheduler.ts');
  const a = await SipServer.start({ udp: { host: '127.0.0.1', port: 0 }, onCall: () => undefined });
  const b = await SipServer.start({ udp: { host: '127.0.0.1', port: 0 }, onCall: () => undefined });
  t.after(async () => {
    await a.close();
    await b.close();
  });
  assert.equal(await a.options('udp', { address: '127.0.0.1', port: b.address('udp')!.port }), 200);
  assert.equal(await a.options('tcp', { address: '127.0.0.1', port: 5060 }), 'transport-error');

  const clock = new FakeScheduler();
  const silent = createSocket('udp4');
  await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
  const c = await SipServer.start({ udp: { host: '127.0.0.1', port: 0 }, scheduler: clock, onCall: () => undefined });
  t.after(async () => {
    silent.close();
    await c.close();
  });
  const heard = once(silent, 'message');
  const result = c.options('udp', { address: '127.0.0.1', port: silent.address().port });
  const [datagram] = (await heard) as [Buffer];
  assert.equal(datagram.toString('latin1').split('\r\n')[0], `OPTIONS sip:127.0.0.1:${silent.address().port} SIP/2.0`);
  clock.advance(32_000);
  assert.equal(await result, 'timeout');
});

test('over real TCP: the framing error is the 400 reason, and the stack clock closes idle connections', async (t) => {
  const { FakeScheduler } = await import('./fake-scheduler.ts');
  const { DEFAULT_SIP_LIMITS } = await import('../../src/sip/limits.ts');
  const clock = new FakeScheduler();
  const server = await SipServer.start({
    tcp: { host: '127.0.0.1', port: 0, idleTimeoutMs: 60_000 },
    limits: { ...DEFAULT_SIP_LIMITS, maxMessageBytes: 1024 },
    scheduler: clock,
    onCall: () => undefined,
  });
  t.after(() => server.close());
  const connectTo = async () => {
    const socket = connect(server.address('tcp')!.port, '127.0.0.1');
    await once(socket, 'connect');
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    const closed = once(socket, 'close').then(() => text);
    return { socket, closed };
  };
  const big = await connectTo();
  big.socket.write(wire(INVITE.replace('Content-Length: 5', 'Content-Length: 5000').replace('SIP/2.0/UDP', 'SIP/2.0/TCP')));
  assert.match(await big.closed, /^SIP\/2\.0 400 Message Too Large\r\n/);

  const idle = await connectTo();
  idle.socket.write('\r\n\r\n');
  await once(idle.socket, 'data'); // the pong: the server holds the connection and its idle timer
  clock.advance(60_000);
  assert.equal(await idle.closed, '\r\n');
});
