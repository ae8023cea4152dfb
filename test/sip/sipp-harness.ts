// Runs inside a loopback-only network namespace (loopback-namespace.ts): the test UAS on UDP,
// TCP and TLS, then sipp as UAC with one scenario; prints sipp's exit code and what the UAS saw
// as JSON. Transport 'u1' or 't1' is sipp's own; 'tls' is sipp over TCP into a relay that
// carries each connection to our TLS listener (tls-relay.ts: Debian's sipp has no TLS).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startTestUas } from './test-uas.ts';
import { makeTestPki } from './tls-fixture.ts';
import { startTlsRelay } from './tls-relay.ts';

const [transport = 'u1', scenario = '', service = '', ...extra] = process.argv.slice(2);
const pki = transport === 'tls' ? makeTestPki() : undefined;
const { server, report, settled } = await startTestUas({
  udp: { host: '127.0.0.1', port: 0 },
  tcp: { host: '127.0.0.1', port: 0 },
  ...(pki === undefined ? {} : { tls: { host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey } }),
});
const relay = pki === undefined ? undefined : await startTlsRelay({ port: server.address('tls')!.port, ca: pki.ca });
const dir = mkdtempSync(join(tmpdir(), 'traceless-sipp-'));
try {
  const port = relay?.port ?? server.address(transport === 'u1' ? 'udp' : 'tcp')!.port;
  const sippTransport = transport === 'tls' ? 't1' : transport;
  const child = spawn(
    'sipp',
    [`127.0.0.1:${port}`, '-sf', resolve(import.meta.dirname, '../fixtures/sipp', scenario), '-s', service, '-t', sippTransport, '-i', '127.0.0.1', '-p', '5070', '-m', '1', '-nostdin', '-timeout', '30s', '-timeout_error', ...extra],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code === 0) await settled();
  process.stdout.write(`${JSON.stringify({ code, stderr: stderr.slice(0, 1000), ...report })}\n`);
} finally {
  await relay?.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
  pki?.remove();
}
