import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeScenario } from '../../bench/lib/sipp.ts';

test('a written scenario has its placeholders filled once each, and no template comments (sipp refuses long ones)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'traceless-scenario-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const journey = '  <pause milliseconds="300"/>\n'.repeat(2000); // a long key journey, ~60 KB
  const text = readFileSync(writeScenario(dir, 'uac-parking.xml', { DIALLED: '3115550100', CALLER_AUDIO: '/x/caller.ul', JOURNEY: journey, BYE_TIMEOUT_MS: 30000 }), 'utf8');
  assert.ok(!text.includes('<!--'), 'comments stripped');
  assert.equal(text.split(journey).length - 1, 1, 'the journey appears once');
  assert.ok(!/\{\{[A-Z_]+\}\}/.test(text));
  assert.match(text, /INVITE sip:3115550100@/);
});
