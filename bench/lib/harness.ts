// What every bench scenario needs around its processes: tracking what it started (so all of
// it stops at exit), bounded waits, the IVR as a separate `traceless start` process with its
// log lines handed to the scenario, the admin endpoint, and a capture of a SIP port.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { readUdpPackets, sipOutcomes, type SipOutcomes } from './pcap-rtp.ts';
import { summarizeProfile, type HotFunction } from './profile-summary.ts';

export const root = join(import.meta.dirname, '..', '..');

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
export const round = (n: number, digits = 2): number | null => (Number.isFinite(n) ? Number(n.toFixed(digits)) : null);
export const log = (line: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};

const children = new Set<ChildProcess>();
const exits = new WeakMap<ChildProcess, Promise<void>>();

/** Remembers a child so killChildren() ends it; its exit is taken at spawn, so an early exit is still seen. */
export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  exits.set(child, new Promise((resolve) => child.once('exit', () => resolve())));
  child.once('exit', () => children.delete(child));
  return child;
}

export function exitOf(child: ChildProcess): Promise<void> {
  return exits.get(child) ?? Promise.resolve();
}

/** SIGKILL to every tracked child still running (the exit path). */
export function killChildren(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** SIGTERM, then a bounded wait for the exit. */
export async function stopChild(child: ChildProcess, waitMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await Promise.race([exitOf(child), sleep(waitMs)]);
}

/** One parsed JSON log line of the IVR. */
export type IvrLogEntry = Record<string, unknown> & { event?: string };

/**
 * `traceless start --config <file>` in `cwd`, resolved once it logs server.start; every JSON log
 * line goes to `onEntry`. With `profileDir` the server runs under --cpu-prof (allowed only with
 * --unsafe-debug) and writes its profile there on exit.
 */
export async function startIvr(options: { configFile: string; cwd: string; profileDir: string | null; onEntry: (entry: IvrLogEntry) => void }): Promise<ChildProcess> {
  const { configFile, cwd, profileDir } = options;
  const startArgs = ['start', '--config', configFile, ...(profileDir ? ['--unsafe-debug'] : [])];
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  // Node 20 refuses --cpu-prof in NODE_OPTIONS: run the wrapper's two steps (no core dumps, then
  // the CLI) with the flag on node's own command line.
  const command = profileDir
    ? spawn('sh', ['-c', 'ulimit -c 0 && dir="$1" && cli="$2" && shift 2 && exec "$0" --cpu-prof --cpu-prof-dir="$dir" "$cli" "$@"', process.execPath, profileDir, join(root, 'bin/traceless.mjs'), ...startArgs], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(join(root, 'bin/traceless'), startArgs, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const child = track(command);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const started = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`traceless exited ${code}: ${stderr}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: IvrLogEntry;
      try {
        entry = JSON.parse(line) as IvrLogEntry;
      } catch {
        return;
      }
      if (entry.event === 'server.start') resolve();
      options.onEntry(entry);
    });
  });
  await Promise.race([started, sleep(60_000).then(() => Promise.reject(new Error('traceless did not start in 60 s')))]);
  return child;
}

/** The newest .cpuprofile in `profileDir` (what --cpu-prof wrote on exit), summarised. */
export function newestProfile(profileDir: string): { file: string; top: HotFunction[] } | null {
  const newest = readdirSync(profileDir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(profileDir, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  return newest ? { file: newest.slice(root.length + 1), top: summarizeProfile(newest, 15, root) } : null;
}

export async function metricsText(adminPort: number): Promise<string> {
  try {
    const response = await fetch(`http://127.0.0.1:${adminPort}/metrics`);
    return await response.text();
  } catch {
    return '';
  }
}

export function metricValue(text: string, name: string): number {
  const match = new RegExp(`^${name} ([0-9.eE+-]+)$`, 'm').exec(text);
  return match ? Number(match[1]) : Number.NaN;
}

/** Waits (bounded) until the IVR has no call left, so one step's calls never overlap the next. */
export async function ivrIdle(adminPort: number): Promise<void> {
  for (let i = 0; i < 60; i++) {
    if (metricValue(await metricsText(adminPort), 'traceless_active_calls') === 0) return;
    await sleep(500);
  }
  log('warning: calls still active 30 s after the step');
}

export interface SipCapture {
  child: ChildProcess;
  path: string;
}

/** A capture of the callee's SIP port for the whole run of one sipp UAC (stopped with stopSipCapture). */
export async function startSipCapture(dir: string, sipPort: number): Promise<SipCapture> {
  const path = join(dir, 'sip.pcap');
  const child = track(spawn('dumpcap', ['-P', '-q', '-i', 'lo', '-s', '4096', '-f', `udp port ${sipPort}`, '-a', 'duration:600', '-w', path], { cwd: dir, stdio: 'ignore' }));
  await sleep(700);
  return { child, path };
}

export async function stopSipCapture(capture: SipCapture, sipPort: number): Promise<SipOutcomes> {
  if (capture.child.exitCode === null) capture.child.kill('SIGTERM');
  await Promise.race([exitOf(capture.child), sleep(5000)]);
  const outcomes = sipOutcomes(readUdpPackets(capture.path), sipPort);
  rmSync(capture.path, { force: true });
  return outcomes;
}
