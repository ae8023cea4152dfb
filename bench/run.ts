// The capacity bench (issue 9): the IVR with a prompt-and-gather flow, driven by sipp over
// loopback in steps of concurrent calls, next to the C floor (sipp as a UAS streaming the same
// audio) in the same run. Writes bench/results/<date>-<commit>-<mode>.{json,md} and latest.md.
//   npm run bench -- --quick      3 steps (50, 100, 200), under 5 minutes
//   npm run bench                 steps up to 2000 calls, until a service level breaks
// Everything runs in a private loopback-only network namespace (unshare -rn): sipp binds its
// control socket to the wildcard address, and nothing here may be reachable from outside.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PromptStore, silenceFrame } from '../src/media/prompt-store.ts';
import { keyResponse, sipOutcomes, percentile, readRtpPackets, readUdpPackets, streamFigures, type KeyResponse, type SipOutcomes, type StreamFigures } from './lib/pcap-rtp.ts';
import { corePercent, machineBusyPercent, machineInfo, sampleMachine, sampleProcess, type MachineInfo } from './lib/proc.ts';
import { keyBlock, readUacResult, startUac, writeScenario } from './lib/sipp.ts';
import { renderMarkdown, targetsOf } from './lib/report.ts';
import { summarizeProfile, type HotFunction } from './lib/profile-summary.ts';

const root = join(import.meta.dirname, '..');
const args = process.argv.slice(2);
const quick = args.includes('--quick');

if (process.env.TRACELESS_BENCH_NETNS !== '1') {
  // Re-run this script inside a loopback-only network namespace, and pass its exit code on.
  const script = 'ip link set lo up && exec "$0" --import tsx "$@"';
  const child = spawn('unshare', ['-rn', 'sh', '-c', script, process.execPath, import.meta.filename, ...args], {
    stdio: 'inherit',
    env: { ...process.env, TRACELESS_BENCH_NETNS: '1' },
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  process.exit(code ?? 1);
}

const MODE: { name: string; steps: number[]; windowSeconds: number; rates: number[]; rateSeconds: number } = quick
  ? { name: 'quick', steps: [50, 100, 200], windowSeconds: 8, rates: [100, 200, 300], rateSeconds: 3 }
  : { name: 'full', steps: [50, 100, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 2000], windowSeconds: 15, rates: [100, 200, 300, 400], rateSeconds: 40 };
/**
 * A UDP call leaves its INVITE and BYE server transactions alive for 64×T1 = 32 s after it ends
 * (RFC 6026 Timer L, RFC 3261 Timer J), so a rate is only sustained once it has run longer than
 * that: the full run holds each rate 40 s and lets the transactions expire before the next one.
 */
const TRANSACTION_LINGER_MS = quick ? 0 : 33_000;
// --steps=50,100 and --rates=100,200 replace the mode's lists (for a focused look at one load).
for (const [flag, key] of [['--steps=', 'steps'], ['--rates=', 'rates']] as const) {
  const given = args.find((arg) => arg.startsWith(flag));
  if (given) MODE[key] = given.slice(flag.length).split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0 && n <= 5000);
}
/** Calls per second while a step ramps up (issue 3 asks INVITE → 200 OK at 100 calls/s). */
const RAMP_RATE = 100;
const FIRST_KEY_MS = 1500;
const KEY_EVERY_MS = 3000;
const IVR_SIP_PORT = 5080;
const FLOOR_SIP_PORT = 5090;
const ADMIN_PORT = 9091;
const RTP_MIN = 30000;
const FLOOR_RTP_PORT = 50000;
/** RFC 4733 payload type the scenarios offer (sipp's DTMF captures use 101). */
const EVENT_PT = 101;
/** A generator whose main (SIP) thread is this busy cannot keep its schedule: the step is void. */
const GENERATOR_SATURATED_PERCENT = 90;

const tmp = mkdtempSync(join(tmpdir(), 'traceless-bench-'));
const children = new Set<ChildProcess>();
let cleanedUp = false;
function cleanup(): void {
  if (cleanedUp) return;
  cleanedUp = true;
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (n: number, digits = 2) => (Number.isFinite(n) ? Number(n.toFixed(digits)) : null);
const log = (line: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

const exits = new WeakMap<ChildProcess, Promise<void>>();

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  // Taken at spawn, so a child that ends before anyone waits for it is still seen to end.
  exits.set(child, new Promise((resolve) => child.once('exit', () => resolve())));
  child.once('exit', () => children.delete(child));
  return child;
}

function exitOf(child: ChildProcess): Promise<void> {
  return exits.get(child) ?? Promise.resolve();
}

function git(...gitArgs: string[]): string {
  try {
    return execFileSync('git', gitArgs, { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

// ---- fixtures: audio, config, response frame ----

// Enough cells and ports that neither the steps nor the call-rate probe (1 s calls) meet the cap:
// a 503 in this bench means the server could not keep up, not that the config said no.
const maxCells = Math.min(10000, Math.max(Math.max(...MODE.steps) + 50, 4 * Math.max(...MODE.rates)));
const rtpMax = RTP_MIN + 2 * maxCells + 98;
const callerAudio = join(tmp, 'caller.ul');
const floorAudio = join(tmp, 'floor.ul');
execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-t', 'ul', callerAudio, 'synth', '10', 'pinknoise', 'vol', '0.05']);
execFileSync('sox', [join(root, 'prompts/en-US/parking.main_menu.wav'), '-r', '8000', '-c', '1', '-t', 'ul', floorAudio]);

const configFile = join(tmp, 'traceless.yaml');
writeFileSync(
  configFile,
  [
    'sip:',
    `  listeners: [{ transport: udp, address: 127.0.0.1, port: ${IVR_SIP_PORT} }]`,
    '  trustedPeers: [127.0.0.1/32]',
    '  invitesPerSecondPerSource: 10000',
    'media:',
    '  address: 127.0.0.1',
    `  portRange: { min: ${RTP_MIN}, max: ${rtpMax} }`,
    '  srtp: optional',
    `cells: { max: ${maxCells} }`,
    'numbers: { "*": bench }',
    'applications:',
    `  bench: { flow: ${join(root, 'bench/flows/prompt-gather.yaml')}, agentUri: "sip:agent@127.0.0.1" }`,
    `admin: { address: 127.0.0.1, port: ${ADMIN_PORT} }`,
    'log: { level: info }',
    'drainSeconds: 2',
    '',
  ].join('\n'),
);

/** The response prompt's first audible frame: what marks "the IVR answered the key" on the wire. */
const responseMarker = (() => {
  const store = new PromptStore();
  const prompt = store.loadFile('response', join(root, 'prompts/en-US/gather.invalid.wav'));
  const silence = Buffer.from(silenceFrame('PCMU'));
  const index = prompt.frames.PCMU.findIndex((frame) => !Buffer.from(frame).equals(silence));
  return { frame: prompt.frames.PCMU[index]!, index };
})();

// ---- the two callees ----

interface ServerEvents {
  setupMs: number[];
  wipeMs: number[];
  /** Call records by `outcome/hangupCause`: how each call ended, from the IVR's side. */
  endings: Record<string, number>;
}
let serverEvents: ServerEvents = { setupMs: [], wipeMs: [], endings: {} };

/** --profile: the server runs with --cpu-prof (allowed only with --unsafe-debug) and writes its profile here on exit. */
const profileDir = args.includes('--profile') ? join(root, 'bench/results/profiles') : null;

async function startIvr(): Promise<ChildProcess> {
  const startArgs = ['start', '--config', configFile, ...(profileDir ? ['--unsafe-debug'] : [])];
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  // Node 20 refuses --cpu-prof in NODE_OPTIONS: run the wrapper's two steps (no core dumps, then
  // the CLI) with the flag on node's own command line.
  const command = profileDir
    ? spawn('sh', ['-c', 'ulimit -c 0 && dir="$1" && cli="$2" && shift 2 && exec "$0" --cpu-prof --cpu-prof-dir="$dir" "$cli" "$@"', process.execPath, profileDir, join(root, 'bin/traceless.mjs'), ...startArgs], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(join(root, 'bin/traceless'), startArgs, { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  const child = track(command);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const started = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`traceless exited ${code}: ${stderr}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: { event?: string; setupMs?: number; durationMs?: number; outcome?: string; hangupCause?: string };
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      if (entry.event === 'server.start') resolve();
      else if (entry.event === 'call.answer' && typeof entry.setupMs === 'number') serverEvents.setupMs.push(entry.setupMs);
      else if (entry.event === 'cell.wipe' && typeof entry.durationMs === 'number') serverEvents.wipeMs.push(entry.durationMs);
      else if (entry.event === 'cdr') {
        const key = `${entry.outcome}/${entry.hangupCause}`;
        serverEvents.endings[key] = (serverEvents.endings[key] ?? 0) + 1;
      }
    });
  });
  await Promise.race([started, sleep(60_000).then(() => Promise.reject(new Error('traceless did not start in 60 s')))]);
  return child;
}

function startFloor(): ChildProcess {
  const scenario = writeScenario(tmp, 'uas-floor.xml', { FLOOR_AUDIO: floorAudio });
  return track(
    spawn('sipp', ['-sf', scenario, '-i', '127.0.0.1', '-mi', '127.0.0.1', '-p', String(FLOOR_SIP_PORT), '-mp', String(FLOOR_RTP_PORT), '-nostdin', '-max_socket', '4096'], {
      cwd: tmp,
      stdio: ['ignore', 'ignore', 'ignore'],
    }),
  );
}

async function metricsText(): Promise<string> {
  try {
    const response = await fetch(`http://127.0.0.1:${ADMIN_PORT}/metrics`);
    return await response.text();
  } catch {
    return '';
  }
}

function metricValue(text: string, name: string): number {
  const match = new RegExp(`^${name} ([0-9.eE+-]+)$`, 'm').exec(text);
  return match ? Number(match[1]) : Number.NaN;
}

/** Waits (bounded) until the IVR has no call left, so one step's calls never overlap the next. */
async function ivrIdle(): Promise<void> {
  for (let i = 0; i < 60; i++) {
    if (metricValue(await metricsText(), 'traceless_active_calls') === 0) return;
    await sleep(500);
  }
  log('warning: calls still active 30 s after the step');
}

/** A capture of the callee's SIP port for the whole run of one sipp UAC (stopped with stopSipCapture). */
async function startSipCapture(dir: string, sipPort: number): Promise<{ child: ChildProcess; path: string }> {
  const path = join(dir, 'sip.pcap');
  const child = track(spawn('dumpcap', ['-P', '-q', '-i', 'lo', '-s', '4096', '-f', `udp port ${sipPort}`, '-a', 'duration:600', '-w', path], { cwd: dir, stdio: 'ignore' }));
  await sleep(700);
  return { child, path };
}

async function stopSipCapture(capture: { child: ChildProcess; path: string }, sipPort: number): Promise<SipOutcomes> {
  if (capture.child.exitCode === null) capture.child.kill('SIGTERM');
  await Promise.race([exitOf(capture.child), sleep(5000)]);
  const outcomes = sipOutcomes(readUdpPackets(capture.path), sipPort);
  rmSync(capture.path, { force: true });
  return outcomes;
}

// ---- one load step ----

interface Target {
  name: 'traceless' | 'sipp-floor';
  sipPort: number;
  pid: number;
  rtpPort: (port: number) => boolean;
  captureFilter: string;
}

interface StepResult {
  target: Target['name'];
  calls: number;
  void: boolean;
  voidReason: string | null;
  failedCalls: number;
  successfulCalls: number;
  rejected503: number;
  /** The first lines of sipp's error log when calls failed. */
  failures: string[];
  windowSeconds: number;
  cpuPercentPerCall: number | null;
  cpuPercentTotal: number | null;
  rssKiBPerCall: number | null;
  rssKiB: { idle: number; loaded: number };
  generator: { cpuPercent: number | null; mainThreadPercent: number | null };
  machineBusyPercent: number | null;
  /** Cores busy with anything but the callee and the generator (other work on the shared machine, capture). */
  otherCores: number | null;
  /** How the IVR's call records say its calls ended (outcome/hangupCause → count). */
  endings: Record<string, number> | null;
  rtp: StreamFigures;
  keyResponse: KeyResponse | null;
  /** On the wire (capture of the SIP port), µs resolution; sipp's own rtd only has whole ms. */
  inviteTo200Ms: { p50: number | null; p99: number | null; count: number };
  serverSetupMs: { p50: number | null; p99: number | null } | null;
  wipeMs: { p50: number | null; p99: number | null; max: number | null; count: number } | null;
  clockLatenessMetric: { samples: number; note: string } | null;
}

async function loadStep(target: Target, calls: number): Promise<StepResult> {
  const dir = join(tmp, `${target.name}-${calls}`);
  mkdirSync(dir);
  const rate = Math.min(RAMP_RATE, calls);
  const rampMs = (1000 * calls) / rate;
  const holdMs = rampMs + FIRST_KEY_MS + MODE.windowSeconds * 1000 + 2500;
  const keys = Math.floor((holdMs - FIRST_KEY_MS) / KEY_EVERY_MS);
  const rest = holdMs - FIRST_KEY_MS - keys * KEY_EVERY_MS;
  const scenario = writeScenario(dir, 'uac-prompt-gather.xml', {
    DIALLED: '3115550100',
    CALLER_AUDIO: callerAudio,
    KEY_EVERY_MS,
    FIRST_KEY_MS,
    KEYS: `${keyBlock(keys, KEY_EVERY_MS)}\n  <pause milliseconds="${Math.max(0, Math.round(rest))}"/>`,
  });
  if (target.name === 'traceless') serverEvents = { setupMs: [], wipeMs: [], endings: {} };
  const idle = sampleProcess(target.pid);
  const sipCapture = await startSipCapture(dir, target.sipPort);
  const uac = startUac({ cwd: dir, scenario, target: `127.0.0.1:${target.sipPort}`, calls, rate, limit: calls, timeoutSeconds: Math.ceil((rampMs + holdMs) / 1000) + 30 });
  track(uac.child);
  const capture = join(dir, 'rtp.pcap');
  // Capture from just before the window; packets outside it are ignored in the analysis.
  await sleep(rampMs + FIRST_KEY_MS + 500 - 800);
  const dumpcap = track(
    spawn('dumpcap', ['-P', '-q', '-i', 'lo', '-s', '96', '-B', '64', '-f', target.captureFilter, '-a', `duration:${MODE.windowSeconds + 2}`, '-w', capture], {
      cwd: dir,
      stdio: 'ignore',
    }),
  );
  await sleep(800);
  const metricsBefore = target.name === 'traceless' ? await metricsText() : '';
  const startEpoch = Date.now();
  const before = { target: sampleProcess(target.pid), generator: sampleProcess(uac.child.pid!), machine: sampleMachine() };
  await sleep(MODE.windowSeconds * 1000);
  const after = { target: sampleProcess(target.pid), generator: sampleProcess(uac.child.pid!), machine: sampleMachine() };
  const endEpoch = Date.now();
  const metricsAfter = target.name === 'traceless' ? await metricsText() : '';
  await Promise.race([exitOf(dumpcap), sleep(10_000)]);
  const code = await uac.exited;
  const sip = await stopSipCapture(sipCapture, target.sipPort);
  const wireInviteTo200 = sip.inviteTo200Ms;
  if (target.name === 'traceless') await ivrIdle();
  else await sleep(1000);

  const packets = readRtpPackets(capture).filter((p) => p.timeMs >= startEpoch && p.timeMs <= endEpoch);
  rmSync(capture, { force: true });
  const uacResult = readUacResult(dir);
  const targetCpu = corePercent(before.target, after.target);
  const generatorMain = corePercent(before.generator, after.generator, true);
  const voidReason = generatorMain >= GENERATOR_SATURATED_PERCENT ? `generator main thread at ${generatorMain.toFixed(0)}% of a core` : null;
  const setup = [...serverEvents.setupMs].sort((a, b) => a - b);
  const wipes = [...serverEvents.wipeMs].sort((a, b) => a - b);
  const latenessCount = metricValue(metricsAfter, 'traceless_media_clock_lateness_seconds_count') - metricValue(metricsBefore, 'traceless_media_clock_lateness_seconds_count');
  const result: StepResult = {
    target: target.name,
    calls,
    void: voidReason !== null,
    voidReason,
    failedCalls: uacResult.failed,
    successfulCalls: uacResult.successful,
    rejected503: sip.rejected503,
    failures: uacResult.errors,
    windowSeconds: round((after.target.atMs - before.target.atMs) / 1000)!,
    cpuPercentPerCall: round(targetCpu / calls, 4),
    cpuPercentTotal: round(targetCpu, 1),
    rssKiBPerCall: round((after.target.rssKiB - idle.rssKiB) / calls, 1),
    rssKiB: { idle: idle.rssKiB, loaded: after.target.rssKiB },
    generator: { cpuPercent: round(corePercent(before.generator, after.generator), 1), mainThreadPercent: round(generatorMain, 1) },
    machineBusyPercent: round(machineBusyPercent(before.machine, after.machine), 1),
    otherCores: round((machineBusyPercent(before.machine, after.machine) * machineBefore.nproc - targetCpu - corePercent(before.generator, after.generator)) / 100, 2),
    endings: target.name === 'traceless' ? { ...serverEvents.endings } : null,
    rtp: roundFigures(streamFigures(packets, target.rtpPort)),
    keyResponse: target.name === 'traceless' ? roundKeys(keyResponse(packets, target.rtpPort, EVENT_PT, responseMarker.frame, responseMarker.index)) : null,
    inviteTo200Ms: { p50: round(percentile(wireInviteTo200, 0.5), 3), p99: round(percentile(wireInviteTo200, 0.99), 3), count: wireInviteTo200.length },
    serverSetupMs: target.name === 'traceless' ? { p50: round(percentile(setup, 0.5)), p99: round(percentile(setup, 0.99)) } : null,
    wipeMs: target.name === 'traceless' ? { p50: round(percentile(wipes, 0.5), 4), p99: round(percentile(wipes, 0.99), 4), max: round(wipes.at(-1) ?? Number.NaN, 4), count: wipes.length } : null,
    clockLatenessMetric:
      target.name === 'traceless'
        ? { samples: Number.isFinite(latenessCount) ? latenessCount : 0, note: latenessCount > 0 ? 'observed' : 'traceless_media_clock_lateness_seconds had no samples: send lateness is taken from the capture' }
        : null,
  };
  log(`${target.name} ${calls} calls: sipp exit ${code}, ${uacResult.successful} ok / ${uacResult.failed} failed, cpu ${result.cpuPercentTotal}%, loss ${result.rtp.lossPercent}%, skipped ${result.rtp.skippedPercent}%, lateness p99 ${result.rtp.latenessMs.p99} ms${voidReason ? `, VOID (${voidReason})` : ''}`);
  return result;
}

function roundFigures(figures: StreamFigures): StreamFigures {
  return {
    ...figures,
    lossPercent: round(figures.lossPercent, 3)!,
    skippedPercent: round(figures.skippedPercent, 3)!,
    jitterMs: { mean: round(figures.jitterMs.mean, 3)!, max: round(figures.jitterMs.max, 3)! },
    latenessMs: { p50: round(figures.latenessMs.p50, 3)!, p99: round(figures.latenessMs.p99, 3)!, max: round(figures.latenessMs.max, 3)! },
  };
}

function roundKeys(figures: KeyResponse): KeyResponse {
  return { ...figures, latencyMs: { p50: round(figures.latencyMs.p50)!, p99: round(figures.latencyMs.p99)!, max: round(figures.latencyMs.max)! } };
}

/**
 * Why a step of ours counts as the service level broken (the full sweep stops there): calls
 * fail, RTP is lost, or the server is saturated. Latency targets are judged per step instead, so
 * a busy shared machine's lateness tail does not hide where capacity ends.
 */
function breakReason(step: StepResult): string | null {
  if (step.void) return `void: ${step.voidReason}`;
  // Every bench call is shorter than the 30 s inactivity timeout, so an IVR hang-up for media
  // inactivity is the known RTP-session bug (bench/README.md), counted apart and not a break.
  const spurious = step.endings?.['abandoned/media-timeout'] ?? 0;
  if (step.rejected503 > 0 || step.failedCalls - spurious > Math.max(1, step.calls / 100)) return `${step.failedCalls} failed calls (${spurious} spurious media timeouts), ${step.rejected503} × 503`;
  if (step.rtp.lossPercent > 0.5) return `RTP loss ${step.rtp.lossPercent}%`;
  // Skipped frames follow event-loop stalls (lateness), judged per step like lateness; only a
  // clock that can no longer send most frames ends the sweep.
  if (step.rtp.skippedPercent > 5) return `${step.rtp.skippedPercent}% of frames never sent (clock skipped slots)`;
  // One JavaScript thread does all the work: at a full core the IVR cannot keep up any more.
  if ((step.cpuPercentTotal ?? 0) >= 95) return `IVR at ${step.cpuPercentTotal}% of a core`;
  return null;
}

// ---- call rate probe ----

interface RateResult {
  target: Target['name'];
  rate: number;
  achievedRate: number | null;
  successful: number;
  failed: number;
  rejected503: number;
  failures: string[];
  inviteTo200Ms: { p50: number | null; p99: number | null; count: number };
  ok: boolean;
}

async function rateStep(target: Target, rate: number): Promise<RateResult> {
  const dir = join(tmp, `${target.name}-rate-${rate}`);
  mkdirSync(dir);
  const scenario = writeScenario(dir, 'uac-short.xml', { DIALLED: '3115550100', HOLD_MS: 1000 });
  if (target.name === 'traceless') serverEvents = { setupMs: [], wipeMs: [], endings: {} };
  // The floor keeps no transaction state worth waiting for: a short probe tells its rate.
  const seconds = target.name === 'traceless' ? MODE.rateSeconds : Math.min(MODE.rateSeconds, 5);
  const calls = rate * seconds;
  const sipCapture = await startSipCapture(dir, target.sipPort);
  const uac = startUac({ cwd: dir, scenario, target: `127.0.0.1:${target.sipPort}`, calls, rate, limit: rate * 4, timeoutSeconds: seconds + 30 });
  track(uac.child);
  await uac.exited;
  const sip = await stopSipCapture(sipCapture, target.sipPort);
  const wireInviteTo200 = sip.inviteTo200Ms;
  if (target.name === 'traceless') {
    await ivrIdle();
    await sleep(TRANSACTION_LINGER_MS);
  } else await sleep(1000);
  const result = readUacResult(dir);
  const span = ((result.responseTimes.at(-1) ?? 0) - (result.responseTimes[0] ?? 0)) / 1000;
  const achieved = span > 0 ? (result.responseTimes.length - 1) / span : Number.NaN;
  const rejected503 = sip.rejected503;
  const ok = result.failed === 0 && result.successful === calls && rejected503 === 0 && achieved >= 0.9 * rate;
  log(`${target.name} at ${rate} calls/s: ${result.successful}/${calls} ok, ${result.failed} failed, ${rejected503} × 503, achieved ${achieved.toFixed(0)}/s`);
  return {
    target: target.name,
    rate,
    achievedRate: round(achieved, 1),
    successful: result.successful,
    failed: result.failed,
    rejected503,
    failures: result.errors,
    inviteTo200Ms: { p50: round(percentile(wireInviteTo200, 0.5), 3), p99: round(percentile(wireInviteTo200, 0.99), 3), count: wireInviteTo200.length },
    ok,
  };
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
const srcDirty = git('status', '--porcelain', '--', 'src', 'bench', 'prompts').length > 0;
const machineBefore: MachineInfo = machineInfo();
log(`${MODE.name} run on ${machineBefore.nproc}× ${machineBefore.model}, load ${machineBefore.loadAverage.join(' ')}, commit ${commit}${srcDirty ? ' (+ uncommitted changes)' : ''}`);

const ivr = await startIvr();
const floor = startFloor();
await sleep(1000);
if (floor.exitCode !== null) throw new Error('sipp UAS (the C floor) did not start');
const ivrTarget: Target = {
  name: 'traceless',
  sipPort: IVR_SIP_PORT,
  pid: ivr.pid!,
  rtpPort: (port) => port >= RTP_MIN && port <= rtpMax + 1,
  captureFilter: `udp and (src portrange ${RTP_MIN}-${rtpMax + 1} or (dst portrange ${RTP_MIN}-${rtpMax + 1} and udp[9] & 0x7f == ${EVENT_PT}))`,
};
const floorTarget: Target = {
  name: 'sipp-floor',
  sipPort: FLOOR_SIP_PORT,
  pid: floor.pid!,
  rtpPort: (port) => port === FLOOR_RTP_PORT,
  captureFilter: `udp src port ${FLOOR_RTP_PORT}`,
};

// Warm-up: a few calls so JIT compilation and first-call allocations do not land in step one.
await loadStepWarmup();
async function loadStepWarmup(): Promise<void> {
  const dir = join(tmp, 'warmup');
  mkdirSync(dir);
  const scenario = writeScenario(dir, 'uac-short.xml', { DIALLED: '3115550100', HOLD_MS: 1000 });
  const uac = startUac({ cwd: dir, scenario, target: `127.0.0.1:${IVR_SIP_PORT}`, calls: 20, rate: 20, limit: 20, timeoutSeconds: 30 });
  track(uac.child);
  await uac.exited;
  await ivrIdle();
}

const steps: StepResult[] = [];
let brokeAt: { calls: number; reason: string } | null = null;
for (const calls of MODE.steps) {
  const ours = await loadStep(ivrTarget, calls);
  const floorStep = await loadStep(floorTarget, calls);
  steps.push(ours, floorStep);
  const reason = breakReason(ours);
  if (reason) {
    brokeAt = { calls, reason };
    log(`service level broke at ${calls} calls: ${reason}`);
    if (!quick) break;
  }
}

const rates: RateResult[] = [];
for (const target of [ivrTarget, floorTarget]) {
  for (const rate of MODE.rates) {
    const result = await rateStep(target, rate);
    rates.push(result);
    if (!result.ok) break;
  }
}

for (const child of [ivr, floor]) {
  if (child.exitCode !== null || child.signalCode !== null) continue;
  child.kill('SIGTERM');
  await Promise.race([exitOf(child), sleep(10_000)]);
}
// With --profile the server wrote its .cpuprofile on exit: keep the file, summarise its hot spots.
let profile: { file: string; top: HotFunction[] } | null = null;
if (profileDir) {
  const newest = readdirSync(profileDir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(profileDir, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  if (newest) profile = { file: newest.slice(root.length + 1), top: summarizeProfile(newest, 15, root) };
}
const micro = microBenchmarks();
const machineAfter = machineInfo();

const results = {
  mode: MODE.name,
  date: started.toISOString(),
  durationSeconds: round((Date.now() - started.getTime()) / 1000, 0),
  commit,
  uncommittedChanges: srcDirty,
  machine: { nproc: machineBefore.nproc, model: machineBefore.model, loadAverageBefore: machineBefore.loadAverage, loadAverageAfter: machineAfter.loadAverage, node: process.version },
  setup: {
    flow: 'bench/flows/prompt-gather.yaml',
    rampCallsPerSecond: RAMP_RATE,
    windowSeconds: MODE.windowSeconds,
    rateSeconds: MODE.rateSeconds,
    keyEveryMs: KEY_EVERY_MS,
    generator: 'sipp 3.6.1 UAC: rtp_stream PCMU (pink noise) + RFC 2833 captures via play_pcap_audio',
    floor: 'sipp 3.6.1 UAS: rtp_stream of parking.main_menu as PCMU',
  },
  steps,
  brokeAt,
  rates,
  micro,
  profile,
};
const markdown = renderMarkdown(results);
const targets = targetsOf(results);
const stamp = started.toISOString().slice(0, 10);
const outDir = join(root, 'bench/results');
mkdirSync(outDir, { recursive: true });
const runName = profileDir ? `${MODE.name}-profile` : MODE.name;
writeFileSync(join(outDir, `${stamp}-${commit}-${runName}.json`), `${JSON.stringify({ ...results, targets }, null, 2)}\n`);
writeFileSync(join(outDir, `${stamp}-${commit}-${runName}.md`), markdown);
if (!profileDir) writeFileSync(join(outDir, 'latest.md'), markdown);
process.stdout.write(markdown);
cleanup();
process.exit(0);
