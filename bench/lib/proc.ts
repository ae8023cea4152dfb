// What the bench reads from /proc: a process's CPU (utime+stime, all threads, and its main thread
// alone) and its resident memory, the same for a process with all its descendants (a database and
// its backends), and the whole machine's busy time — sampled at the start and the end of a
// measurement window.
import { readFileSync, readdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { execFileSync } from 'node:child_process';

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat. */
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** The fields of a /proc/.../stat line after the `(comm)`: [0] is state (field 3), [11] utime (field 14). */
function statFields(statPath: string): string[] {
  const text = readFileSync(statPath, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** utime+stime in seconds from a /proc/.../stat line (fields 14 and 15). */
function cpuSecondsOf(statPath: string): number {
  const fields = statFields(statPath);
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

export interface ProcessSample {
  atMs: number;
  cpuSeconds: number;
  mainThreadCpuSeconds: number;
  rssKiB: number;
}

/** A sample of a live process; NaN figures when it has already exited. */
export function sampleProcess(pid: number): ProcessSample {
  try {
    return readSample(pid);
  } catch {
    return { atMs: performance.now(), cpuSeconds: Number.NaN, mainThreadCpuSeconds: Number.NaN, rssKiB: Number.NaN };
  }
}

function readSample(pid: number): ProcessSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = /VmRSS:\s+(\d+) kB/.exec(status);
  return {
    atMs: performance.now(),
    cpuSeconds: cpuSecondsOf(`/proc/${pid}/stat`),
    mainThreadCpuSeconds: cpuSecondsOf(`/proc/${pid}/task/${pid}/stat`),
    rssKiB: rss ? Number(rss[1]) : Number.NaN,
  };
}

/**
 * A process and all its descendants as one (a database: the city-db script, the postmaster and
 * its backends). CPU counts each live process's own time plus the time of children it has
 * reaped (cutime+cstime), so a backend that ends between two samples is not lost; RSS is summed
 * (shared pages count once per process). The main-thread figure is the root's.
 */
export function sampleTree(rootPid: number): ProcessSample {
  const parents = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    try {
      const ppid = Number(statFields(`/proc/${pid}/stat`)[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), pid]);
    } catch {
      // gone between the listing and the read
    }
  }
  const sample = sampleProcess(rootPid);
  let cpuSeconds = 0;
  let rssKiB = 0;
  const walk = (pid: number): void => {
    try {
      const fields = statFields(`/proc/${pid}/stat`);
      cpuSeconds += (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      rssKiB += rss ? Number(rss[1]) : 0;
    } catch {
      return;
    }
    for (const child of parents.get(pid) ?? []) walk(child);
  };
  walk(rootPid);
  return { atMs: sample.atMs, cpuSeconds: Number.isFinite(sample.cpuSeconds) ? cpuSeconds : Number.NaN, mainThreadCpuSeconds: sample.mainThreadCpuSeconds, rssKiB };
}

/** Share of one core used between two samples, in percent (100 = one core busy). */
export function corePercent(from: ProcessSample, to: ProcessSample, mainThread = false): number {
  const seconds = (to.atMs - from.atMs) / 1000;
  const used = mainThread ? to.mainThreadCpuSeconds - from.mainThreadCpuSeconds : to.cpuSeconds - from.cpuSeconds;
  return (100 * used) / seconds;
}

export interface MachineSample {
  busy: number;
  total: number;
}

export function sampleMachine(): MachineSample {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  const total = values.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** Whole machine busy share between two samples, in percent of all cores. */
export function machineBusyPercent(from: MachineSample, to: MachineSample): number {
  const total = to.total - from.total;
  return total === 0 ? 0 : (100 * (to.busy - from.busy)) / total;
}

export interface MachineInfo {
  nproc: number;
  model: string;
  loadAverage: number[];
}

export function machineInfo(): MachineInfo {
  return { nproc: cpus().length, model: cpus()[0]?.model ?? 'unknown', loadAverage: loadavg().map((x) => Number(x.toFixed(2))) };
}
