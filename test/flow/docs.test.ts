// The examples in docs/writing-flows.md must stay valid, working flows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { checkYamlFlow } from '../../src/flow/yaml-loader.ts';
import { simulate } from '../../src/flow/simulator.ts';

test('the YAML example in docs/writing-flows.md passes validation', () => {
  const doc = readFileSync(new URL('../../docs/writing-flows.md', import.meta.url), 'utf8');
  const block = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(block, 'no yaml block found');
  assert.deepEqual(checkYamlFlow(block, 'writing-flows.md').problems, []);
});

test('the TypeScript example in docs/writing-flows.md is examples/balance.ts (compiled by npm run check) and runs', async () => {
  const doc = readFileSync(new URL('../../docs/writing-flows.md', import.meta.url), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(block, 'no ts block found');
  assert.equal(block, readFileSync(new URL('../../examples/balance.ts', import.meta.url), 'utf8'));

  const { default: flow } = await import('../../examples/balance.ts');
  const queries: Array<{ operation: string; secretParam: string }> = [];
  const result = await simulate(flow, {
    caller: '1234#,4321',
    backend: {
      async query(_backend, operation, params) {
        queries.push({ operation, secretParam: String(params.pin) });
        return { rows: [{ balance_cents: 12345 }] };
      },
    },
  });
  assert.equal(result.outcome.status, 'completed');
  assert.deepEqual(queries, [{ operation: 'balance', secretParam: '[secret]' }]);
  assert.deepEqual(result.keys, ['1', '2', '3', '4', '#', '•', '•', '•', '•']);
  assert.ok(result.played.some((clips) => clips.includes('en-US/balance.is')));
  assert.equal(result.wipe.verified, true);
});
