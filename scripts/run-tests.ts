// Finds test files (Node 20's --test takes no globs) and runs them in node's test runner.
// `npm test -- test/sip` narrows the run to a folder or file.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function* testFiles(path: string): Generator<string> {
  if (statSync(path).isDirectory()) {
    for (const name of readdirSync(path).sort()) yield* testFiles(join(path, name));
  } else if (path.endsWith('.test.ts')) {
    yield path;
  }
}

const roots = process.argv.slice(2);
const files = (roots.length > 0 ? roots : ['test']).flatMap((root) => [...testFiles(root)]);
if (files.length === 0) {
  process.stderr.write('no test files found\n');
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  // Ten minutes per test: the longest (the residue run) takes about four; a hung test
  // fails with its name instead of stalling CI.
  ['--import', 'tsx', '--expose-gc', '--test', '--test-concurrency=1', '--test-timeout=600000', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
