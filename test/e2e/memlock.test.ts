// Memory that cannot be locked, in a real process (issue 5: "report at start-up and in health if
// memory could not be locked, with the command that fixes it"). `traceless start` runs with a
// small configuration under RLIMIT_MEMLOCK 0 (prlimit(1)) and, when the test runs as root,
// without CAP_IPC_LOCK in its bounding and inheritable sets (setpriv(1)) — root with that
// capability locks memory beyond any limit. The server must still start, say so in one
// `security.warning` line with code `memlock` whose detail is the fix (ulimit, systemd, docker),
// report `memlock: unlocked` in server.start, and fail the memlock check of /health/ready (503).
// The same server started without the restriction is the control: locked, no warning, ready.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { randomInt } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { freeSipAndTcpPort } from '../support/demo-process.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FLOW = join(ROOT, 'bench', 'flows', 'prompt-gather.yaml');
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

const isRoot = process.getuid?.() === 0;
const tools = ['prlimit', ...(isRoot ? ['setpriv'] : [])];
const missing = tools.filter((tool) => spawnSync(tool, ['--version']).error !== undefined);
const skip = process.platform !== 'linux' ? 'Linux only (RLIMIT_MEMLOCK, /proc)' : missing.length > 0 ? `needs ${missing.join(', ')}` : false;

const scratch = mkdtempSync(join(tmpdir(), 'traceless-memlock-'));
const children: ChildProcess[] = [];
after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});

/** A line with no backends: the bench's prompt-and-gather flow on any number. */
async function writeConfig(name: string): Promise<string> {
  const sipPort = await freeSipAndTcpPort();
  const mediaMin = 2 * randomInt(15_000, 29_000);
  const config = {
    sip: { listeners: [{ transport: 'udp', address: '127.0.0.1', port: sipPort }], trustedPeers: ['127.0.0.0/8'] },
    media: { address: '127.0.0.1', portRange: { min: mediaMin, max: mediaMin + 19 } },
    cells: { max: 4 },
    numbers: { '*': 'line' },
    applications: { line: { flow: FLOW, agentUri: 'sip:agent@127.0.0.1' } },
    admin: { address: '127.0.0.1', port: 0 },
  };
  const path = join(scratch, `${name}.yaml`);
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

interface Started {
  child: ChildProcess;
  events: Array<Record<string, unknown>>;
  start: Record<string, unknown>;
}

/** Runs `traceless start` (through `launcher`, if any) until its server.start line. */
async function startServer(config: string, launcher: readonly string[]): Promise<Started> {
  const command = [...launcher, join(ROOT, 'bin', 'traceless'), 'start', '-c', config];
  const child = spawn(command[0]!, command.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const events: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const started = new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no server.start within ${START_TIMEOUT_MS} ms: ${stderr.slice(-2000)}`)), START_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${String(code)}) before server.start: ${stderr.slice(-2000)}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let event: Record<string, unknown>;
      try {
        event = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return; // a banner line
      }
      events.push(event);
      if (event.event === 'server.start') {
        clearTimeout(timer);
        resolve(event);
      }
    });
  });
  return { child, events, start: await started };
}

/** SIGINT and wait for a clean exit (SIGKILL only if it hangs, which fails the test). */
async function stopServer(child: ChildProcess): Promise<number | null> {
  const exited = once(child, 'exit') as Promise<[number | null]>;
  child.kill('SIGINT');
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => (timer = setTimeout(resolve, STOP_TIMEOUT_MS, 'hung')));
  const outcome = await Promise.race([exited, hung]);
  clearTimeout(timer);
  if (outcome === 'hung') {
    child.kill('SIGKILL');
    throw new Error('the server did not stop on SIGINT');
  }
  return outcome[0];
}

async function readiness(start: Record<string, unknown>): Promise<{ status: number; checks: Array<Record<string, unknown>> }> {
  const response = await fetch(`http://${String(start.adminListener)}/health/ready`);
  const body = (await response.json()) as { checks: Array<Record<string, unknown>> };
  return { status: response.status, checks: body.checks };
}

const memlockWarnings = (events: ReadonlyArray<Record<string, unknown>>) =>
  events.filter((e) => e.event === 'security.warning' && e.code === 'memlock');

test('with RLIMIT_MEMLOCK 0 and no CAP_IPC_LOCK the server warns with the fix and is not ready', { skip, timeout: 120_000 }, async () => {
  const launcher = [
    'prlimit', '--memlock=0:0', '--',
    ...(isRoot ? ['setpriv', '--inh-caps=-ipc_lock', '--bounding-set=-ipc_lock', '--'] : []),
  ];
  const { child, events, start } = await startServer(await writeConfig('unlocked'), launcher);
  try {
    const limits = spawnSync('grep', ['Max locked memory', `/proc/${child.pid}/limits`], { encoding: 'utf8' }).stdout;
    assert.match(limits, /Max locked memory\s+0\s+0\s/, 'the server runs under RLIMIT_MEMLOCK 0');
    assert.equal(start.memlock, 'unlocked');

    const warnings = memlockWarnings(events);
    assert.equal(warnings.length, 1, 'one memlock warning at start-up');
    const detail = String(warnings[0]!.detail);
    assert.match(detail, /`ulimit -l \d+`/, 'the fix for a shell start');
    assert.match(detail, /`LimitMEMLOCK=\d+K`/, 'the fix for systemd');
    assert.match(detail, /`--ulimit memlock=\d+`/, 'the fix for docker');

    const ready = await readiness(start);
    assert.equal(ready.status, 503, 'not ready while call memory could be swapped out');
    const memlock = ready.checks.find((check) => check.name === 'memlock');
    assert.equal(memlock?.status, 'fail');
    assert.equal(memlock?.observed, 'unlocked');
    assert.match(String(memlock?.hint), /ulimit -l|LimitMEMLOCK/);
  } finally {
    assert.equal(await stopServer(child), 0);
  }
});

test('control: the same server without the limit locks its arenas and is ready', { skip, timeout: 120_000 }, async () => {
  const { child, events, start } = await startServer(await writeConfig('locked'), []);
  try {
    assert.equal(start.memlock, 'locked', 'this machine lets the server lock memory (raise ulimit -l to run this test)');
    assert.deepEqual(memlockWarnings(events), []);
    const ready = await readiness(start);
    assert.equal(ready.checks.find((check) => check.name === 'memlock')?.status, 'pass');
    assert.equal(ready.status, 200);
  } finally {
    assert.equal(await stopServer(child), 0);
  }
});
