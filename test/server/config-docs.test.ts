// docs/configuration.md documents every key of the configuration schema, with its default and
// its range: the page is checked against the schema itself, so a key added, renamed or given
// another default cannot leave the page behind (as test/flow/docs.test.ts does for flows).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { configSchema } from '../../src/server/config-schema.ts';

interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  const?: unknown;
  default?: unknown;
  minimum?: number;
  maximum?: number;
}

interface Leaf {
  /** `sip.listeners[].tls.certFile`, `backends.<>.operations.<>.sql`: `[]` an array item, `<>` a name the operator picks. */
  path: string;
  default?: unknown;
  range?: { min: number; max: number };
}

const isScalar = (schema: JsonSchema): boolean => !schema.properties && !schema.items && !schema.anyOf && !schema.oneOf && typeof schema.additionalProperties !== 'object';

/** Every key an operator can write. Arrays and maps of plain values are one key; a secret reference ({ file } | { env }) too. */
function leaves(schema: JsonSchema, path: string): Leaf[] {
  const union = schema.anyOf ?? schema.oneOf;
  if (union) {
    // A discriminated union (backends: type postgres | https) offers the keys of every member.
    const discriminated = union.every((member) => member.properties?.type?.const !== undefined);
    if (discriminated) return union.flatMap((member) => leaves(member, path));
    return [{ path }];
  }
  if (schema.properties) return Object.entries(schema.properties).flatMap(([key, value]) => leaves(value, path ? `${path}.${key}` : key));
  if (schema.items) return isScalar(schema.items) ? [{ path, ...(schema.default !== undefined ? { default: schema.default } : {}) }] : leaves(schema.items, `${path}[]`);
  if (typeof schema.additionalProperties === 'object') {
    return isScalar(schema.additionalProperties) ? [{ path }] : leaves(schema.additionalProperties, `${path}.<>`);
  }
  return [
    {
      path,
      ...(schema.default !== undefined ? { default: schema.default } : {}),
      ...(schema.minimum !== undefined && schema.maximum !== undefined ? { range: { min: schema.minimum, max: schema.maximum } } : {}),
    },
  ];
}

const schemaLeaves = leaves(z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema, '');

/** Table rows of the page, by the keys (backticked, first cell) they document. */
function documentedRows(): Map<string, string[]> {
  const page = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  const rows = new Map<string, string[]>();
  for (const line of page.split('\n')) {
    const cells = /^\|([^|]*)\|(.*)\|\s*$/.exec(line);
    if (!cells) continue;
    for (const [, key] of cells[1]!.matchAll(/`([^`]+)`/g)) {
      const normalized = key!.replace(/<[^>]*>/g, '<>');
      rows.set(normalized, [...(rows.get(normalized) ?? []), line]);
    }
  }
  return rows;
}

const rows = documentedRows();

test('the schema walk finds the keys it should (the walk itself is sound)', () => {
  const paths = schemaLeaves.map((leaf) => leaf.path);
  for (const path of ['sip.listeners[].tls.certFile', 'sip.auth.users[].password', 'numbers', 'backends.<>.operations.<>.sql', 'backends.<>.endpoints.<>.rows', 'payment.tls.keyFile', 'admin.token', 'insecureDevelopment']) {
    assert.ok(paths.includes(path), `${path} not found in ${paths.join(', ')}`);
  }
});

test('every configuration key has a row in docs/configuration.md, by its full path', () => {
  const missing = [...new Set(schemaLeaves.filter((leaf) => !rows.has(leaf.path)).map((leaf) => leaf.path))];
  assert.deepEqual(missing, [], `undocumented keys (write them as full paths, <name> for a name the operator picks):\n${missing.join('\n')}`);
});

test("every documented key exists in the schema (no row for a key that was renamed or removed)", () => {
  const known = new Set(schemaLeaves.map((leaf) => leaf.path));
  const stale = [...rows.keys()].filter((key) => /^[a-z][A-Za-z]*(\.|\[|$)/.test(key) && key.includes('.') && !known.has(key));
  assert.deepEqual(stale, []);
});

test("each key's row gives the schema's default and its range", () => {
  const wrong: string[] = [];
  for (const leaf of schemaLeaves) {
    const lines = rows.get(leaf.path) ?? [];
    if (leaf.default !== undefined && typeof leaf.default !== 'object') {
      if (!lines.some((line) => line.includes(`\`${String(leaf.default)}\``))) wrong.push(`${leaf.path}: default \`${String(leaf.default)}\` not given`);
    }
    if (leaf.range && !lines.some((line) => line.includes(`${leaf.range!.min}–${leaf.range!.max}`))) {
      wrong.push(`${leaf.path}: range ${leaf.range.min}–${leaf.range.max} not given`);
    }
  }
  assert.deepEqual(wrong, []);
});
