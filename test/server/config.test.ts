import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { configSchema, type TracelessConfig } from '../../src/server/config-schema.ts';
import { ConfigError, loadConfig } from '../../src/server/config-load.ts';
import { loadConfigForStart } from '../../src/server/preflight.ts';
import { createPki } from '../../apps/parking/certs.ts';
import { CITY_OPERATIONS } from '../../apps/parking/backends.ts';

function withConfig(text: string, run: (file: string, dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'traceless-config-'));
  try {
    const file = join(dir, 'traceless.yaml');
    writeFileSync(file, text);
    run(file, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function withConfigAsync(text: string, run: (file: string, dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'traceless-config-'));
  try {
    const file = join(dir, 'traceless.yaml');
    writeFileSync(file, text);
    await run(file, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function problemsOf(file: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    loadConfig(file, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.code, 'TRACELESS_CONFIG_INVALID');
    return error.problems.map((problem) => `${problem.path}: ${problem.message}`);
  }
  return [];
}

const minimal = `
sip:
  listeners: [{ transport: udp, address: 127.0.0.1, port: 5060 }]
numbers: { "*": demo }
applications:
  demo: { flow: flow.yaml, agentUri: "sip:agent@127.0.0.1" }
`;

test('the deploy example satisfies the schema', () => {
  const text = readFileSync(new URL('../../deploy/traceless.example.yaml', import.meta.url), 'utf8');
  const result = configSchema.safeParse(parse(text));
  assert.ok(result.success, JSON.stringify(!result.success && result.error.issues));
});

/** The backend names apps/parking/flow.ts passes to call.backend(…): string literals, or a const naming one. */
function parkingFlowBackendNames(): string[] {
  const source = readFileSync(new URL('../../apps/parking/flow.ts', import.meta.url), 'utf8');
  const names = [...source.matchAll(/\.backend\(\s*([^,)\s]+)/g)].map(([, argument]) => {
    const literal = /^(['"])(.+)\1$/.exec(argument!);
    if (literal) return literal[2]!;
    const constant = new RegExp(`const ${argument} = (['"])(.+?)\\1;`).exec(source);
    assert.ok(constant, `backend(${argument}): cannot tell which name it holds; teach this test`);
    return constant[2]!;
  });
  assert.ok(names.length > 0, 'the parking flow queries no backend: has call.backend(…) been renamed?');
  return [...new Set(names)];
}

test('the deploy example lets the parking flow reach every backend it queries, with the operations it runs', () => {
  const example = configSchema.parse(parse(readFileSync(new URL('../../deploy/traceless.example.yaml', import.meta.url), 'utf8')));
  const parking = example.applications.parking;
  assert.ok(parking);
  for (const name of parkingFlowBackendNames()) {
    assert.ok(parking.backends.includes(name), `applications.parking.backends lacks "${name}": every lookup would be refused (egress)`);
    const backend: TracelessConfig['backends'][string] | undefined = example.backends[name];
    assert.ok(backend?.type === 'postgres', `backends.${name} must be the city database`);
    // The SQL is the city's to write; the operation names, parameters and sensitive columns are the flow's contract.
    const contract = (operations: Record<string, { params?: string[] | undefined; sensitiveColumns?: Record<string, string> | undefined }>) =>
      Object.fromEntries(Object.entries(operations).map(([operation, spec]) => [operation, { params: spec.params, sensitiveColumns: spec.sensitiveColumns }]));
    assert.deepEqual(contract(backend.operations), contract(CITY_OPERATIONS));
  }
});

test('docs/connectors.md names the parking database as the flow does', () => {
  const docs = readFileSync(new URL('../../docs/connectors.md', import.meta.url), 'utf8');
  const names = new Set(parkingFlowBackendNames());
  const parkingBlocks = [...docs.matchAll(/```yaml\n([\s\S]*?)```/g)]
    .map((match) => parse(match[1]!) as { backends?: Record<string, { operations?: Record<string, unknown> }> })
    .flatMap((block) => Object.entries(block.backends ?? {}))
    .filter(([, backend]) => backend.operations && Object.hasOwn(backend.operations, 'ticketByCitation'));
  assert.ok(parkingBlocks.length >= 2);
  for (const [name] of parkingBlocks) assert.ok(names.has(name), `docs/connectors.md calls the parking database "${name}"`);
});

test('a minimal config loads and gets the documented defaults', () => {
  withConfig(minimal, (file, dir) => {
    writeFileSync(join(dir, 'flow.yaml'), 'steps: []\n');
    const { config, baseDir } = loadConfig(file, {});
    assert.equal(baseDir, dir);
    assert.equal(config.cells.max, 100);
    assert.deepEqual(config.media.portRange, { min: 20000, max: 29999 });
    assert.equal(config.media.srtp, 'if-tls');
    assert.equal(config.admin.address, '127.0.0.1');
    assert.equal(config.log.level, 'info');
    assert.equal(config.sip.maxTransactions, 40_000);
  });
});

test('an inline secret is refused with the path of the key', () => {
  withConfig(
    `
sip:
  listeners: [{ transport: udp, port: 5060 }]
  auth:
    realm: ivr.example
    users: [{ username: pbx, password: hunter2 }]
numbers: { "*": demo }
applications:
  demo: { flow: flow.yaml, agentUri: "sip:agent@127.0.0.1" }
`,
    (file) => {
      const problems = problemsOf(file);
      assert.ok(problems.some((p) => p.startsWith('sip.auth.users.0.password: must be { file: <path> } or { env: <NAME> }')), problems.join('\n'));
      assert.ok(problems.every((p) => !p.includes('hunter2')), 'the inline value must not be echoed');
    },
  );
});

test('unreadable files and unset environment variables are reported before start', () => {
  withConfig(
    `
sip:
  listeners:
    - transport: tls
      port: 5061
      tls: { certFile: missing.crt, keyFile: missing.key }
  auth:
    realm: ivr.example
    users: [{ username: pbx, password: { env: SIP_PBX_PASSWORD } }]
numbers: { "*": demo }
applications:
  demo: { flow: missing-flow.yaml, agentUri: "sip:agent@127.0.0.1" }
`,
    (file) => {
      const problems = problemsOf(file, {});
      assert.deepEqual(problems.sort(), [
        'applications.demo.flow: file not readable: missing-flow.yaml',
        'sip.auth.users.0.password.env: environment variable SIP_PBX_PASSWORD is not set',
        'sip.listeners.0.tls.certFile: file not readable: missing.crt',
        'sip.listeners.0.tls.keyFile: file not readable: missing.key',
      ]);
    },
  );
});

test('schema errors and cross-reference errors are listed together (and the flow file that is missing)', () => {
  withConfig(
    `
sip:
  listeners: [{ transport: tls, port: 70000 }]
media: { address: localhost }
numbers: { "311": ghost, "abc": demo }
applications:
  demo: { flow: f.yaml, agentUri: "http://nope", backends: [missing], payment: true }
unknownSection: 1
`,
    (file) => {
      const problems = problemsOf(file);
      const paths = problems.map((p) => p.split(':')[0]).sort();
      assert.deepEqual(paths, [
        '',
        'applications.demo.agentUri',
        'applications.demo.backends.0',
        'applications.demo.flow',
        'applications.demo.payment',
        'media.address',
        'numbers.311',
        'numbers.abc',
        'sip.listeners.0.port',
        'sip.listeners.0.tls',
      ]);
    },
  );
});

test('schema problems, missing certificate files and unset environment variables are listed in one round', () => {
  withConfig(
    `
sip:
  listeners:
    - transport: tls
      port: 70000
      tls: { certFile: missing.crt, keyFile: sip.key }
  auth:
    realm: ivr.example
    users: [{ username: pbx, password: { env: SIP_PBX_PASSWORD } }]
numbers: { "*": demo }
applications:
  demo: { flow: flow.yaml, agentUri: "http://not-sip" }
backends:
  city: { type: postgres, host: db.example, database: city, user: ivr, operations: {} }
admin: { token: { file: admin-token } }
`,
    (file, dir) => {
      writeFileSync(join(dir, 'flow.yaml'), 'steps: []\n');
      writeFileSync(join(dir, 'sip.key'), '');
      let error: unknown;
      try {
        loadConfig(file, {});
      } catch (caught) {
        error = caught;
      }
      assert.ok(error instanceof ConfigError, 'expected a ConfigError');
      assert.deepEqual(error.problems.map((problem) => `${problem.path}: ${problem.message}`).sort(), [
        'admin.token.file: file not readable: admin-token',
        'applications.demo.agentUri: a sip: or sips: URI',
        'backends.city.tls: required (plaintext needs insecureDevelopment: true)',
        'sip.auth.users.0.password.env: environment variable SIP_PBX_PASSWORD is not set',
        'sip.listeners.0.port: Too big: expected number to be <=65535',
        'sip.listeners.0.tls.certFile: file not readable: missing.crt',
      ]);
      // Each located at its own line, like the schema's problems.
      const certFile = error.problems.find((problem) => problem.path === 'sip.listeners.0.tls.certFile');
      assert.equal(certFile?.line, 6);
    },
  );
});

test('unquoted dialled numbers are refused: YAML would read 0311555 as 311555 and +13115550100 as 13115550100', () => {
  withConfig(
    `
sip:
  listeners: [{ transport: udp, address: 127.0.0.1, port: 5060 }]
numbers:
  0311555: demo
  +13115550100: demo
  "0311556": demo
  "+13115550101": demo
applications:
  demo: { flow: flow.yaml, agentUri: "sip:agent@127.0.0.1" }
`,
    (file, dir) => {
      writeFileSync(join(dir, 'flow.yaml'), 'steps: []\n');
      let error: unknown;
      try {
        loadConfig(file, {});
      } catch (caught) {
        error = caught;
      }
      assert.ok(error instanceof ConfigError, 'expected a ConfigError');
      assert.deepEqual(
        error.problems.map(({ path, message, line }) => `${line} ${path}: ${message}`),
        [
          '5 numbers.0311555: write the dialled number in quotes ("0311555"): unquoted, YAML reads it as the number 311555',
          '6 numbers.+13115550100: write the dialled number in quotes ("+13115550100"): unquoted, YAML reads it as the number 13115550100',
        ],
      );
      writeFileSync(file, readFileSync(file, 'utf8').replace('0311555: demo', '"0311555": demo').replace('+13115550100: demo', '"+13115550100": demo'));
      assert.deepEqual(Object.keys(loadConfig(file, {}).config.numbers).sort(), ['+13115550100', '+13115550101', '0311555', '0311556']);
    },
  );
});

test('two listeners of one transport are refused (one per transport)', () => {
  withConfig(minimal.replace('listeners: [{ transport: udp, address: 127.0.0.1, port: 5060 }]', 'listeners: [{ transport: udp, port: 5060 }, { transport: udp, port: 5062 }]'), (file, dir) => {
    writeFileSync(join(dir, 'flow.yaml'), 'steps: []\n');
    assert.deepEqual(problemsOf(file), ['sip.listeners.1.transport: a second udp listener (one per transport)']);
  });
});

test('a YAML syntax error names the line', () => {
  withConfig('sip:\n  listeners: [\n', (file) => {
    try {
      loadConfig(file, {});
      assert.fail('expected a ConfigError');
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      assert.match(error.describe(), /traceless\.yaml:\d+:\d+: \(root\): YAML: /);
    }
  });
});

test('application audio must name .wav files, each once; prompt overlays must be directories', () => {
  withConfig(
    `${minimal.replace('agentUri: "sip:agent@127.0.0.1" }', 'agentUri: "sip:agent@127.0.0.1", audio: [hold.mp3, a.wav, a.wav] }')}
prompts:
  overlays: [recordings, flow.yaml]
`,
    (file, dir) => {
      writeFileSync(join(dir, 'flow.yaml'), 'steps: []\n');
      // hold.mp3 is refused by the schema, so it is not looked for on disk as well.
      assert.deepEqual(problemsOf(file).sort(), [
        'applications.demo.audio.0: must name a .wav file',
        'applications.demo.audio.1: file not readable: a.wav',
        'applications.demo.audio.2: a.wav is listed twice',
        'prompts.overlays.0: not a readable directory: recordings',
        'prompts.overlays.1: not a readable directory: flow.yaml',
      ]);
      writeFileSync(file, `${minimal}prompts:\n  overlays: [recordings, flow.yaml]\n`);
      assert.deepEqual(problemsOf(file), ['prompts.overlays.0: not a readable directory: recordings', 'prompts.overlays.1: not a readable directory: flow.yaml']);
    },
  );
});

test('HTTPS endpoints: parameters travel only in a body (never with GET), each named once; rows is a field name', () => {
  withConfig(
    `${minimal}backends:
  permits:
    type: https
    allowedHosts: [permits.example]
    endpoints:
      status: { method: GET, url: "https://permits.example/v1/status", params: [plate] }
      lookup: { method: POST, url: "https://permits.example/v1/lookup", params: [plate, plate], rows: "data.items" }
      ok: { method: PUT, url: "https://permits.example/v1/ok", params: [plate, pin], rows: results }
    tls: { caFile: ca.pem, certFile: c.pem, keyFile: k.pem }
`,
    (file, dir) => {
      for (const pem of ['ca.pem', 'c.pem', 'k.pem']) writeFileSync(join(dir, pem), '');
      assert.deepEqual(
        problemsOf(file).filter((problem) => problem.startsWith('backends')).sort(),
        [
          'backends.permits.endpoints.lookup.params: a parameter is named twice',
          'backends.permits.endpoints.lookup.rows: a JSON field name (letters, digits, _ and -)',
          'backends.permits.endpoints.status.params: a GET sends no body: use POST or PUT to pass parameters',
        ],
      );
    },
  );
});

test('the HTTPS backend examples in docs/configuration.md and deploy/ satisfy the schema', () => {
  const docs = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  const blocks = [...docs.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1]!).filter((block) => block.includes('type: https\n'));
  const deploy = readFileSync(new URL('../../deploy/traceless.example.yaml', import.meta.url), 'utf8');
  // The deploy file keeps its HTTPS backend commented out (the parking line does not use one).
  const lines = deploy.split('\n');
  const start = lines.indexOf('  # permits:');
  const end = lines.findIndex((line, index) => index > start && !line.startsWith('  # '));
  const commented = lines.slice(start, end).map((line) => `  ${line.slice(4)}`).join('\n');
  const examples = [...blocks.map((block) => parse(block) as Record<string, unknown>), { backends: parse(`backends:\n${commented}\n`).backends }];
  assert.equal(examples.length, 2);
  for (const example of examples) {
    const result = configSchema.safeParse({ ...parse(minimal), applications: {}, numbers: {}, ...example });
    assert.ok(result.success, JSON.stringify(!result.success && result.error.issues));
  }
});

/** The problems loadConfigForStart (config checks plus preflight) reports, as `path: message`. */
async function startProblemsOf(file: string, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  try {
    await loadConfigForStart(file, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems.map((problem) => `${problem.path}: ${problem.message}`);
  }
  return [];
}

const goodFlow = 'name: hello\nagent: sip:agent@example.test\nsteps:\n  - say: goodbye\n';

function tlsConfig(files: { sipCert: string; sipKey: string; dbCa: string; dbCert: string; dbKey: string; flow?: string }): string {
  return `
sip:
  listeners:
    - transport: tls
      address: 127.0.0.1
      port: 5061
      tls: { certFile: ${files.sipCert}, keyFile: ${files.sipKey} }
numbers: { "*": demo }
applications:
  demo: { flow: ${files.flow ?? 'flow.yaml'}, agentUri: "sip:agent@127.0.0.1", backends: [city] }
backends:
  city:
    type: postgres
    host: db.example
    database: city
    user: ivr
    tls: { caFile: ${files.dbCa}, certFile: ${files.dbCert}, keyFile: ${files.dbKey} }
    operations: {}
`;
}

test('preflight: flows that load and TLS material that parses and pairs up pass', async () => {
  const pki = createPki();
  try {
    await withConfigAsync(tlsConfig({ sipCert: pki.server.cert, sipKey: pki.server.key, dbCa: pki.ca, dbCert: pki.client.cert, dbKey: pki.client.key }), async (file, dir) => {
      writeFileSync(join(dir, 'flow.yaml'), goodFlow);
      assert.deepEqual(await startProblemsOf(file), []);
      const loaded = await loadConfigForStart(file, {});
      assert.equal(loaded.config.backends.city?.type, 'postgres');
    });
  } finally {
    pki.remove();
  }
});

test('preflight: a flow that is not a flow, a garbage certificate and key, a key of another certificate, a CA file without a certificate — each at its key, keys never echoed', async () => {
  const pki = createPki();
  try {
    const config = tlsConfig({ sipCert: 'sip.crt', sipKey: 'sip.key', dbCa: 'ca.pem', dbCert: pki.client.cert, dbKey: pki.server.key, flow: 'not-a-flow.ts' });
    await withConfigAsync(config, async (file, dir) => {
      writeFileSync(join(dir, 'not-a-flow.ts'), 'export default { steps: [] };\n');
      writeFileSync(join(dir, 'sip.crt'), 'hello, I am not a certificate\n');
      writeFileSync(join(dir, 'sip.key'), '-----BEGIN PRIVATE KEY-----\nKEYCANARY0123456789\n-----END PRIVATE KEY-----\n');
      writeFileSync(join(dir, 'ca.pem'), 'just words\n');
      const problems = await startProblemsOf(file);
      assert.deepEqual(problems.map((problem) => problem.split(': ')[0]).sort(), [
        'applications.demo.flow',
        'backends.city.tls.caFile',
        'backends.city.tls.keyFile',
        'sip.listeners.0.tls.certFile',
        'sip.listeners.0.tls.keyFile',
      ]);
      const about = (path: string) => problems.find((problem) => problem.startsWith(`${path}: `)) ?? '';
      assert.match(about('applications.demo.flow'), /not-a-flow\.ts: does not load as a flow: .*not a defineFlow/);
      assert.match(about('sip.listeners.0.tls.certFile'), /sip\.crt: no PEM certificate/);
      assert.match(about('sip.listeners.0.tls.keyFile'), /sip\.key: not a usable PEM private key \(ERR_OSSL_/);
      assert.match(about('backends.city.tls.caFile'), /ca\.pem: no PEM certificate/);
      assert.match(about('backends.city.tls.keyFile'), /is not the key of/);
      assert.ok(problems.every((problem) => !problem.includes('KEYCANARY')), 'key contents must never be echoed');
    });
  } finally {
    pki.remove();
  }
});

test('preflight: our own expired certificate is refused at its key; a CA file is only parsed', async () => {
  const pki = createPki({ negativeVariants: true });
  try {
    const expired = pki.variants!.expiredClient;
    const config = tlsConfig({ sipCert: pki.server.cert, sipKey: pki.server.key, dbCa: pki.ca, dbCert: expired.cert, dbKey: expired.key });
    await withConfigAsync(config, async (file, dir) => {
      writeFileSync(join(dir, 'flow.yaml'), 'name: ok\nagent: sip:agent@example.test\nsteps:\n  - hangup: true\n');
      const problems = await startProblemsOf(file);
      assert.deepEqual(problems.map((problem) => problem.split(': ')[0]), ['backends.city.tls.certFile']);
      assert.match(problems[0]!, /: certificate expired on /);
    });
  } finally {
    pki.remove();
  }
});

test('preflight: a YAML flow with errors is reported at its key with the line in the flow file', async () => {
  await withConfigAsync(minimal, async (file, dir) => {
    writeFileSync(join(dir, 'flow.yaml'), 'name: broken\nagent: sip:agent@example.test\nsteps:\n  - goto: nowhere\n');
    const problems = await startProblemsOf(file);
    assert.ok(problems.length > 0);
    for (const problem of problems) assert.match(problem, /^applications\.demo\.flow: .*flow\.yaml:\d+:\d+: /);
  });
});

test('preflight problems join the schema and file problems in one report', async () => {
  await withConfigAsync(minimal.replace('port: 5060', 'port: 70000'), async (file, dir) => {
    writeFileSync(join(dir, 'flow.yaml'), 'this: is not a flow\n');
    const problems = await startProblemsOf(file);
    assert.ok(problems.some((problem) => problem.startsWith('sip.listeners.0.port: ')), problems.join('\n'));
    assert.ok(problems.some((problem) => problem.startsWith('applications.demo.flow: ')), problems.join('\n'));
  });
});

test('every configuration example in docs/connectors.md satisfies the schema', () => {
  const docs = readFileSync(new URL('../../docs/connectors.md', import.meta.url), 'utf8');
  const blocks = [...docs.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => parse(match[1]!) as Record<string, unknown>);
  assert.ok(blocks.length >= 4, `${blocks.length} yaml blocks`);
  for (const block of blocks) {
    // Each block is a part of a file: complete it with a minimal rest, and let its backends be reached.
    const example = { ...parse(minimal), applications: {}, numbers: {}, ...block };
    const result = configSchema.safeParse(example);
    assert.ok(result.success, `${JSON.stringify(Object.keys(block))}: ${JSON.stringify(!result.success && result.error.issues)}`);
  }
});
