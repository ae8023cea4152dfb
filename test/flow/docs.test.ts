// The YAML example in docs/writing-flows.md must stay a valid flow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { checkYamlFlow } from '../../src/flow/yaml-loader.ts';

test('the YAML example in docs/writing-flows.md passes validation', () => {
  const doc = readFileSync(new URL('../../docs/writing-flows.md', import.meta.url), 'utf8');
  const block = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(block, 'no yaml block found');
  assert.deepEqual(checkYamlFlow(block, 'writing-flows.md').problems, []);
});
