import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulateCommand, validateCommand } from '../../src/flow/commands.ts';

const hello = new URL('./fixtures/hello.ts', import.meta.url).pathname;
const pinCheck = new URL('./fixtures/pin-check.yaml', import.meta.url).pathname;

test('validate: a good YAML flow and a good TypeScript flow are ok', async () => {
  assert.deepEqual(await validateCommand(pinCheck), { exitCode: 0, output: `${pinCheck}: ok` });
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
