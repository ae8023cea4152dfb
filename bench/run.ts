// The capacity bench (issue 9), two scenarios driven by sipp over loopback in steps of concurrent
// calls: the IVR with a prompt-and-gather flow next to the C floor (bench/prompt-gather.ts), and
// the parking line with its database and payment gateway (bench/parking.ts). Writes
// bench/results/<date>-<commit>-<run>.{json,md} and latest.md.
//   npm run bench -- --quick                      prompt-gather: 3 steps (50, 100, 200), under 5 minutes
//   npm run bench -- --quick --scenario=parking   parking: 2 steps (50, 100), about 2 minutes
//   npm run bench                                 both scenarios, steps up to 2000 calls, until a service level breaks
// Everything runs in a private loopback-only network namespace (unshare): sipp binds its control
// socket to the wildcard address, and nothing here may be reachable from outside.
import { spawn, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { machineInfo, type MachineInfo } from './lib/proc.ts';
import { renderMarkdown, targetsOf } from './lib/report.ts';
import { killChildren, log, root, round } from './lib/harness.ts';
import { runPromptGather, type PromptGatherResults } from './prompt-gather.ts';
import { runParking, type ParkingResults } from './parking.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');

const SCENARIOS = ['prompt-gather', 'parking'] as const;
type Scenario = (typeof SCENARIOS)[number];
/** What a run measures unless --scenario says otherwise: quick keeps to the first (the 5-minute budget), full runs both. */
const DEFAULT_SCENARIOS: Scenario[] = quick ? ['prompt-gather'] : [...SCENARIOS];
const scenarioArg = args.find((arg) => arg.startsWith('--scenario='))?.slice('--scenario='.length);
const scenarios: Scenario[] = scenarioArg === undefined ? DEFAULT_SCENARIOS : scenarioArg === 'all' ? [...SCENARIOS] : SCENARIOS.filter((s) => s === scenarioArg);
if (scenarios.length === 0) {
  process.stderr.write(`--scenario takes ${SCENARIOS.join(', ')} or all\n`);
  process.exit(2);
}

if (process.env.TRACELESS_BENCH_NETNS !== '1') {
  // Re-run this script inside a loopback-only network namespace, and pass its exit code on. As
  // root the namespace is a network namespace alone: PostgreSQL (parking scenario) refuses to run
  // as root and switches to its own user, which a user namespace (-r) could not map.
  const script = 'ip link set lo up && exec "$0" --import tsx "$@"';
  const namespaces = userInfo().uid === 0 ? '-n' : '-rn';
  const child = spawn('unshare', [namespaces, 'sh', '-c', script, process.execPath, import.meta.filename, ...args], {
    stdio: 'inherit',
    env: { ...process.env, TRACELESS_BENCH_NETNS: '1' },
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  process.exit(code ?? 1);
}

const MODE: { name: string; steps: number[]; parkingSteps: number[]; windowSeconds: number; rates: number[]; rateSeconds: number } = quick
  ? { name: 'quick', steps: [50, 100, 200], parkingSteps: [50, 100], windowSeconds: 8, rates: [100, 200, 300], rateSeconds: 3 }
  : {
      name: 'full',
      steps: [50, 100, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 2000],
      parkingSteps: [50, 100, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 2000],
      windowSeconds: 15,
      rates: [100, 200, 300, 400],
      rateSeconds: 40,
    };
// --steps=50,100 (both scenarios' steps) and --rates=100,200 replace the mode's lists (for a focused look at one load).
for (const [flag, keys] of [['--steps=', ['steps', 'parkingSteps']], ['--rates=', ['rates']]] as const) {
  const given = args.find((arg) => arg.startsWith(flag));
  if (!given) continue;
  const values = given.slice(flag.length).split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0 && n <= 5000);
  for (const key of keys) MODE[key] = values;
}

const tmp = mkdtempSync(join(tmpdir(), 'traceless-bench-'));
let cleanedUp = false;
function cleanup(): void {
  if (cleanedUp) return;
  cleanedUp = true;
  killChildren();
  rmSync(tmp, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));

function git(...gitArgs: string[]): string {
  try {
    return execFileSync('git', gitArgs, { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

// ---- micro-benchmarks already in bench/ ----

function microBenchmarks(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const env = { ...process.env, BENCH_SECONDS: quick ? '0.5' : '2' };
  try {
    const text = execFileSync(process.execPath, ['--import', 'tsx', join(root, 'bench/sip-parse.ts')], { cwd: root, env, encoding: 'utf8', timeout: 120_000 });
    out.sipParse = JSON.parse(text.trim().split('\n').at(-1)!);
  } catch (error) {
    out.sipParse = { error: String((error as Error).message).slice(0, 200) };
  }
  try {
    const text = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(root, 'bench/vault-wipe.ts'), '--json'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    out.vault = JSON.parse(text);
  } catch (error) {
    out.vault = { error: String((error as Error).message).slice(0, 200) };
  }
  return out;
}

// ---- main ----

const started = new Date();
const commit = git('rev-parse', '--short=12', 'HEAD');
// Result files (the previous run's, not yet committed) are not code: they do not make a run dirty.
const srcDirty = git('status', '--porcelain', '--', 'src', 'bench', 'prompts', 'apps', ':!bench/results').length > 0;
const machineBefore: MachineInfo = machineInfo();
log(`${MODE.name} run (${scenarios.join(', ')}) on ${machineBefore.nproc}× ${machineBefore.model}, load ${machineBefore.loadAverage.join(' ')}, commit ${commit}${srcDirty ? ' (+ uncommitted changes)' : ''}`);

/** --profile: each scenario's server runs with --cpu-prof and writes its profile here on exit. */
const profileDir = args.includes('--profile') ? join(root, 'bench/results/profiles') : null;
const common = { tmp, quick, windowSeconds: MODE.windowSeconds, profileDir, nproc: machineBefore.nproc };

let promptGather: PromptGatherResults | null = null;
if (scenarios.includes('prompt-gather')) {
  promptGather = await runPromptGather({ ...common, steps: MODE.steps, rates: MODE.rates, rateSeconds: MODE.rateSeconds });
}
let parking: ParkingResults | null = null;
let parkingError: string | null = null;
if (scenarios.includes('parking')) {
  // A parking scenario that cannot run (its database, its warm-up) must not lose the first one's results.
  try {
    parking = await runParking({ ...common, steps: MODE.parkingSteps });
  } catch (error) {
    parkingError = error instanceof Error ? error.message : String(error);
    log(`parking scenario failed: ${parkingError}`);
  }
}
const micro = microBenchmarks();
const machineAfter = machineInfo();

const results = {
  mode: MODE.name,
  scenarios,
  date: started.toISOString(),
  durationSeconds: round((Date.now() - started.getTime()) / 1000, 0),
  commit,
  uncommittedChanges: srcDirty,
  machine: { nproc: machineBefore.nproc, model: machineBefore.model, loadAverageBefore: machineBefore.loadAverage, loadAverageAfter: machineAfter.loadAverage, node: process.version },
  // The prompt-and-gather scenario's figures stay at the top level, as before the parking scenario.
  setup: promptGather?.setup ?? {},
  steps: promptGather?.steps ?? [],
  brokeAt: promptGather?.brokeAt ?? null,
  rates: promptGather?.rates ?? [],
  micro,
  profile: promptGather?.profile ?? null,
  parking,
  parkingError,
};
const markdown = renderMarkdown(results);
const targets = targetsOf(results);
const stamp = started.toISOString().slice(0, 10);
const outDir = join(root, 'bench/results');
mkdirSync(outDir, { recursive: true });
// A run of the mode's usual scenarios is named by its mode; others say which scenario they ran.
const usual = scenarios.length === DEFAULT_SCENARIOS.length && scenarios.every((s) => DEFAULT_SCENARIOS.includes(s));
const runName = [MODE.name, ...(usual ? [] : scenarios), ...(profileDir ? ['profile'] : [])].join('-');
writeFileSync(join(outDir, `${stamp}-${commit}-${runName}.json`), `${JSON.stringify({ ...results, targets }, null, 2)}\n`);
writeFileSync(join(outDir, `${stamp}-${commit}-${runName}.md`), markdown);
if (!profileDir && usual) writeFileSync(join(outDir, 'latest.md'), markdown);
process.stdout.write(markdown);
cleanup();
process.exit(0);
