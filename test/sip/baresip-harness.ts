// Runs inside a loopback-only network namespace (loopback-namespace.ts): baresip 1.0 binds its
// RTP and DNS sockets to the wildcard address. Starts the test UAS, lets baresip call it and
// hang up, and prints one JSON line with what happened.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import type { TransportKind } from '../../src/sip/transport.ts';
import { makeTestPki } from './tls-fixture.ts';
import { startTestUas } from './test-uas.ts';

/** One second of 8 kHz mono 16-bit silence as a WAV file (baresip's aufile source). */
function silenceWav(): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + 16000, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(8000, 24);
  header.writeUInt32LE(16000, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(16000, 40);
  return Buffer.concat([header, Buffer.alloc(16000)]);
}

const transport = process.argv[2] as TransportKind;
const dir = mkdtempSync(join(tmpdir(), 'traceless-baresip-'));
const pki = transport === 'tls' ? makeTestPki() : undefined;
const { server, report, settled } = await startTestUas({
  [transport]: pki === undefined ? { host: '127.0.0.1', port: 0 } : { host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey },
});
try {
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
      ...(pki === undefined ? [] : [`sip_cafile ${pki.paths.ca}`]),
      '',
    ].join('\n'),
  );
  const param = transport === 'udp' ? '' : `;transport=${transport}`;
  writeFileSync(join(dir, 'accounts'), `<sip:caller@127.0.0.1${param}>;regint=0\n`);
  const port = server.address(transport)!.port;
  // -t quits after 2 s, which hangs the call up with a BYE.
  const child = spawn('baresip', ['-4', '-f', dir, '-e', `/dial sip:5551000@127.0.0.1:${port}`, '-t', '2'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code === 0) await settled();
  process.stdout.write(`${JSON.stringify({ code, established: /Call established/.test(output), ...report })}\n`);
} finally {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
  pki?.remove();
}
