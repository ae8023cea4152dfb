import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { enforceHardening, hardeningFindings, splitNodeOptions, readHardeningInput } from '../../src/vault/hardening.ts';
import type { HardeningInput } from '../../src/vault/hardening.ts';
import { HardeningError } from '../../src/vault/errors.ts';

const root = new URL('../../', import.meta.url).pathname;

/** Runs a module snippet in a child node with tsx from the repository root. */
function runChild(script: string, nodeArgs: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawn(process.execPath, ['--import', 'tsx', ...nodeArgs, '--input-type=module', '-e', script], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

const CLEAN: HardeningInput = {
  execArgv: ['--import', 'tsx', '--expose-gc'],
  nodeOptions: '--max-old-space-size=512',
  report: { reportOnSignal: false, reportOnFatalError: false, reportOnUncaughtException: false },
  inspectorUrl: undefined,
  limitsText: 'Max core file size        0                    unlimited            bytes\n',
  corePattern: 'core\n',
  swapsText: 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n',
};

const FLAGS: Array<[string, string]> = [
  ['--inspect', 'inspector'],
  ['--inspect=127.0.0.1:9229', 'inspector'],
  ['--inspect-brk', 'inspector'],
  ['--inspect-port=9230', 'inspector'],
  ['--inspect_brk', 'inspector'],
  ['--debug-port=9229', 'inspector'],
  ['--heapsnapshot-signal=SIGUSR2', 'heap-snapshot'],
  ['--heapsnapshot-near-heap-limit=3', 'heap-snapshot'],
  ['--report-on-signal', 'diagnostic-report'],
  ['--report-on-fatalerror', 'diagnostic-report'],
  ['--report-uncaught-exception', 'diagnostic-report'],
  ['--diagnostic-dir=/tmp/d', 'diagnostic-dir'],
  ['--cpu-prof', 'profiler'],
  ['--cpu-prof-dir=/tmp/p', 'profiler'],
  ['--heap-prof', 'profiler'],
  ['--prof', 'profiler'],
];

test('a clean process has no findings', () => {
  assert.deepEqual(hardeningFindings(CLEAN, { unsafeDebug: false }), []);
  enforceHardening([]);
});

for (const [flag, id] of FLAGS) {
  test(`${flag} is fatal on the command line and in NODE_OPTIONS, a warning with unsafeDebug`, () => {
    for (const input of [
      { ...CLEAN, execArgv: [...CLEAN.execArgv, flag] },
      { ...CLEAN, nodeOptions: `--max-old-space-size=512 ${flag}` },
    ]) {
      const findings = hardeningFindings(input, { unsafeDebug: false });
      assert.equal(findings.length, 1);
      assert.equal(findings[0]!.id, id);
      assert.equal(findings[0]!.severity, 'fatal');
      assert.ok(findings[0]!.remedy.includes(flag.split('=')[0]!.replace('_', '-')));
      assert.throws(() => enforceHardening(findings), (e: Error) => e instanceof HardeningError && e.code === 'TRACELESS_HARDENING');
      const relaxed = hardeningFindings(input, { unsafeDebug: true });
      assert.equal(relaxed[0]!.severity, 'warning');
      enforceHardening(relaxed);
    }
  });
}

test('process.report switches turned on at run time are fatal', () => {
  for (const key of ['reportOnSignal', 'reportOnFatalError', 'reportOnUncaughtException'] as const) {
    const report = { ...CLEAN.report!, [key]: true };
    const findings = hardeningFindings({ ...CLEAN, report }, { unsafeDebug: false });
    assert.deepEqual(findings.map((f) => [f.id, f.severity]), [['diagnostic-report', 'fatal']]);
    assert.match(findings[0]!.message, new RegExp(key));
  }
});

test('an open inspector endpoint is fatal', () => {
  const findings = hardeningFindings({ ...CLEAN, inspectorUrl: 'ws://127.0.0.1:9229/x' }, { unsafeDebug: false });
  assert.deepEqual(findings.map((f) => f.id), ['inspector']);
});

test('core dumps, piped core patterns and swap are reported with their remedies', () => {
  const core = hardeningFindings({ ...CLEAN, limitsText: 'Max core file size        unlimited            unlimited            bytes\n' }, { unsafeDebug: false });
  assert.deepEqual(core.map((f) => [f.id, f.severity]), [['core-dump', 'warning']]);
  assert.match(core[0]!.remedy, /ulimit -c 0/);
  assert.match(core[0]!.remedy, /LimitCORE=0/);
  const unknown = hardeningFindings({ ...CLEAN, limitsText: null }, { unsafeDebug: false });
  assert.deepEqual(unknown.map((f) => f.id), ['core-dump-unknown']);
  const pipe = hardeningFindings({ ...CLEAN, corePattern: '|/lib/systemd/systemd-coredump %P\n' }, { unsafeDebug: false });
  assert.deepEqual(pipe.map((f) => f.id), ['core-pipe']);
  const swap = hardeningFindings({ ...CLEAN, swapsText: CLEAN.swapsText + '/swapfile file 1048572 0 -2\n' }, { unsafeDebug: false });
  assert.deepEqual(swap.map((f) => f.id), ['swap']);
  assert.match(swap[0]!.remedy, /swapoff -a/);
});

test('NODE_OPTIONS is split on spaces with double-quoted values kept whole', () => {
  assert.deepEqual(splitNodeOptions(' --a  --b="x y" --c '), ['--a', '--b=x y', '--c']);
  assert.deepEqual(splitNodeOptions(undefined), []);
});

test('the snapshot of a real process started with --heapsnapshot-signal finds it', async () => {
  const script = [
    "import { readHardeningInput, hardeningFindings } from './src/vault/hardening.ts';",
    'const ids = hardeningFindings(readHardeningInput(), { unsafeDebug: false }).map((f) => f.id);',
    'process.stdout.write(JSON.stringify(ids));',
  ].join('\n');
  const child = runChild(script, ['--heapsnapshot-signal=SIGUSR2'], { ...process.env, NODE_OPTIONS: '--report-on-fatalerror' });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await once(child, 'close');
  const ids = JSON.parse(out) as string[];
  assert.ok(ids.includes('heap-snapshot'));
  assert.ok(ids.includes('diagnostic-report'));
  // This test process itself runs clean of the fatal switches.
  assert.deepEqual(hardeningFindings(readHardeningInput(), { unsafeDebug: false }).filter((f) => f.severity === 'fatal'), []);
});

// Keeps a child's event loop alive until the parent (or the child's own spy) ends it.
const KEEP_ALIVE = 'setTimeout(() => {}, 2 ** 30);';

test('SIGUSR1 opens an inspector in a plain process but not after blockInspectorSignal()', { timeout: 60_000 }, async (t) => {
  const children: Array<ReturnType<typeof runChild>> = [];
  t.after(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  // Control: without the block, node answers SIGUSR1 by opening a debugger endpoint.
  const open = runChild(`process.kill(process.pid, 'SIGUSR1'); ${KEEP_ALIVE}`, ['--inspect-port=0']);
  children.push(open);
  let openErr = '';
  open.stderr.on('data', (chunk: Buffer) => {
    openErr += chunk.toString();
    if (openErr.includes('Debugger listening')) open.kill();
  });
  await once(open, 'close');
  assert.match(openErr, /Debugger listening/);

  // Blocked: the vault's listener takes the signal. (Node binds signal events when a listener
  // is added, so the spy is a second listener, added after the count proves ours is there.)
  const script = [
    "import inspector from 'node:inspector';",
    "import { blockInspectorSignal } from './src/vault/hardening.ts';",
    'blockInspectorSignal();',
    "if (process.listenerCount('SIGUSR1') !== 1) process.exit(3);",
    "process.on('SIGUSR1', () => { process.stdout.write(String(inspector.url())); process.exit(0); });",
    "process.kill(process.pid, 'SIGUSR1');",
    KEEP_ALIVE,
  ].join('\n');
  const blocked = runChild(script, ['--inspect-port=0']);
  children.push(blocked);
  let out = '';
  let err = '';
  blocked.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  blocked.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  await once(blocked, 'close');
  assert.equal(out, 'undefined');
  assert.doesNotMatch(err, /Debugger listening/);
});
