// Interop with baresip (Debian) calling in over UDP, TCP and TLS and hanging up, against a
// small UAS built from src/sip. baresip runs headless: a WAV file as its audio source, a config
// dir in a temp folder (removed after), and -t to quit, which hangs the call up with a BYE.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { interopSkip } from '../support/interop.ts';
import { SipServer } from '../../src/sip/sip-server.ts';
import type { EndCause, IncomingCall } from '../../src/sip/incoming-call.ts';
import type { TransportKind } from '../../src/sip/transport.ts';
import { makeTestPki } from './tls-fixture.ts';

const skip = interopSkip('baresip', 'openssl');

const UAS_SDP = 'v=0\r\no=traceless 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';

/** One second of 8 kHz mono 16-bit silence as a WAV file (baresip's aufile source). */
function silenceWav(): Buffer {
  const samples = Buffer.alloc(16000);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + samples.length, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(8000, 24);
  header.writeUInt32LE(16000, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(samples.length, 40);
  return Buffer.concat([header, samples]);
}

async function baresip(dir: string, transport: TransportKind, port: number, caFile?: string): Promise<{ code: number; output: string }> {
  writeFileSync(join(dir, 'silence.wav'), silenceWav());
  writeFileSync(
    join(dir, 'config'),
    [
      'poll_method epoll',
      'sip_listen 127.0.0.1:0',
      `audio_source aufile,${join(dir, 'silence.wav')}`,
      `audio_player aufile,${join(dir, 'played.wav')}`,
      'module_path /usr/lib/baresip/modules',
      'module g711.so',
      'module aufile.so',
      'module_app account.so',
      'module_app menu.so',
      'rtp_ports 42000-42100',
      ...(caFile === undefined ? [] : [`sip_cafile ${caFile}`]),
      '',
    ].join('\n'),
  );
  const param = transport === 'udp' ? '' : `;transport=${transport}`;
  writeFileSync(join(dir, 'accounts'), `<sip:caller@127.0.0.1${param}>;regint=0\n`);
  const child = spawn('baresip', ['-f', dir, '-e', `/dial sip:5551000@127.0.0.1:${port}`, '-t', '2'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number>((done) => child.on('exit', (exitCode) => done(exitCode ?? -1)));
  return { code, output };
}

for (const transport of ['udp', 'tcp', 'tls'] as const) {
  test(`baresip calls in over ${transport.toUpperCase()}, the call is answered and baresip hangs up`, { skip, timeout: 60_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'traceless-baresip-'));
    const pki = transport === 'tls' ? makeTestPki() : undefined;
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
      pki?.remove();
    });
    const calls: IncomingCall[] = [];
    const ended: EndCause[] = [];
    const server = await SipServer.start({
      [transport]: transport === 'tls' ? { host: '127.0.0.1', port: 0, cert: pki!.serverCert, key: pki!.serverKey } : { host: '127.0.0.1', port: 0 },
      onCall: (call) => {
        calls.push(call);
        call.on('ended', (cause) => ended.push(cause));
        call.accept(UAS_SDP);
      },
    });
    t.after(() => server.close());
    const { code, output } = await baresip(dir, transport, server.address(transport)!.port, pki?.paths.ca);
    assert.equal(code, 0);
    assert.match(output, /Call established/);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.dialled, '5551000');
    assert.equal(calls[0]!.transport, transport);
    assert.match(calls[0]!.remoteSdp, /m=audio \d+ RTP\/AVP/);
    // baresip may exit before its BYE has been processed here: wait for the event, not a time.
    if (ended.length === 0) await once(calls[0]!, 'ended');
    assert.deepEqual(ended, ['remote-bye']);
  });
}
