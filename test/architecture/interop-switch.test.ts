// TRACELESS_REQUIRE_INTEROP=1 (CI) turns a missing interop tool from a skip into a failure,
// so CI can never pass by quietly skipping the tests that use the real peers.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const fixture = fileURLToPath(new URL('../fixtures/interop-switch/needs-missing-tool.fixture.ts', import.meta.url));

function runFixture(require: boolean): { status: number | null; output: string } {
  const env = { ...process.env };
  delete env.TRACELESS_REQUIRE_INTEROP;
  if (require) env.TRACELESS_REQUIRE_INTEROP = '1';
  // A child runner of its own: the parent's test context must not leak into it.
  delete env.NODE_TEST_CONTEXT;
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', fixture], { env, encoding: 'utf8' });
  return { status: result.status, output: result.stdout + result.stderr };
}

test('without the switch a missing tool skips the test and the run passes', () => {
  const { status, output } = runFixture(false);
  assert.equal(status, 0);
  assert.match(output, /# skipped 1/);
  assert.match(output, /missing interop tool\(s\): traceless-no-such-tool/);
});

test('with TRACELESS_REQUIRE_INTEROP=1 the same missing tool fails the run', () => {
  const { status, output } = runFixture(true);
  assert.notEqual(status, 0);
  assert.match(output, /traceless-no-such-tool \(TRACELESS_REQUIRE_INTEROP=1\)/);
  assert.doesNotMatch(output, /# skipped 1/);
});
