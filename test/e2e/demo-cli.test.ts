// `traceless demo --config <file>` points the parking line at a real city database and
// gateway (issue 7); a bad file must fail the way issue 2 says: exit 2, every problem named by
// its path (with file, line and column), before anything starts — no embedded database, no
// demo.ready line, nothing listening.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = new URL('../../bin/traceless', import.meta.url).pathname;

async function demo(config: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'traceless-demo-cli-'));
  const file = join(dir, 'bad.yaml');
  try {
    writeFileSync(file, config);
    const child = spawn(bin, ['demo', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const [code] = (await once(child, 'close')) as [number | null];
    return { code, stdout, stderr: stderr.replaceAll(file, '<file>') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const APP = `
numbers:
  "3115550100": parking
applications:
  parking:
    flow: apps/parking/flow.ts
    agentUri: sip:agent@127.0.0.1
    backends: [city]
    payment: true
payment:
  type: https-gateway
  chargeUrl: https://pay.gateway.example/v1/charges
  tls: { caFile: ca.pem, certFile: client.pem, keyFile: client.key }
admin: { address: 127.0.0.1, port: 9090 }
`;

test('demo --config with schema errors: exit 2, each problem by path with its line and column', async () => {
  const result = await demo(`sip:
  listeners:
    - transport: udp
      address: 127.0.0.1
      port: 99999
backends:
  city:
    type: postgres
    host: db.example.gov
    database: parking
    user: traceless
    poolSize: many
    operations: {}
${APP.replace('backends: [city]', 'backends: [city]\n    languages: [en-US, fr-FR]')}`);
  assert.equal(result.code, 2, result.stderr);
  const lines = result.stderr.trim().split('\n');
  assert.ok(lines.some((line) => /^<file>:5:\d+: sip\.listeners\.0\.port: /.test(line)), result.stderr);
  assert.ok(lines.some((line) => /^<file>:12:\d+: backends\.city\.poolSize: /.test(line)), result.stderr);
  assert.ok(lines.some((line) => /^<file>:\d+:\d+: applications\.parking\.languages\.1: /.test(line)), result.stderr);
  assert.ok(!result.stdout.includes('demo.ready'), 'nothing started');
});

test('demo --config naming a database without TLS: exit 2 naming backends.city.tls, nothing started', async () => {
  const result = await demo(`sip:
  listeners:
    - { transport: udp, address: 127.0.0.1, port: 5060 }
backends:
  city:
    type: postgres
    host: db.example.gov
    database: parking
    user: traceless
    operations: {}
${APP}`);
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /backends\.city\.tls: /);
  assert.equal(result.stdout, '', 'no demo.ready line, no banner');
});

test('demo --config with a file that does not exist: exit 2', async () => {
  const child = spawn(bin, ['demo', '--config', join(tmpdir(), 'traceless-no-such-config.yaml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const [code] = (await once(child, 'close')) as [number | null];
  assert.equal(code, 2, stderr);
  assert.match(stderr, /traceless-no-such-config\.yaml/);
});
