// Interop with sipp (Debian sip-tester) as the UAC, against a small UAS built from src/sip:
// basic call, CANCEL, re-INVITE, BYE from either side, and retransmissions under loss.
// Debian's sipp is built without OpenSSL (no -t l1), so TLS interop runs with baresip instead
// (test/sip/interop-baresip.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { interopSkip } from '../support/interop.ts';
import { SipServer } from '../../src/sip/sip-server.ts';
import type { EndCause, IncomingCall } from '../../src/sip/incoming-call.ts';

const skip = interopSkip('sipp');
const scenarios = resolve(import.meta.dirname, '../fixtures/sipp');

const UAS_SDP = 'v=0\r\no=traceless 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n';

/** The test UAS: answers with a fixed SDP; number "ring" never answers, "hangup" hangs up on INFO. */
async function startUas() {
  const seen = { calls: [] as IncomingCall[], ended: [] as EndCause[], reinvites: 0, infos: [] as string[] };
  const server = await SipServer.start({
    udp: { host: '127.0.0.1', port: 0 },
    tcp: { host: '127.0.0.1', port: 0 },
    onCall: (call) => {
      seen.calls.push(call);
      call.on('ended', (cause) => seen.ended.push(cause));
      call.on('reinvite', (offer) => {
        seen.reinvites++;
        offer.answer(UAS_SDP);
      });
      call.on('info', (info) => {
        seen.infos.push(`${info.contentType} ${info.body.length}`);
        if (call.dialled === 'hangup') call.hangup();
      });
      if (call.dialled !== 'ring') call.accept(UAS_SDP);
    },
  });
  return { server, seen };
}

/** Runs sipp to completion in a temp dir (its logs go there and are removed); resolves its exit code. */
async function sipp(transport: 'u1' | 't1', port: number, scenario: string, service: string, extra: string[] = []): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'traceless-sipp-'));
  try {
    const child = spawn(
      'sipp',
      [`127.0.0.1:${port}`, '-sf', join(scenarios, scenario), '-s', service, '-t', transport, '-i', '127.0.0.1', '-m', '1', '-nostdin', '-timeout', '30s', '-timeout_error', ...extra],
      { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number>((done) => child.on('exit', (exitCode) => done(exitCode ?? -1)));
    if (code !== 0) process.stderr.write(`sipp ${scenario} exited ${code}: ${stderr.slice(0, 2000)}\n`);
    return code;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const transport of ['u1', 't1'] as const) {
  const name = transport === 'u1' ? 'UDP' : 'TCP';

  test(`sipp over ${name}: basic call, BYE from the caller`, { skip }, async (t) => {
    const { server, seen } = await startUas();
    t.after(() => server.close());
    const port = server.address(transport === 'u1' ? 'udp' : 'tcp')!.port;
    assert.equal(await sipp(transport, port, 'uac-basic.xml', '5551000'), 0);
    assert.equal(seen.calls.length, 1);
    assert.equal(seen.calls[0]!.dialled, '5551000');
    assert.equal(seen.calls[0]!.transport, transport === 'u1' ? 'udp' : 'tcp');
    assert.match(seen.calls[0]!.remoteSdp, /m=audio \d+ RTP\/AVP 0 101/);
    assert.deepEqual(seen.ended, ['remote-bye']);
    assert.equal(server.activeCalls, 0);
  });

  test(`sipp over ${name}: CANCEL before the answer → 200 + 487`, { skip }, async (t) => {
    const { server, seen } = await startUas();
    t.after(() => server.close());
    const port = server.address(transport === 'u1' ? 'udp' : 'tcp')!.port;
    assert.equal(await sipp(transport, port, 'uac-cancel.xml', 'ring'), 0);
    assert.deepEqual(seen.ended, ['cancel']);
  });

  test(`sipp over ${name}: re-INVITE answered by the app, then BYE`, { skip }, async (t) => {
    const { server, seen } = await startUas();
    t.after(() => server.close());
    const port = server.address(transport === 'u1' ? 'udp' : 'tcp')!.port;
    assert.equal(await sipp(transport, port, 'uac-reinvite.xml', '5551000'), 0);
    assert.equal(seen.reinvites, 1);
    assert.deepEqual(seen.ended, ['remote-bye']);
  });

  test(`sipp over ${name}: the UAS hangs up (BYE from our side) after an INFO`, { skip }, async (t) => {
    const { server, seen } = await startUas();
    t.after(() => server.close());
    const port = server.address(transport === 'u1' ? 'udp' : 'tcp')!.port;
    assert.equal(await sipp(transport, port, 'uac-remote-bye.xml', 'hangup'), 0);
    assert.deepEqual(seen.infos, ['application/dtmf-relay 24']);
    assert.deepEqual(seen.ended, ['local-bye']);
  });
}

test('sipp over UDP with 10% packet loss: retransmissions on both sides complete every call', { skip }, async (t) => {
  const { server, seen } = await startUas();
  t.after(() => server.close());
  const port = server.address('udp')!.port;
  const code = await sipp('u1', port, 'uac-basic.xml', '5551000', ['-lost', '10', '-m', '20', '-r', '20', '-l', '20']);
  assert.equal(code, 0);
  assert.equal(new Set(seen.calls.map((call) => call.callId)).size, 20);
  assert.equal(seen.ended.length, 20);
});
