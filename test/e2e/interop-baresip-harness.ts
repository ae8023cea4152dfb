// Runs inside a loopback-only network namespace (baresip binds wildcard RTP and DNS sockets): the
// real server (`traceless start`, interop-server.ts) and one baresip call to it, driven through
// baresip's ctrl_tcp module. Prints one JSON line (BaresipRunReport) with what both sides saw.
//   interop-baresip-harness.ts '<BaresipRun as JSON>'
// SRTP keys never leave this process: the report carries profiles and suite names only.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PromptStore } from '../../src/media/prompt-store.ts';
import { decodeSamples } from '../../src/media/g711.ts';
import { FRAME_SAMPLES } from '../../src/media/frame-source.ts';
import { makeTestPki } from '../sip/tls-fixture.ts';
import { BaresipControl } from './baresip-control.ts';
import { DIALLED, InteropServer, SIP_PORT, SIPS_PORT, type ServerEvent } from './interop-server.ts';
import { only } from './interop-outcome.ts';

export interface BaresipRun {
  transport: 'udp' | 'tls';
  /** baresip's account mediaenc (srtp-mand: RTP/SAVP with SDES, nothing else accepted). */
  mediaenc: 'srtp-mand' | null;
  /**
   * What the caller keys, one entry per gather of the flow (digits + terminator). `inband` entries
   * are DTMF tones in baresip's audio (a sox-made WAV it streams from the start of the call);
   * `rfc4733` entries are sent with ctrl_tcp `sndcode` once that gather has opened.
   */
  entries: Array<{ keys: string; via: 'inband' | 'rfc4733' }>;
}

/** What one SDP in baresip's SIP trace said (no key material). */
export interface SdpFacts {
  profile: string | null;
  suites: string[];
  /** The payload type of telephone-event/8000, if any. */
  telephoneEvent: string | null;
}

export interface BaresipRunReport {
  baresipExit: number | null;
  /** ctrl_tcp call events in order, e.g. CALL_ESTABLISHED, CALL_CLOSED. */
  calls: Array<{ type: string; param?: string }>;
  /** From baresip's SIP trace: the offer it sent, the answer it got, the INVITE's final status. */
  offer: SdpFacts | null;
  answer: SdpFacts | null;
  finalResponse: string | null;
  /** Samples of our goodbye prompt, and how many of them baresip's decoded dump holds (heardSamples). */
  goodbyeSamples: number;
  goodbyeHeard: number;
  /** baresip's RTCP summary at hang-up: packets it lost of our stream (null: no summary). */
  lostByBaresip: number | null;
  /** Lines of baresip's output that speak of SRTP or authentication trouble. */
  srtpComplaints: string[];
  /** `sndcode` accepted by baresip, per rfc4733 entry. */
  keysSent: boolean[];
  /** The server's lines for the call (log vocabulary and call record: no key values). */
  server: ServerEvent[];
  /** traceless_rtp_dropped_packets_total by reason, from the server's /metrics after the call. */
  rtpDrops: Record<string, number>;
  serverStderr: string;
  serverExit: number | null;
}

const CTRL_PORT = 4444;
const EXIT_TIMEOUT_MS = 15_000;
const ROWS = [697, 770, 852, 941];
const COLUMNS = [1209, 1336, 1477, 1633];
const KEYPAD = ['123A', '456B', '789C', '*0#D'];

/** The server's drop counters, read from its admin listener (loopback, no token). */
async function droppedPackets(server: InteropServer): Promise<Record<string, number>> {
  const admin = String(only(server.events, 'server.start').adminListener);
  const text = await (await fetch(`http://${admin}/metrics`)).text();
  const drops: Record<string, number> = {};
  for (const match of text.matchAll(/^traceless_rtp_dropped_packets_total\{reason="([^"]+)"\} (\d+)$/gm)) drops[match[1]!] = Number(match[2]);
  return drops;
}

const run = JSON.parse(process.argv[2] ?? '{}') as BaresipRun;
const dir = mkdtempSync(join(tmpdir(), 'traceless-e2e-baresip-'));
const pki = run.transport === 'tls' ? makeTestPki() : undefined;
let server: InteropServer | undefined;
let control: BaresipControl | undefined;
let child: ChildProcess | undefined;
let output = '';

/**
 * baresip's audio source: 0.5 s of silence, then the in-band entries as sox-made tone pairs
 * (100 ms on, 100 ms off, -10 dBFS peak), then silence for longer than any call here lasts.
 */
function sourceWav(): string {
  const pieces: string[] = [];
  const piece = (name: string, ...effects: string[]): void => {
    const file = join(dir, `${name}.wav`);
    execFileSync('sox', ['-D', '-n', '-r', '8000', '-c', '1', '-b', '16', file, ...effects]);
    pieces.push(file);
  };
  piece('lead', 'trim', '0', '0.5');
  const tones = run.entries.filter((entry) => entry.via === 'inband').map((entry) => entry.keys).join('');
  [...tones].forEach((key, i) => {
    const row = KEYPAD.findIndex((keys) => keys.includes(key));
    const column = KEYPAD[row]!.indexOf(key);
    piece(`tone${i}`, 'synth', '0.1', 'sine', String(ROWS[row]), 'sine', String(COLUMNS[column]), 'remix', '-', 'gain', '-n', '-10', 'pad', '0', '0.1');
  });
  piece('tail', 'trim', '0', '60');
  const source = join(dir, 'source.wav');
  execFileSync('sox', [...pieces, source]);
  return source;
}

function baresipConfig(): void {
  const home = join(dir, 'baresip');
  mkdirSync(home);
  writeFileSync(
    join(home, 'config'),
    [
      'poll_method epoll',
      'sip_listen 127.0.0.1:0',
      ...(pki ? [`sip_cafile ${pki.paths.ca}`] : []),
      `audio_source aufile,${sourceWav()}`,
      `audio_player aufile,${join(dir, 'played.wav')}`,
      'rtp_ports 47000-47019',
      'module_path /usr/lib/baresip/modules',
      'module g711.so',
      'module aufile.so',
      'module srtp.so',
      'module sndfile.so', // dumps what it decoded from us
      `snd_path ${dir}`,
      'module rtcpsummary.so', // RTCP-based loss figures at hang-up
      'module_app account.so',
      'module_app menu.so',
      'module_app ctrl_tcp.so',
      `ctrl_tcp_listen 127.0.0.1:${CTRL_PORT}`,
      '',
    ].join('\n'),
  );
  const params = ['regint=0', 'audio_codecs=PCMU', ...(run.mediaenc ? [`mediaenc=${run.mediaenc}`] : [])];
  const uri = run.transport === 'tls' ? '<sip:caller@127.0.0.1;transport=tls>' : '<sip:caller@127.0.0.1>';
  writeFileSync(join(home, 'accounts'), `${uri};${params.join(';')}\n`);
}

/** Profile and crypto suites of the SDP in the traced message that starts with `startLine`. */
function sdpAfter(startLine: string): SdpFacts | null {
  const at = output.indexOf(startLine);
  if (at < 0) return null;
  // Each traced message ends where baresip resets the terminal colour (ESC).
  const end = output.indexOf('\x1b', at);
  const message = output.slice(at, end < 0 ? undefined : end);
  return {
    profile: /^m=audio \d+ (\S+)/m.exec(message)?.[1] ?? null,
    suites: [...message.matchAll(/^a=crypto:\d+ (\S+)/gm)].map((match) => match[1]!),
    telephoneEvent: /^a=rtpmap:(\d+) telephone-event\/8000/m.exec(message)?.[1] ?? null,
  };
}

/**
 * How much of our goodbye prompt baresip decoded. We sent it as G.711 (PromptStore encodes it once);
 * one voiced frame found verbatim in baresip's dump fixes the alignment, then every sample is
 * compared. libre's µ-law table decodes the two zero codes as ±2 where ours gives 0, so samples
 * within 2 count as heard (and frames holding a zero are not used to align). Audio that failed
 * SRTP, or was decrypted wrong, would match nothing.
 */
function heardSamples(id: string): { samples: number; heard: number } {
  const prompt = new PromptStore().loadFile(id, fileURLToPath(new URL(`../../prompts/en-US/${id}.wav`, import.meta.url)));
  const sent = new Int16Array(prompt.frameCount * FRAME_SAMPLES);
  prompt.frames.PCMU.forEach((frame, i) => decodeSamples(frame, 'PCMU', sent.subarray(i * FRAME_SAMPLES, (i + 1) * FRAME_SAMPLES)));
  const name = readdirSync(dir).find((file) => file.endsWith('-dec.wav'));
  const wav = name ? readFileSync(join(dir, name)) : Buffer.alloc(0);
  const data = wav.indexOf('data');
  const bytes = data < 0 ? Buffer.alloc(0) : wav.subarray(data + 8);
  const dump = new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + (bytes.length & ~1)));
  let offset: number | null = null;
  for (let i = 0; i < prompt.frameCount && offset === null; i++) {
    const frame = sent.subarray(i * FRAME_SAMPLES, (i + 1) * FRAME_SAMPLES);
    if (new Set(frame).size < 32 || frame.includes(0)) continue; // silence would match anywhere
    const at = Buffer.from(dump.buffer).indexOf(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength));
    if (at >= 0 && at % 2 === 0) offset = at / 2 - i * FRAME_SAMPLES;
  }
  let heard = 0;
  if (offset !== null) {
    const start = offset;
    sent.forEach((sample, i) => (heard += Math.abs((dump[start + i] ?? 0x7fff) - sample) <= 2 ? 1 : 0));
  }
  return { samples: sent.length, heard };
}

/** Waits for a process to exit; SIGKILL after EXIT_TIMEOUT_MS. Resolves its exit code (null if killed). */
async function exitOf(process: ChildProcess): Promise<number | null> {
  if (process.exitCode !== null || process.signalCode !== null) return process.exitCode;
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    once(process, 'exit').then(([exitCode]) => exitCode as number | null),
    new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), EXIT_TIMEOUT_MS))),
  ]);
  clearTimeout(timer);
  if (code !== 'late') return code;
  process.kill('SIGKILL');
  await once(process, 'exit');
  return null;
}

const keysSent: boolean[] = [];
let baresipExit: number | null = null;
let callEvents: ServerEvent[] = [];
let rtpDrops: Record<string, number> = {};
let heard = { samples: 0, heard: 0 };
try {
  server = await InteropServer.start({ dir, entries: run.entries.map((entry) => entry.keys), ...(pki ? { pki } : {}) });
  baresipConfig();
  child = spawn('baresip', ['-f', join(dir, 'baresip'), '-s'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const ready = new Promise<void>((resolve) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('baresip is ready.')) resolve();
    };
    child!.stdout!.on('data', onData);
    child!.stderr!.on('data', onData);
  });
  await Promise.race([ready, once(child, 'exit').then(() => Promise.reject(new Error('baresip exited before it was ready')))]);
  control = await BaresipControl.connect(CTRL_PORT);

  const target = run.transport === 'tls' ? `sip:${DIALLED}@127.0.0.1:${SIPS_PORT};transport=tls` : `sip:${DIALLED}@127.0.0.1:${SIP_PORT}`;
  await control.command('dial', target);
  const callId = String((await server.waitFor((e) => e.event === 'call.start', 'call.start')).callId);
  const first = await control.waitFor(['CALL_ESTABLISHED', 'CALL_CLOSED']);
  if (first.type === 'CALL_ESTABLISHED') {
    for (const [i, entry] of run.entries.entries()) {
      if (entry.via !== 'rfc4733') continue;
      // Keys barge in from the moment this entry's prompt starts: its gather's `open` line.
      const opened = (e: ServerEvent): boolean => e.callId === callId && e.event === 'flow.step' && e.kind === 'open';
      await server.waitFor(opened, `gather ${i + 1} open`, i + 1);
      keysSent.push(await control.command('sndcode', entry.keys));
    }
  }
  // The flow ends by hanging up (or the server refused the call): either way baresip sees it closed.
  await control.waitFor(['CALL_CLOSED']);
  await server.waitFor((e) => e.callId === callId && e.event === 'cdr', 'call record');
  callEvents = server.callEvents(callId);
  rtpDrops = await droppedPackets(server);
  // baresip may close ctrl_tcp before it answers `quit`: its exit status is the answer that counts.
  const quit = control.command('quit').catch(() => false);
  baresipExit = await exitOf(child);
  await quit;
  heard = heardSamples('goodbye');
} catch (error) {
  // SDES keys are in the trace: never print them, even from a failing run.
  process.stderr.write(`baresip said:\n${output.replace(/inline:\S+/g, 'inline:[key]').slice(-3000)}\n`);
  throw error;
} finally {
  control?.close();
  if (child && baresipExit === null) {
    child.kill('SIGTERM');
    await exitOf(child);
  }
  await server?.stop();
  pki?.remove();
  rmSync(dir, { recursive: true, force: true });
}

const lost = /^EX=BareSip;.*;PL=(\d+),(\d+);/m.exec(output);
const report: BaresipRunReport = {
  baresipExit,
  calls: control?.events ?? [],
  offer: sdpAfter('INVITE sip:'),
  answer: sdpAfter('SIP/2.0 200 OK'),
  finalResponse: /^SIP\/2\.0 ([2-6]\d\d [^\r\n]*)/m.exec(output.slice(output.indexOf('INVITE sip:')))?.[1] ?? null,
  goodbyeSamples: heard.samples,
  goodbyeHeard: heard.heard,
  lostByBaresip: lost ? Number(lost[1]) : null,
  srtpComplaints: output.split('\n').filter((line) => /srtp|auth/i.test(line) && /fail|error|invalid|drop/i.test(line)),
  keysSent,
  server: callEvents,
  rtpDrops,
  serverStderr: server?.stderr.slice(-1500) ?? '',
  serverExit: server?.exitCode ?? null,
};
process.stdout.write(`${JSON.stringify(report)}\n`);
