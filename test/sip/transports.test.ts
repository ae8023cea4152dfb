import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import tls, { connect as tlsConnect } from 'node:tls';
import { once } from 'node:events';
import { UdpTransport } from '../../src/sip/transport-udp.ts';
import { TcpTransport } from '../../src/sip/transport-tcp.ts';
import type { StreamTransportOptions } from '../../src/sip/transport-tcp.ts';
import { TlsTransport } from '../../src/sip/transport-tls.ts';
import { TransportLayer, stampVia, responseTarget } from '../../src/sip/transport-layer.ts';
import type { MessageSink } from '../../src/sip/transport-layer.ts';
import { buildResponse } from '../../src/sip/serializer.ts';
import { firstHeader } from '../../src/sip/headers.ts';
import type { SipRequest } from '../../src/sip/message.ts';
import { normalTags, request, wire, OPTIONS } from './helpers.ts';
import { makeTestPki } from './tls-fixture.ts';
import { FakeScheduler } from './fake-scheduler.ts';

/** Answers every request 200 OK and records what it saw. */
function echoSink() {
  const seen: SipRequest[] = [];
  const sink: MessageSink = {
    receiveRequest(req, channel) {
      seen.push(req);
      channel.send(buildResponse(req, 200, 'OK'));
    },
    receiveResponse: () => undefined,
  };
  return { seen, sink };
}

const optionsVia = (via: string) => wire(OPTIONS.replace('SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKopt1', via));

/** Collects what a stream socket receives; `until` resolves once the text satisfies the predicate or the socket closes. */
function reader(socket: Socket | import('node:tls').TLSSocket) {
  let text = '';
  let closed = false;
  const waiters: Array<() => void> = [];
  const wake = () => waiters.splice(0).forEach((fn) => fn());
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString('latin1');
    wake();
  });
  socket.on('close', () => {
    closed = true;
    wake();
  });
  socket.on('error', () => undefined);
  return {
    async until(predicate: (text: string) => boolean): Promise<string> {
      while (!predicate(text) && !closed) await new Promise<void>((resolve) => waiters.push(resolve));
      const out = text;
      text = '';
      return out;
    },
  };
}

/** A TCP listener on 127.0.0.1 feeding a transport layer, closed when the test ends. */
async function tcpLayer(t: { after(fn: () => unknown): void }, sink: MessageSink, options: Partial<StreamTransportOptions> = {}) {
  const layer = new TransportLayer(sink);
  const transport = await TcpTransport.listen({ host: '127.0.0.1', port: 0, ...options }, layer.receive.bind(layer));
  layer.add(transport);
  t.after(() => layer.close());
  return transport;
}

/** A client connection to the listener, with a reader on it. */
async function tcpClient(port: number) {
  const socket = netConnect(port, '127.0.0.1');
  await once(socket, 'connect');
  return { socket, read: reader(socket) };
}

test('stampVia adds received when the sent-by host differs, and rport when asked (RFC 3581)', () => {
  const plain = request(OPTIONS);
  stampVia(plain, { kind: 'udp', address: '198.51.100.7', port: 40000 });
  assert.equal(firstHeader(plain, 'Via'), 'SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKopt1;received=198.51.100.7');
  const asked = request(OPTIONS.replace('branch=z9hG4bKopt1', 'rport;branch=z9hG4bKopt1'));
  const via = stampVia(asked, { kind: 'udp', address: '192.0.2.10', port: 40000 });
  assert.equal(firstHeader(asked, 'Via'), 'SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKopt1;received=192.0.2.10;rport=40000');
  assert.deepEqual(responseTarget(via!, { kind: 'udp', address: '192.0.2.10', port: 40000 }), { address: '192.0.2.10', port: 40000 });
  const same = request(OPTIONS);
  const untouched = stampVia(same, { kind: 'udp', address: '192.0.2.10', port: 40000 });
  assert.equal(firstHeader(same, 'Via'), 'SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKopt1');
  // Without rport, UDP responses go to the sent-by port (§18.2.2).
  assert.deepEqual(responseTarget(untouched!, { kind: 'udp', address: '192.0.2.10', port: 40000 }), { address: '192.0.2.10', port: 5060 });
  // Streams reuse the connection.
  assert.deepEqual(responseTarget(untouched!, { kind: 'tcp', address: '192.0.2.10', port: 40001, connectionId: 3 }), { address: '192.0.2.10', port: 40001, connectionId: 3 });
});

test('UDP on 127.0.0.1: a request is answered to the rport source, with received/rport stamped', async (t) => {
  const { seen, sink } = echoSink();
  const layer = new TransportLayer(sink);
  const transport = await UdpTransport.listen({ host: '127.0.0.1', port: 0 }, layer.receive.bind(layer));
  layer.add(transport);
  const client = createSocket('udp4');
  t.after(async () => {
    client.close();
    await layer.close();
    await transport.close(); // safe twice
  });
  await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
  const clientPort = client.address().port;
  const reply = once(client, 'message');
  client.send(Buffer.from('\r\n\r\n'), transport.local.port, '127.0.0.1'); // keep-alive: ignored
  client.send(optionsVia('SIP/2.0/UDP 10.0.0.9:5099;rport;branch=z9hG4bKudp1'), transport.local.port, '127.0.0.1');
  const [data] = (await reply) as [Buffer];
  const text = data.toString('latin1');
  assert.match(text, /^SIP\/2\.0 200 OK\r\n/);
  assert.ok(text.includes(`Via: SIP/2.0/UDP 10.0.0.9:5099;branch=z9hG4bKudp1;received=127.0.0.1;rport=${clientPort}\r\n`));
  assert.equal(seen.length, 1);
});

test('UDP: a malformed request that can be answered gets 400, never a crash', async (t) => {
  const { seen, sink } = echoSink();
  const layer = new TransportLayer(sink);
  const transport = await UdpTransport.listen({ host: '127.0.0.1', port: 0 }, layer.receive.bind(layer));
  layer.add(transport);
  const client = createSocket('udp4');
  t.after(async () => {
    client.close();
    await layer.close();
  });
  await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
  const reply = once(client, 'message');
  const bad = optionsVia('SIP/2.0/UDP 127.0.0.1:5099;rport;branch=z9hG4bKbad').toString('latin1').replace('CSeq: 7 OPTIONS', 'CSeq: x OPTIONS');
  client.send(Buffer.from(bad), transport.local.port, '127.0.0.1');
  const [data] = (await reply) as [Buffer];
  assert.match(data.toString('latin1'), /^SIP\/2\.0 400 /);
  assert.equal(seen.length, 0);
});

test('TCP: framing across chunks, CRLFCRLF ping answered with CRLF, response on the same connection', async (t) => {
  const { seen, sink } = echoSink();
  const transport = await tcpLayer(t, sink);
  const { socket, read } = await tcpClient(transport.local.port);
  socket.write('\r\n\r\n');
  const pong = await read.until((text) => text.length >= 2);
  assert.equal(pong, '\r\n');
  const message = optionsVia('SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bKtcp1');
  socket.write(message.subarray(0, 40));
  socket.write(message.subarray(40));
  const text = await read.until((all) => all.includes('\r\n\r\n'));
  assert.match(text, /^SIP\/2\.0 200 OK\r\nVia: SIP\/2\.0\/TCP 127\.0\.0\.1:5099;branch=z9hG4bKtcp1\r\n/);
  assert.equal(seen.length, 1);
  socket.destroy();
});

test('TCP: the per-IP connection limit refuses an extra connection while the first keeps working', async (t) => {
  const transport = await tcpLayer(t, echoSink().sink, { maxConnectionsPerIp: 1 });
  const first = netConnect(transport.local.port, '127.0.0.1');
  const firstRead = reader(first);
  await once(first, 'connect');
  first.write(optionsVia('SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bKlim1'));
  assert.match(await firstRead.until((all) => all.includes('\r\n\r\n')), /^SIP\/2\.0 200 OK/);
  const second = netConnect(transport.local.port, '127.0.0.1');
  const secondRead = reader(second);
  second.write(optionsVia('SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bKlim2'));
  assert.equal(await secondRead.until(() => false), '');
  first.write(optionsVia('SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bKlim3'));
  assert.match(await firstRead.until((all) => all.includes('\r\n\r\n')), /^SIP\/2\.0 200 OK/);
  assert.equal(transport.connectionCount, 1);
  first.destroy();
});

test('TCP: the global connection limit refuses an extra connection while the others keep working', async (t) => {
  const transport = await tcpLayer(t, echoSink().sink, { maxConnections: 2, maxConnectionsPerIp: 64 });
  const clients = [await tcpClient(transport.local.port), await tcpClient(transport.local.port)];
  const ask = async (client: Awaited<ReturnType<typeof tcpClient>>, branch: string) => {
    client.socket.write(optionsVia(`SIP/2.0/TCP 127.0.0.1:5099;branch=${branch}`));
    return client.read.until((all) => all.includes('\r\n\r\n'));
  };
  // Both are accepted (and counted) once each has been answered.
  assert.match(await ask(clients[0]!, 'z9hG4bKmax1'), /^SIP\/2\.0 200 OK/);
  assert.match(await ask(clients[1]!, 'z9hG4bKmax2'), /^SIP\/2\.0 200 OK/);
  const third = await tcpClient(transport.local.port);
  third.socket.write(optionsVia('SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bKmax3'));
  assert.equal(await third.read.until(() => false), ''); // closed unanswered
  assert.match(await ask(clients[0]!, 'z9hG4bKmax4'), /^SIP\/2\.0 200 OK/);
  assert.equal(transport.connectionCount, 2);
  for (const client of clients) client.socket.destroy();
});

test('TCP: a connection is closed after idleTimeoutMs without input; CRLF keep-alives reset the timer (fake clock)', async (t) => {
  const clock = new FakeScheduler();
  const transport = await tcpLayer(t, echoSink().sink, { idleTimeoutMs: 10_000, scheduler: clock });
  const { socket, read } = await tcpClient(transport.local.port);
  const ping = async () => {
    socket.write('\r\n\r\n');
    assert.equal(await read.until((text) => text.length >= 2), '\r\n'); // the server has read it
  };
  await ping();
  clock.advance(9_999);
  await ping(); // at 9.999 s: resets the timer
  clock.advance(9_999); // 19.998 s since the connection opened, 9.999 s since the last ping
  socket.write('\r\n'); // a lone CRLF (RFC 5626 pong) is input too
  await ping();
  clock.advance(9_999);
  assert.equal(socket.destroyed, false);
  await ping();
  clock.advance(10_000);
  assert.equal(await read.until(() => false), ''); // closed by the server
  assert.equal(socket.readyState, 'closed');
});

test('TCP: an oversize message gets 400 naming the size as the reason, then the connection is closed', async (t) => {
  const transport = await tcpLayer(t, echoSink().sink, { maxMessageBytes: 1024 });
  const { socket, read } = await tcpClient(transport.local.port);
  socket.write(optionsVia('SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bKbig').toString('latin1').replace('Content-Length: 0', 'Content-Length: 5000'));
  const text = await read.until(() => false);
  assert.equal(normalTags(text), wire(`SIP/2.0 400 Message Too Large
Via: SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bKbig
From: <sip:caller@192.0.2.10>;tag=from2
To: <sip:192.0.2.1>;tag=LOCAL
Call-ID: opt-1@192.0.2.10
CSeq: 7 OPTIONS
Content-Length: 0

`).toString('latin1'));
  assert.equal(socket.readyState, 'closed');
});

test('TLS: TLS 1.2+ with the configured certificate; client certificates verified when enabled', async (t) => {
  const pki = makeTestPki();
  t.after(() => pki.remove());
  const { seen, sink } = echoSink();
  const layer = new TransportLayer(sink);
  const transport = await TlsTransport.listen(
    { host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, verifyClients: true },
    layer.receive.bind(layer),
  );
  layer.add(transport);
  t.after(() => layer.close());
  const port = transport.local.port;

  const good = tlsConnect({ host: '127.0.0.1', port, ca: pki.ca, cert: pki.clientCert, key: pki.clientKey });
  await once(good, 'secureConnect');
  assert.ok(['TLSv1.2', 'TLSv1.3'].includes(good.getProtocol() ?? ''));
  const goodRead = reader(good);
  good.write(optionsVia('SIP/2.0/TLS 127.0.0.1:5099;branch=z9hG4bKtls1'));
  const text = await goodRead.until((all) => all.includes('\r\n\r\n'));
  assert.match(text, /^SIP\/2\.0 200 OK\r\n/);
  good.destroy();

  // No client certificate: the server rejects the handshake.
  const anonymous = tlsConnect({ host: '127.0.0.1', port, ca: pki.ca });
  anonymous.write(optionsVia('SIP/2.0/TLS 127.0.0.1:5099;branch=z9hG4bKtls2'));
  const [anonError] = (await once(anonymous, 'error').catch((e: unknown) => [e])) as [Error];
  assert.ok(anonError instanceof Error);

  // A TLS 1.2-only client is served.
  const tls12 = tlsConnect({ host: '127.0.0.1', port, ca: pki.ca, cert: pki.clientCert, key: pki.clientKey, maxVersion: 'TLSv1.2' });
  await once(tls12, 'secureConnect');
  assert.equal(tls12.getProtocol(), 'TLSv1.2');
  tls12.destroy();
  assert.equal(seen.length, 1);
});

/** The error a client gets when it offers only [min, max]; 'connected' if the handshake succeeds. */
async function handshake(port: number, ca: Buffer, minVersion: tls.SecureVersion, maxVersion: tls.SecureVersion): Promise<string> {
  const client = tlsConnect({ host: '127.0.0.1', port, ca, minVersion, maxVersion, ciphers: 'DEFAULT@SECLEVEL=0' });
  try {
    return await Promise.race([
      once(client, 'secureConnect').then(() => 'connected'),
      once(client, 'error').then(([error]) => String((error as { code?: string }).code)),
    ]);
  } catch (error) {
    return String((error as { code?: string }).code);
  } finally {
    client.destroy();
  }
}

test('TLS: the listener enforces its own minimum version, whatever the Node default says', async (t) => {
  const pki = makeTestPki();
  const nodeDefault = tls.DEFAULT_MIN_VERSION;
  // Node's default minimum lowered (as --tls-min-v1.0 would): the transport must not depend on it.
  tls.DEFAULT_MIN_VERSION = 'TLSv1';
  t.after(() => {
    tls.DEFAULT_MIN_VERSION = nodeDefault;
    pki.remove();
  });
  const listen = async (minVersion?: 'TLSv1.2' | 'TLSv1.3') => {
    const transport = await TlsTransport.listen({ host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey, ...(minVersion ? { minVersion } : {}) }, () => undefined);
    t.after(() => transport.close());
    return transport.local.port;
  };
  // The server itself answers with a protocol_version alert (RFC 8446 §6.2): the refusal is its own.
  const refused = 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION';
  const byDefault = await listen();
  assert.deepEqual(
    [await handshake(byDefault, pki.ca, 'TLSv1', 'TLSv1.1'), await handshake(byDefault, pki.ca, 'TLSv1.2', 'TLSv1.2'), await handshake(byDefault, pki.ca, 'TLSv1.3', 'TLSv1.3')],
    [refused, 'connected', 'connected'],
  );
  const strict = await listen('TLSv1.3');
  assert.deepEqual([await handshake(strict, pki.ca, 'TLSv1.2', 'TLSv1.2'), await handshake(strict, pki.ca, 'TLSv1.3', 'TLSv1.3')], [refused, 'connected']);
  await assert.rejects(
    TlsTransport.listen({ host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey, minVersion: 'TLSv1.1' as 'TLSv1.2' }, () => undefined),
    RangeError,
  );
});

test('TCP: a request without Content-Length gets 400, never reaches the core (RFC 3261 §18.3)', async (t) => {
  const { seen, sink } = echoSink();
  const transport = await tcpLayer(t, sink);
  const { socket, read } = await tcpClient(transport.local.port);
  const message = optionsVia('SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bKncl').toString('latin1');
  assert.match(message, /Content-Length: 0\r\n/);
  socket.write(message.replace('Content-Length: 0\r\n', ''));
  const text = await read.until((all) => all.includes('\r\n\r\n'));
  assert.equal(normalTags(text), wire(`SIP/2.0 400 Missing Content-Length
Via: SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bKncl
From: <sip:caller@192.0.2.10>;tag=from2
To: <sip:192.0.2.1>;tag=LOCAL
Call-ID: opt-1@192.0.2.10
CSeq: 7 OPTIONS
Content-Length: 0

`).toString('latin1'));
  assert.equal(seen.length, 0);
  socket.destroy();
});

test('the trace hook sees the exact bytes of a request in and its response out', async (t) => {
  const traced: Array<[string, string, string]> = [];
  const layer = new TransportLayer(echoSink().sink, {
    onTrace: (direction, kind, bytes) => traced.push([direction, kind, bytes.toString('latin1')]),
  });
  const transport = await TcpTransport.listen({ host: '127.0.0.1', port: 0 }, layer.receive.bind(layer));
  layer.add(transport);
  t.after(() => layer.close());
  const { socket, read } = await tcpClient(transport.local.port);
  const message = optionsVia('SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bKtrace');
  socket.write(message);
  const answer = await read.until((all) => all.includes('\r\n\r\n'));
  assert.deepEqual(traced.map(([direction, kind]) => [direction, kind]), [['in', 'tcp'], ['out', 'tcp']]);
  assert.equal(traced[0]![2], message.toString('latin1'));
  assert.equal(traced[1]![2], answer);
  socket.destroy();
});

test('inbound bytes are zeroed once handled (an INFO body can carry a key): UDP datagrams and framed stream messages', async (t) => {
  const { seen, sink } = echoSink();
  const layer = new TransportLayer(sink);
  const handled: Buffer[] = [];
  const receive = (data: Buffer, source: Parameters<typeof layer.receive>[1]) => {
    handled.push(data);
    layer.receive(data, source);
  };
  const udp = await UdpTransport.listen({ host: '127.0.0.1', port: 0 }, receive);
  const tcp = await TcpTransport.listen({ host: '127.0.0.1', port: 0 }, receive);
  layer.add(udp);
  layer.add(tcp);
  const client = createSocket('udp4');
  t.after(async () => {
    client.close();
    await layer.close();
  });
  await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
  const info = (via: string) =>
    optionsVia(via).toString('latin1').replace('OPTIONS sip', 'INFO sip').replace('7 OPTIONS', '7 INFO')
      .replace('Content-Length: 0\r\n\r\n', 'Content-Type: application/dtmf\r\nContent-Length: 1\r\n\r\n7');
  const udpReply = once(client, 'message');
  client.send(Buffer.from(info('SIP/2.0/UDP 127.0.0.1:5099;rport;branch=z9hG4bKzu'), 'latin1'), udp.local.port, '127.0.0.1');
  await udpReply;
  const { socket, read } = await tcpClient(tcp.local.port);
  socket.write(info('SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bKzt'));
  await read.until((all) => all.includes('\r\n\r\n'));
  socket.destroy();
  assert.equal(seen.length, 2);
  // The requests kept their own copies of the body; what the transports received is all zero.
  assert.deepEqual(seen.map((req) => req.body.toString('latin1')), ['7', '7']);
  assert.equal(handled.length, 2);
  for (const data of handled) {
    assert.ok(data.length > 100);
    assert.ok(data.every((byte) => byte === 0), 'inbound buffer still holds the message');
  }
});
