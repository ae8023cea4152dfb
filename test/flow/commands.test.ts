import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulateCommand, validateCommand } from '../../src/flow/commands.ts';
import { writeOverlay } from './wav-file.ts';

const hello = new URL('./fixtures/hello.ts', import.meta.url).pathname;
const pinCheck = new URL('./fixtures/pin-check.yaml', import.meta.url).pathname;

test('validate: a good YAML flow (its own prompts in an overlay) and a good TypeScript flow are ok', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flow-'));
  try {
    writeOverlay(dir, ['greeting', 'account.enter', 'pin.enter', 'pin.wrong', 'balance.is']);
    assert.deepEqual(await validateCommand(pinCheck, { prompts: [dir] }), { exitCode: 0, output: `${pinCheck}: ok` });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal((await validateCommand(hello)).exitCode, 0);
});

test('validate: a leaking YAML flow prints file:line:col and exits 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flow-'));
  try {
    const file = join(dir, 'leak.yaml');
    writeFileSync(file, 'name: leak\nsteps:\n  - gatherSecret: { kind: pin, into: pin }\n  - log: { event: "pin ${pin}" }\n');
    const result = await validateCommand(file);
    assert.equal(result.exitCode, 2);
    assert.equal(result.output, `${file}:4:19: secret 'pin' may not reach a log line [FLOW_SECRET_LEAK]`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('simulate: prints the transcript of a TypeScript flow', async () => {
  const result = await simulateCommand(hello, '1');
  assert.equal(result.exitCode, 0);
  assert.equal(
    result.output,
    [
      '[   0.000] play en-US/hello.menu',
      '[   1.000] key  1',
      '[   1.000] ---- menu ok (1 keys)',
      '[   1.000] play en-US/num.42',
      '[   2.000] ---- hangup',
      '[   2.000] ---- outcome completed',
    ].join('\n'),
  );
});

test('simulate: secure keys show as bullets and a bad script exits 2', async () => {
  const result = await simulateCommand(pinCheck, '12345#,9876');
  assert.match(result.output, /key  •\n.*key  •\n.*key  •\n.*key  •/);
  assert.doesNotMatch(result.output, /key  9/);
  assert.equal((await simulateCommand(pinCheck, '12x')).exitCode, 2);
});

test('simulate exits 1 whenever the flow ended in its error fallback, even when the fallback reached an agent', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flow-'));
  try {
    const transfers = join(dir, 'transfers.yaml');
    // No backend on the command line: the query fails and the fallback sends the caller to the agent.
    writeFileSync(transfers, 'name: t\nagent: sip:agent@example.test\nsteps:\n  - backend: { name: city, operation: lookup, into: r }\n');
    const toAgent = await simulateCommand(transfers, '');
    assert.equal(toAgent.exitCode, 1);
    assert.match(toAgent.output, /outcome transferred \(fallback\) FLOW_BACKEND_UNAVAILABLE/);
    const hangsUp = join(dir, 'hangs-up.yaml');
    writeFileSync(hangsUp, 'name: h\nfallback: { then: hangup }\nsteps:\n  - gather: { prompt: n, min: 2, max: 2, retries: 0, into: n }\n');
    assert.equal((await simulateCommand(hangsUp, '')).exitCode, 1);
    // The same backend step with onError is the flow's own path, not a failure.
    const handled = join(dir, 'handled.yaml');
    writeFileSync(handled, 'name: ok\nagent: sip:agent@example.test\nsteps:\n  - backend: { name: city, operation: lookup, into: r, onError: agent }\n  - hangup: true\n  - id: agent\n    transfer: { target: agent }\n');
    assert.equal((await simulateCommand(handled, '')).exitCode, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
