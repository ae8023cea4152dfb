// Running sipp for the bench: scenario templates from bench/sipp/, the UAC command line, and what
// its -trace_rtt and -trace_stat files say afterwards.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const templates = join(import.meta.dirname, '..', 'sipp');

/** Writes bench/sipp/<name> into `dir` with every {{KEY}} replaced; returns the path. */
export function writeScenario(dir: string, name: string, values: Record<string, string | number>, as = name): string {
  // Comments are for the template's reader: left in, a placeholder in one would be filled too,
  // and sipp refuses a scenario whose comment is long (a whole key journey: over ~32 KB).
  let text = readFileSync(join(templates, name), 'utf8').replace(/<!--[\s\S]*?-->\n?/g, '');
  text = text.replace(/\{\{([A-Z_]+)\}\}/g, (_, key: string) => {
    if (!(key in values)) throw new Error(`${name}: no value for {{${key}}}`);
    return String(values[key]);
  });
  const path = join(dir, as);
  writeFileSync(path, text);
  return path;
}

/** The key-press block of the caller scenario: one RFC 2833 capture every `everyMs`, digits cycling. */
export function keyBlock(keys: number, everyMs: number): string {
  const digits = ['1', '2', '3', '4', '5', '6', '7', '8', '9'];
  const lines: string[] = [];
  for (let i = 0; i < keys; i++) {
    lines.push(`  <nop><action><exec play_pcap_audio="/usr/share/sip-tester/dtmf_2833_${digits[i % digits.length]}.pcap"/></action></nop>`);
    lines.push(`  <pause milliseconds="${everyMs}"/>`);
  }
  return lines.join('\n');
}

export interface UacRun {
  child: ChildProcess;
  exited: Promise<number | null>;
}

/**
 * sipp as UAC from 127.0.0.1:5070 (RTP from 40000) toward `target`; files land in `cwd`. With an
 * injection file (-inf, first line SEQUENTIAL), call n reads line n: its [field0], [field1] …
 */
export function startUac(options: { cwd: string; scenario: string; target: string; calls: number; rate: number; limit: number; timeoutSeconds: number; injectionFile?: string }): UacRun {
  const args = [
    options.target, '-sf', options.scenario, '-i', '127.0.0.1', '-mi', '127.0.0.1', '-p', '5070', '-mp', '40000',
    '-m', String(options.calls), '-l', String(options.limit), '-r', String(options.rate),
    '-nostdin', '-timeout', `${options.timeoutSeconds}s`, '-trace_rtt', '-rtt_freq', '1', '-trace_stat', '-fd', '1', '-trace_err',
    '-max_socket', '4096',
    ...(options.injectionFile ? ['-inf', options.injectionFile] : []),
  ];
  const child = spawn('sipp', args, { cwd: options.cwd, stdio: ['ignore', 'ignore', 'ignore'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited };
}

export interface UacResult {
  successful: number;
  failed: number;
  /** INVITE → 200 OK as sipp measured it (the scenario's rtd), sorted, in ms. */
  inviteTo200Ms: number[];
  /** When each response time was logged (ms since epoch), for the achieved call rate. */
  responseTimes: number[];
  /** First lines of sipp's -trace_err log (why calls failed). */
  errors: string[];
}

/** Reads the -trace_stat and -trace_rtt files sipp left in `cwd`. */
export function readUacResult(cwd: string): UacResult {
  const files = readdirSync(cwd);
  const result: UacResult = { successful: 0, failed: 0, inviteTo200Ms: [], responseTimes: [], errors: [] };
  const errors = files.find((f) => f.endsWith('_errors.log'));
  if (errors) {
    result.errors = readFileSync(join(cwd, errors), 'utf8').split('\n').filter((line) => line.trim() !== '').slice(0, 8).map((line) => line.slice(0, 240));
  }
  const stat = files.find((f) => f.endsWith('.csv') && !f.endsWith('_rtt.csv'));
  if (stat) {
    const lines = readFileSync(join(cwd, stat), 'utf8').trim().split('\n');
    const header = lines[0]!.split(';');
    const last = lines.at(-1)!.split(';');
    const column = (name: string) => Number(last[header.indexOf(name)] ?? Number.NaN);
    result.successful = column('SuccessfulCall(C)');
    result.failed = column('FailedCall(C)');
  }
  const rtt = files.find((f) => f.endsWith('_rtt.csv'));
  if (rtt) {
    for (const line of readFileSync(join(cwd, rtt), 'utf8').split('\n').slice(1)) {
      const [date, ms] = line.split(';');
      if (ms === undefined || ms.trim() === '') continue;
      result.inviteTo200Ms.push(Number(ms));
      result.responseTimes.push(Number(date));
    }
    result.inviteTo200Ms.sort((a, b) => a - b);
    result.responseTimes.sort((a, b) => a - b);
  }
  return result;
}
