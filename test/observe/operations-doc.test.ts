// docs/operations.md is the operator's contract: it must name every event, metric and health
// check the code has, and every example in it must be a line the code could write. Checked
// against the code itself, so the page cannot drift from it unnoticed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { COMPILED_CONTEXT, COMPILED_EVENTS, EVENTS } from '../../src/observe/events.ts';
import { callRecordSchema } from '../../src/observe/call-record.ts';
import { createMetrics } from '../../src/observe/metrics.ts';
import { liveness, readiness } from '../../src/observe/health.ts';

const page = readFileSync(fileURLToPath(new URL('../../docs/operations.md', import.meta.url)), 'utf8');

/** The lines of every fenced block of one language. */
function blocks(language: string): string[] {
  const lines: string[] = [];
  const fence = new RegExp(`^\`\`\`${language}\\n([\\s\\S]*?)^\`\`\``, 'gm');
  for (const match of page.matchAll(fence)) lines.push(...match[1]!.split('\n').filter((line) => line.trim() !== ''));
  return lines;
}

const jsonLines = blocks('json').map((line) => JSON.parse(line) as Record<string, unknown>);
const FRAME = new Set(['level', 'time', 'event']);

test('every event of the vocabulary is in the table and has an example the logger would write as it is', () => {
  for (const [name, spec] of Object.entries(EVENTS)) {
    assert.ok(page.includes(`| \`${name}\` | ${spec.level} |`), `${name} is in the events table with level ${spec.level}`);
    const examples = jsonLines.filter((line) => line.event === name);
    assert.ok(examples.length > 0, `${name} has an example`);
    for (const example of examples) {
      assert.equal(example.level, spec.level, `${name} example level`);
      assert.match(String(example.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const fields = Object.fromEntries(Object.entries(example).filter(([key]) => !FRAME.has(key)));
      const eventFields = Object.fromEntries(Object.entries(fields).filter(([key]) => key in spec.fields));
      const contextFields = Object.fromEntries(Object.entries(fields).filter(([key]) => !(key in spec.fields)));
      const written: Record<string, unknown> = {};
      assert.deepEqual(COMPILED_EVENTS.get(name)!.fields.apply(eventFields, written), { unknown: 0, invalid: 0 }, `${name} example fields`);
      assert.deepEqual(written, eventFields, `${name} example is written unchanged`);
      assert.deepEqual(COMPILED_CONTEXT.apply(contextFields, {}), { unknown: 0, invalid: 0 }, `${name} example context fields`);
      for (const [field, fieldSpec] of Object.entries(spec.fields)) {
        if (!('optional' in fieldSpec)) assert.ok(field in example, `${name} example has its required field ${field}`);
      }
    }
  }
  for (const { event } of jsonLines) {
    if (event !== undefined) assert.ok(event === 'cdr' || Object.hasOwn(EVENTS, String(event)), `the example event ${String(event)} exists`);
  }
});

test('the call record example passes the record schema', () => {
  const records = jsonLines.filter((line) => line.event === 'cdr');
  assert.ok(records.length > 0);
  for (const { level, time, event, ...record } of records) {
    assert.equal(level, 'info');
    assert.ok(typeof time === 'string' && event === 'cdr');
    assert.deepEqual(callRecordSchema.parse(record), record);
  }
  for (const field of Object.keys(callRecordSchema.shape)) assert.ok(page.includes(`\`${field}\``), `record field ${field} is described`);
});

test('every metric is in the table and has an example line', async () => {
  const metrics = createMetrics({ backends: ['city'] });
  try {
    const names = (await metrics.registry.getMetricsAsJSON()).map((metric) => metric.name);
    const examples = blocks('text');
    assert.ok(names.length > 10);
    for (const name of names) {
      assert.ok(page.includes(`| \`${name}\` |`), `${name} is in the metrics table`);
      assert.ok(
        examples.some((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`) || line.startsWith(`${name}_`)),
        `${name} has an example line`,
      );
    }
    for (const line of examples) assert.ok(names.some((name) => line.startsWith(name)), `example ${line} is a metric of ours`);
  } finally {
    metrics.close();
  }
});

test('every health check the code can report is in the health tables', () => {
  const backends = [
    { name: 'db', kind: 'postgres', reachable: false, insecure: true },
    { name: 'api', kind: 'https', reachable: null, insecure: false },
    { name: 'gw', kind: 'payment', reachable: true, insecure: false },
  ] as const;
  const names = [
    ...liveness({ eventLoopDelayMaxMs: 1 }).checks,
    ...readiness({ started: false, draining: true, cells: { free: 0, total: 1 }, memlock: 'unlocked', backends }).checks,
  ].map((check) => check.name.replace(/:(db|api|gw)\b/, ':<name>'));
  for (const name of names) assert.ok(page.includes(`| \`${name}\` |`), `health check ${name} is in a table`);
  for (const report of jsonLines.filter((line) => 'checks' in line)) {
    assert.ok(['pass', 'warn', 'fail'].includes(String(report.status)));
    for (const check of report.checks as Array<{ name: string }>) {
      assert.ok(names.includes(check.name.replace(/^(backend|payment):[^:]+/, '$1:<name>')), `example check ${check.name} exists`);
    }
  }
});
