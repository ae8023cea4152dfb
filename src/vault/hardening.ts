// Start-up checks for switches and settings that could copy a call's memory out of the
// process: debuggers, heap snapshots, diagnostic reports, profilers, core dumps, swap.
// The checks are pure functions over a snapshot of the process so each one is testable;
// readHardeningInput() takes that snapshot.
import { readFileSync } from 'node:fs';
import inspector from 'node:inspector';
import { HardeningError } from './errors.ts';
import { readOwnLimits, softLimit } from './proc-limits.ts';

export interface HardeningInput {
  execArgv: readonly string[];
  nodeOptions: string | undefined;
  /** process.report switches (settable at run time too). */
  report: { reportOnSignal: boolean; reportOnFatalError: boolean; reportOnUncaughtException: boolean } | null;
  /** inspector.url(): defined when a debugger endpoint is open. */
  inspectorUrl: string | undefined;
  /** Text of /proc/self/limits, or null when unreadable. */
  limitsText: string | null;
  /** Text of /proc/sys/kernel/core_pattern, or null. */
  corePattern: string | null;
  /** Text of /proc/swaps, or null. */
  swapsText: string | null;
}

export type FindingSeverity = 'fatal' | 'warning';

export interface HardeningFinding {
  id: string;
  severity: FindingSeverity;
  message: string;
  /** What an operator runs or changes to clear the finding. */
  remedy: string;
}

interface FlagRule {
  id: string;
  /** Exact option names, or a family when the name ends with '*'. */
  names: readonly string[];
  why: string;
}

const FLAG_RULES: readonly FlagRule[] = [
  { id: 'inspector', names: ['--inspect*', '--debug-port'], why: 'opens a debugger that can read any memory' },
  { id: 'heap-snapshot', names: ['--heapsnapshot-signal', '--heapsnapshot-near-heap-limit'], why: 'writes the JS heap to disk' },
  { id: 'diagnostic-report', names: ['--report-on-signal', '--report-on-fatalerror', '--report-uncaught-exception'], why: 'writes process state to disk' },
  { id: 'diagnostic-dir', names: ['--diagnostic-dir'], why: 'directs heap snapshots, reports and profiles to disk' },
  { id: 'profiler', names: ['--cpu-prof*', '--heap-prof*', '--prof'], why: 'writes profiles during calls' },
];

/** Node accepts '_' for '-' in option names (see node --help); compare in one spelling. */
function optionName(arg: string): string {
  const name = arg.split('=', 1)[0]!;
  return name.replaceAll('_', '-');
}

function matches(name: string, pattern: string): boolean {
  return pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern;
}

/** NODE_OPTIONS is space-separated with double quotes for values containing spaces. */
export function splitNodeOptions(value: string | undefined): string[] {
  if (value === undefined) return [];
  const args: string[] = [];
  let current = '';
  let quoted = false;
  let started = false;
  for (const char of value) {
    if (char === '"') {
      quoted = !quoted;
      started = true;
    } else if (!quoted && (char === ' ' || char === '\t' || char === '\n')) {
      if (started) args.push(current);
      current = '';
      started = false;
    } else {
      current += char;
      started = true;
    }
  }
  if (started) args.push(current);
  return args;
}

function flagFindings(input: HardeningInput, severity: FindingSeverity): HardeningFinding[] {
  const findings: HardeningFinding[] = [];
  const sources: Array<[string, readonly string[]]> = [
    ['command line', input.execArgv],
    ['NODE_OPTIONS', splitNodeOptions(input.nodeOptions)],
  ];
  for (const [where, args] of sources) {
    for (const arg of args) {
      const name = optionName(arg);
      const rule = FLAG_RULES.find((candidate) => candidate.names.some((pattern) => matches(name, pattern)));
      if (rule === undefined) continue;
      findings.push({
        id: rule.id,
        severity,
        message: `${name} (${where}) ${rule.why}`,
        remedy: where === 'NODE_OPTIONS' ? `remove ${name} from NODE_OPTIONS` : `start without ${name}`,
      });
    }
  }
  return findings;
}

function reportFindings(input: HardeningInput, severity: FindingSeverity): HardeningFinding[] {
  const findings: HardeningFinding[] = [];
  const report = input.report;
  if (report !== null) {
    const on: Array<[boolean, string]> = [
      [report.reportOnSignal, 'reportOnSignal'],
      [report.reportOnFatalError, 'reportOnFatalError'],
      [report.reportOnUncaughtException, 'reportOnUncaughtException'],
    ];
    for (const [enabled, name] of on) {
      if (!enabled) continue;
      findings.push({
        id: 'diagnostic-report',
        severity,
        message: `process.report.${name} is on and would write process state to disk`,
        remedy: `set process.report.${name} = false and remove the --report-* switches`,
      });
    }
  }
  if (input.inspectorUrl !== undefined) {
    findings.push({
      id: 'inspector',
      severity,
      message: 'an inspector endpoint is open in this process',
      remedy: 'restart without --inspect; call blockInspectorSignal() so SIGUSR1 cannot open one',
    });
  }
  return findings;
}

function coreFindings(input: HardeningInput): HardeningFinding[] {
  const findings: HardeningFinding[] = [];
  const core = input.limitsText === null ? null : softLimit(input.limitsText, 'Max core file size');
  if (core === null) {
    findings.push({
      id: 'core-dump-unknown',
      severity: 'warning',
      message: 'could not read the core file size limit (/proc/self/limits)',
      remedy: 'start through bin/traceless (it runs `ulimit -c 0`) or set LimitCORE=0 in the systemd unit',
    });
  } else if (core !== 0) {
    findings.push({
      id: 'core-dump',
      severity: 'warning',
      message: 'core dumps are enabled: a crash would write the JS heap to disk (arenas are excluded by MADV_DONTDUMP)',
      remedy: 'run `ulimit -c 0` before starting (bin/traceless does), or LimitCORE=0 in the systemd unit',
    });
  }
  if (input.corePattern !== null && input.corePattern.trimStart().startsWith('|')) {
    findings.push({
      id: 'core-pipe',
      severity: 'warning',
      message: 'kernel.core_pattern pipes dumps to a helper that applies its own rules',
      remedy: 'keep RLIMIT_CORE at 0 and set Storage=none in /etc/systemd/coredump.conf (or disable apport)',
    });
  }
  return findings;
}

function swapFindings(input: HardeningInput): HardeningFinding[] {
  if (input.swapsText === null) return [];
  // /proc/swaps: a header line, then one line per active swap area.
  const areas = input.swapsText.split('\n').slice(1).filter((line) => line.trim() !== '');
  if (areas.length === 0) return [];
  return [
    {
      id: 'swap',
      severity: 'warning',
      message: 'swap is active: the JS heap (not the locked arenas) may be written to it',
      remedy: 'run `swapoff -a` (and remove swap from /etc/fstab) or use encrypted swap',
    },
  ];
}

/** Every finding for this snapshot. With unsafeDebug, debugging switches are warnings instead of fatal. */
export function hardeningFindings(input: HardeningInput, options: { unsafeDebug: boolean }): HardeningFinding[] {
  const severity: FindingSeverity = options.unsafeDebug ? 'warning' : 'fatal';
  return [...flagFindings(input, severity), ...reportFindings(input, severity), ...coreFindings(input), ...swapFindings(input)];
}

/** Throws HardeningError naming every fatal finding. */
export function enforceHardening(findings: readonly HardeningFinding[]): void {
  const fatal = findings.filter((finding) => finding.severity === 'fatal');
  if (fatal.length > 0) throw new HardeningError(fatal.map((finding) => `${finding.message} — ${finding.remedy}`));
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** Snapshot of the running process for hardeningFindings(). */
export function readHardeningInput(): HardeningInput {
  const report = process.report;
  return {
    execArgv: process.execArgv,
    nodeOptions: process.env.NODE_OPTIONS,
    report:
      report === undefined
        ? null
        : {
            reportOnSignal: report.reportOnSignal,
            reportOnFatalError: report.reportOnFatalError,
            reportOnUncaughtException: report.reportOnUncaughtException,
          },
    inspectorUrl: inspector.url(),
    limitsText: readOwnLimits(),
    corePattern: readOrNull('/proc/sys/kernel/core_pattern'),
    swapsText: readOrNull('/proc/swaps'),
  };
}

/**
 * Node opens an inspector on SIGUSR1. A JS listener for the signal replaces that handler,
 * so anyone able to signal the process cannot attach a debugger to it.
 */
export function blockInspectorSignal(target: NodeJS.Process = process): void {
  if (target.listenerCount('SIGUSR1') === 0) target.on('SIGUSR1', () => {});
}
