// The published JSON Schema must be exactly what the zod schema generates.
// Regenerate after changing src/flow/flow-schema.ts:  UPDATE_SCHEMA=1 npm test -- test/flow/json-schema.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { ACTION_NAMES, flowJsonSchema } from '../../src/flow/flow-schema.ts';

const file = new URL('../../schemas/flow.schema.json', import.meta.url);
const generated = `${JSON.stringify(flowJsonSchema(), null, 2)}\n`;

test('schemas/flow.schema.json agrees with the zod schema', () => {
  if (process.env.UPDATE_SCHEMA === '1') {
    mkdirSync(new URL('.', file), { recursive: true });
    writeFileSync(file, generated);
  }
  assert.equal(readFileSync(file, 'utf8'), generated);
});

test('the JSON Schema offers every step action to editors', () => {
  const schema = JSON.parse(generated) as { properties: { steps: { items: { anyOf: Array<{ properties: Record<string, unknown> }> } } } };
  const offered = schema.properties.steps.items.anyOf.map((option) => Object.keys(option.properties).find((key) => (ACTION_NAMES as string[]).includes(key)));
  assert.deepEqual(offered, ACTION_NAMES);
});
