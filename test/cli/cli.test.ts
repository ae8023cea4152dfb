import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeOverlay } from '../flow/wav-file.ts';

const bin = new URL('../../bin/traceless', import.meta.url).pathname;

function traceless(...args: string[]) {
  const result = spawnSync(bin, args, { encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('--version prints the package version and exits 0', () => {
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  const result = traceless('--version');
  assert.equal(result.code, 0);
  assert.equal(result.stdout.trim(), version);
});

test('--help lists every command', () => {
  const result = traceless('--help');
  assert.equal(result.code, 0);
  for (const command of ['start', 'demo', 'validate', 'simulate']) assert.match(result.stdout, new RegExp(`\\b${command}\\b`));
});

test('each command has its own help, listing its options, exit 0', () => {
  const options: Record<string, string[]> = {
    start: ['--config <file>', '--unsafe-debug'],
    demo: ['--config <file>', '--sip-port <port>', '--admin-port <port>', '--media-timeout <seconds>', '--log-level <level>'],
    validate: ['<flow>', '--prompts <dir>'],
    simulate: ['<flow>', '--keys <keys>'],
  };
  for (const [command, expected] of Object.entries(options)) {
    const result = traceless(command, '--help');
    assert.equal(result.code, 0, `${command} --help: ${result.stderr}`);
    assert.match(result.stdout, new RegExp(`^Usage: traceless ${command} `, 'm'));
    for (const option of expected) assert.ok(result.stdout.includes(option), `${command} --help lacks ${option}:\n${result.stdout}`);
  }
});

test('an unknown command is a usage error (exit 2)', () => {
  const result = traceless('frobnicate');
  assert.equal(result.code, 2);
  assert.match(result.stderr, /unknown command/);
});

test('a missing required option is a usage error (exit 2)', () => {
  const result = traceless('start');
  assert.equal(result.code, 2);
  assert.match(result.stderr, /--config/);
});

test('a bad config lists every problem by path and line, exit 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'traceless-cli-'));
  try {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      [
        'sip:',
        '  listeners:',
        '    - transport: carrier-pigeon',
        '      port: 5060',
        'numbers:',
        '  "311": nowhere',
        'applications: {}',
        'admin:',
        '  address: 0.0.0.0',
        '',
      ].join('\n'),
    );
    const result = traceless('start', '--config', file);
    assert.equal(result.code, 2);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 3, result.stderr);
    assert.match(result.stderr, /bad\.yaml:3:\d+: sip\.listeners\.0\.transport: /);
    assert.match(result.stderr, /bad\.yaml:6:\d+: numbers\.311: unknown application "nowhere"/);
    assert.match(result.stderr, /admin\.token: an admin listener outside loopback needs a bearer token/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const fixture = (name: string) => new URL(`../flow/fixtures/${name}`, import.meta.url).pathname;

test("validate: a good flow with its own prompts (--prompts overlay) prints ok and exits 0; without them, exit 2 at each id", () => {
  const dir = mkdtempSync(join(tmpdir(), 'traceless-cli-prompts-'));
  try {
    writeOverlay(dir, ['greeting', 'account.enter', 'pin.enter', 'pin.wrong', 'balance.is']);
    const result = traceless('validate', fixture('pin-check.yaml'), '--prompts', dir);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /pin-check\.yaml: ok/);
    const bare = traceless('validate', fixture('pin-check.yaml'));
    assert.equal(bare.code, 2);
    assert.match(bare.stdout, /pin-check\.yaml:5:10: prompt 'greeting' is not in the en-US or es-US catalogue/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('validate --help says what it checks', () => {
  const result = traceless('validate', '--help');
  assert.equal(result.code, 0);
  assert.match(result.stdout, /prompt ids in every language/);
  assert.match(result.stdout, /--prompts <dir>/);
});

test('simulate: a flow that ends in its error fallback exits 1 even when the fallback transferred', () => {
  const dir = mkdtempSync(join(tmpdir(), 'traceless-cli-flow-'));
  try {
    const file = join(dir, 'fails.yaml');
    writeFileSync(file, 'name: fails\nagent: sip:agent@example.test\nsteps:\n  - backend: { name: city, operation: lookup, into: r }\n');
    const result = traceless('simulate', file, '--keys', '');
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stdout, /outcome transferred \(fallback\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('validate: a TypeScript flow in a folder outside the package loads (tsx require hook registered), exit 0', () => {
  const dir = mkdtempSync(join(tmpdir(), 'traceless-cli-flow-'));
  try {
    const file = join(dir, 'flow.ts');
    // tmpdir has no package.json with "type": "module" above it, like an operator's /etc/traceless.
    const defineFlow = new URL('../../src/flow/define-flow.ts', import.meta.url).pathname;
    writeFileSync(file, `import { defineFlow } from ${JSON.stringify(defineFlow)};\nexport default defineFlow(async (call) => { await call.say('goodbye'); });\n`);
    const result = traceless('validate', file);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(result.stdout.trim(), `${file}: ok`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('validate: a flow that leaks a secret is rejected with file:line:col, exit 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'traceless-cli-flow-'));
  try {
    const file = join(dir, 'leaky.yaml');
    writeFileSync(
      file,
      [
        'name: leaky',
        'agent: sip:agent@example.test',
        'steps:',
        '  - gatherSecret: { prompt: pin.enter, kind: pin, min: 4, max: 4, into: pin }',
        '  - transfer: { target: agent, context: { pin: $pin } }',
        '',
      ].join('\n'),
    );
    const result = traceless('validate', file);
    assert.equal(result.code, 2);
    assert.match(result.stdout, /leaky\.yaml:5:\d+/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('simulate: prints the transcript with plain keys and masks secure ones', () => {
  const result = traceless('simulate', fixture('pin-check.yaml'), '--keys', '1234#,9876');
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /play en-US\/greeting/);
  assert.match(result.stdout, /key {2}1\n/);
  assert.match(result.stdout, /key {2}•/);
  assert.doesNotMatch(result.stdout, /9876|key {2}9/);
});

/** A free-port holder: a UDP socket and a TCP listener on 127.0.0.1, kept bound while the CLI runs. */
async function holdPorts(): Promise<{ udp: UdpSocket; tcp: Server[]; udpPort: number; tcpPorts: number[]; release(): Promise<void> }> {
  const udp = createSocket('udp4');
  udp.bind(0, '127.0.0.1');
  await once(udp, 'listening');
  const tcp = [createServer(), createServer()];
  for (const server of tcp) {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  }
  return {
    udp,
    tcp,
    udpPort: udp.address().port,
    tcpPorts: tcp.map((server) => (server.address() as { port: number }).port),
    async release() {
      udp.close();
      await Promise.all(tcp.map((server) => new Promise((resolve) => server.close(resolve))));
    },
  };
}

/** Runs the CLI without blocking this process (the ports it must not take stay held by us meanwhile). */
async function tracelessAsync(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

test('start: a flow that is not a flow and an unparseable SIP TLS certificate and key → exit 2 naming each key, before any port is bound', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'traceless-cli-preflight-'));
  // We hold the configured fixed ports ourselves: a server that bound (or tried to bind) any
  // of them before finding the bad files would fail with EADDRINUSE and exit 1 instead.
  const ports = await holdPorts();
  try {
    writeFileSync(join(dir, 'flow.ts'), 'export default { hello: "not a flow" };\n');
    writeFileSync(join(dir, 'sip.crt'), 'not a certificate\n');
    writeFileSync(join(dir, 'sip.key'), 'not a key either\n');
    const file = join(dir, 'traceless.yaml');
    writeFileSync(
      file,
      [
        'sip:',
        '  listeners:',
        `    - { transport: udp, address: 127.0.0.1, port: ${ports.udpPort} }`,
        `    - { transport: tls, address: 127.0.0.1, port: ${ports.tcpPorts[0]}, tls: { certFile: sip.crt, keyFile: sip.key } }`,
        '  trustedPeers: [127.0.0.1/32]',
        'cells: { max: 2 }',
        'numbers: { "*": demo }',
        'applications:',
        '  demo: { flow: flow.ts, agentUri: "sip:agent@127.0.0.1" }',
        `admin: { address: 127.0.0.1, port: ${ports.tcpPorts[1]} }`,
        '',
      ].join('\n'),
    );
    const result = await tracelessAsync('start', '--config', file);
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(result.stderr, /traceless\.yaml:9:\d+: applications\.demo\.flow: flow\.ts: does not load as a flow/);
    assert.match(result.stderr, /traceless\.yaml:4:\d+: sip\.listeners\.1\.tls\.certFile: sip\.crt: no PEM certificate/);
    assert.match(result.stderr, /traceless\.yaml:4:\d+: sip\.listeners\.1\.tls\.keyFile: sip\.key: not a usable PEM private key/);
    assert.doesNotMatch(result.stderr, /EADDRINUSE|not a key either/);
    assert.doesNotMatch(result.stdout, /server\.start/);
  } finally {
    await ports.release();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('start: a runtime failure (the admin port already taken) exits 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'traceless-cli-runtime-'));
  const ports = await holdPorts();
  try {
    writeFileSync(join(dir, 'flow.yaml'), 'name: hello\nagent: sip:agent@example.test\nsteps:\n  - say: goodbye\n');
    const file = join(dir, 'traceless.yaml');
    writeFileSync(
      file,
      [
        'sip:',
        '  listeners: [{ transport: udp, address: 127.0.0.1, port: 0 }]',
        '  trustedPeers: [127.0.0.1/32]',
        'cells: { max: 2 }',
        'numbers: { "*": demo }',
        'applications:',
        '  demo: { flow: flow.yaml, agentUri: "sip:agent@127.0.0.1" }',
        `admin: { address: 127.0.0.1, port: ${ports.tcpPorts[0]} }`,
        '',
      ].join('\n'),
    );
    const result = await tracelessAsync('start', '--config', file);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stderr, /EADDRINUSE/);
  } finally {
    await ports.release();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('simulate: a TypeScript flow that throws exits 1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'traceless-cli-flow-'));
  try {
    const file = join(dir, 'throws.ts');
    const defineFlow = new URL('../../src/flow/define-flow.ts', import.meta.url).pathname;
    writeFileSync(file, `import { defineFlow } from ${JSON.stringify(defineFlow)};\nexport default defineFlow(async () => { throw new Error('boom'); });\n`);
    const result = traceless('simulate', file, '--keys', '');
    assert.equal(result.code, 1, result.stdout + result.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
