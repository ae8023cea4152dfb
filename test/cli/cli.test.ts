import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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

test('each command has its own help', () => {
  const result = traceless('simulate', '--help');
  assert.equal(result.code, 0);
  assert.match(result.stdout, /--keys <keys>/);
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
