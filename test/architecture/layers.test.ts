import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { layerViolations, forbiddenPatterns } from '../../scripts/lint.ts';

test('the source tree respects the layer order', () => {
  assert.deepEqual(layerViolations(), []);
});

test('shipped source has no forbidden patterns', () => {
  assert.deepEqual(forbiddenPatterns(), []);
});

test('the layer check catches an upward and a sideways import', () => {
  const dir = mkdtempSync(join(tmpdir(), 'layers-'));
  try {
    for (const layer of ['vault', 'sip', 'media', 'flow']) mkdirSync(join(dir, layer));
    writeFileSync(join(dir, 'vault', 'a.ts'), "import { x } from '../flow/b.ts';\n");
    writeFileSync(join(dir, 'sip', 'c.ts'), "import type { y } from '../media/d.ts';\n");
    writeFileSync(join(dir, 'flow', 'e.ts'), "import { z } from '../vault/a.ts';\n");
    const problems = layerViolations(dir);
    assert.equal(problems.length, 2);
    assert.match(problems.join('\n'), /layer vault may not import flow/);
    assert.match(problems.join('\n'), /layer sip may not import media/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
