// Runs inside a loopback-only network namespace (loopback-namespace.ts): the test UAS on UDP and
// TCP, then sipp as UAC with one scenario; prints sipp's exit code and what the UAS saw as JSON.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startTestUas } from './test-uas.ts';

const [transport = 'u1', scenario = '', service = '', ...extra] = process.argv.slice(2);
const { server, report, settled } = await startTestUas({ udp: { host: '127.0.0.1', port: 0 }, tcp: { host: '127.0.0.1', port: 0 } });
const dir = mkdtempSync(join(tmpdir(), 'traceless-sipp-'));
try {
  const port = server.address(transport === 'u1' ? 'udp' : 'tcp')!.port;
  const child = spawn(
    'sipp',
    [`127.0.0.1:${port}`, '-sf', resolve(import.meta.dirname, '../fixtures/sipp', scenario), '-s', service, '-t', transport, '-i', '127.0.0.1', '-p', '5070', '-m', '1', '-nostdin', '-timeout', '30s', '-timeout_error', ...extra],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code === 0) await settled();
  process.stdout.write(`${JSON.stringify({ code, stderr: stderr.slice(0, 1000), ...report })}\n`);
} finally {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
