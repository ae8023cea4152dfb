// The second bench scenario (issue 9): the parking line with its database. The city's PostgreSQL
// (mutual TLS) and the test payment gateway run as their own processes (apps/parking/demo-stack.ts),
// the IVR as a separate `traceless start` with the parking flow, and sipp callers walk the whole
// journey in steps of concurrent calls: language, citation (their own, seeded unpaid), the amount
// read back after the database lookup — again and again while the step is measured — then pay
// with a test card, and the IVR records the payment, says goodbye and hangs up.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { PromptStore, silenceFrame } from '../src/media/prompt-store.ts';
import { currencyClips, dateClips } from '../src/flow/say-as.ts';
import { startDemoStack, type DemoStack } from '../apps/parking/demo-stack.ts';
import { CITY_OPERATIONS } from '../apps/parking/backends.ts';
import { connectAuditor } from '../apps/parking/auditor.ts';
import { LOAD_TEST_TICKET } from '../apps/parking/city-schema.ts';
import { keyResponses, percentile, readRtpPackets, streamFigures, type StreamFigures } from './lib/pcap-rtp.ts';
import { corePercent, machineBusyPercent, sampleMachine, sampleProcess, sampleTree, type ProcessSample } from './lib/proc.ts';
import { readUacResult, startUac, writeScenario } from './lib/sipp.ts';
import { KeyScript } from './lib/sipp-keys.ts';
import { exitOf, ivrIdle, log, newestProfile, root, round, sleep, startIvr, startSipCapture, stopChild, stopSipCapture, track, type IvrLogEntry } from './lib/harness.ts';
import { EVENT_PT, GENERATOR_SATURATED_PERCENT, RAMP_RATE, roundFigures, type ScenarioContext } from './prompt-gather.ts';
import type { HotFunction } from './lib/profile-summary.ts';

const SIP_PORT = 5082;
const ADMIN_PORT = 9092;
const RTP_MIN = 30000;
const DIALLED = '3115550100';
/** From one key to the next: a capture lasts 140 ms, a secure entry takes each key at once. */
const KEY_SPACING_MS = 300;
/** The greeting (2.7 s, keys ignored) is over: the language menu takes keys. */
const LANGUAGE_KEY_MS = 4000;
/** After the read-back's known length, before the caller keys the pay menu: room for a slow lookup. */
const READOUT_MARGIN_MS = 2000;
/** After the confirmation key: the charge, the payment record and the start of "payment approved". */
const END_KEY_AFTER_CONFIRM_MS = 3000;
/** The IVR's BYE comes after "goodbye" (2 s); the whole confirmation read-back if the end key came too early. */
const BYE_TIMEOUT_MS = 30_000;
const WARMUP_CALLS = 10;
/**
 * Citations are permutations of these 8 digits (40,320 of them): no digit twice, so the keys of
 * one citation never need the same-key gap, and never 1 or 9, the menu keys just before them.
 * None is a citation the city already has (the demo set has a 1 or a 9, the generated ones are
 * 5000xxxx) — and the database refuses to start if one were.
 */
const CITATION_DIGITS = '02345678';
/** A Luhn-valid Visa number the test gateway approves (it declines only its two decline numbers). */
const CARD = '4567890123456783';
const EXPIRY = '1230';
const CVV = '456';
const ZIP = '94103';

export interface ParkingStep {
  calls: number;
  void: boolean;
  voidReason: string | null;
  /** Lookups each caller makes (the journey's loops), the first ones while the step is measured. */
  lookupsPerCall: number;
  /** sipp's view: a call succeeds when the IVR hung up at the end of the journey. */
  successfulCalls: number;
  failedCalls: number;
  rejected503: number;
  failures: string[];
  /** Calls by journey outcome: `paid` is every lookup found, the charge approved and recorded, the IVR's goodbye. */
  outcomes: Record<string, number>;
  paid: number;
  /** Payment rows the city database gained during the step (its auditor's count). */
  paymentRowsWritten: number | null;
  /** How the IVR's call records say its calls ended (outcome/hangupCause → count). */
  endings: Record<string, number>;
  windowSeconds: number;
  cpuPercentPerCall: number | null;
  cpuPercentTotal: number | null;
  rssKiBPerCall: number | null;
  rssKiB: { idle: number; loaded: number };
  /** The database (city-db script, postmaster, backends) and the gateway over the window, % of a core. */
  dbCpuPercent: number | null;
  gatewayCpuPercent: number | null;
  dbRssKiB: number | null;
  /** CPU per call over the whole step (first INVITE to last BYE), ms: what one journey costs each process. */
  cpuMsPerCall: { ivr: number | null; db: number | null; gateway: number | null };
  generator: { cpuPercent: number | null; mainThreadPercent: number | null };
  machineBusyPercent: number | null;
  otherCores: number | null;
  rtp: StreamFigures;
  /** Last citation digit → first packet of the read-back ("Violation: …"), on the wire, keys pressed in the window. */
  lookupResponse: Latencies;
  /** Confirmation key → first packet of "payment approved" (charge + payment record), on the wire. */
  paymentResponse: Latencies;
  /** What the flow waited for, from the IVR's backend.query and payment.result log lines. */
  serverMs: { lookup: Latencies; charge: Latencies; record: Latencies };
  inviteTo200Ms: { p50: number | null; p99: number | null; count: number };
  wipeMs: { p50: number | null; p99: number | null; max: number | null; count: number };
}

export interface Latencies {
  count: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
}

export interface ParkingResults {
  setup: Record<string, unknown>;
  warmup: { calls: number; paid: number; outcomes: Record<string, number> };
  steps: ParkingStep[];
  brokeAt: { calls: number; reason: string } | null;
  profile: { file: string; top: HotFunction[] } | null;
}

/** What the IVR's log says about one call. */
interface CallLog {
  lookupsFound: number;
  lookupsOther: number;
  payment: string | null;
  recorded: boolean;
  ending: string | null;
}

function latencies(values: number[], digits = 2): Latencies {
  const sorted = [...values].sort((a, b) => a - b);
  return { count: sorted.length, p50: round(percentile(sorted, 0.5), digits), p99: round(percentile(sorted, 0.99), digits), max: round(sorted.at(-1) ?? Number.NaN, digits) };
}

/** The first `count` permutations of CITATION_DIGITS, in lexicographic order. */
export function citations(count: number): string[] {
  const digits = [...CITATION_DIGITS].sort();
  const out: string[] = [];
  for (;;) {
    if (out.length === count) return out;
    out.push(digits.join(''));
    // Next permutation: the rightmost ascent, swapped with the smallest larger digit after it.
    let i = digits.length - 2;
    while (i >= 0 && digits[i]! >= digits[i + 1]!) i--;
    if (i < 0) throw new Error(`the parking scenario has ${out.length} citations, ${count} asked for`);
    let j = digits.length - 1;
    while (digits[j]! <= digits[i]!) j--;
    [digits[i], digits[j]] = [digits[j]!, digits[i]!];
    digits.splice(i + 1, digits.length - i - 1, ...digits.slice(i + 1).reverse());
  }
}

/** A prompt's first audible frame and its index: what marks the prompt's start on the wire. */
function markerOf(store: PromptStore, id: string): { frame: Uint8Array; index: number; head: string } {
  const prompt = store.loadFile(id, join(root, `prompts/en-US/${id}.wav`));
  const silence = Buffer.from(silenceFrame('PCMU'));
  const index = prompt.frames.PCMU.findIndex((frame) => !Buffer.from(frame).equals(silence));
  const frame = prompt.frames.PCMU[index]!;
  return { frame, index, head: Buffer.from(frame.subarray(0, 4)).toString('hex') };
}

/**
 * How long the read-back of a load-test ticket lasts: the flow's ticket parts (apps/parking/flow.ts
 * ticketParts) for LOAD_TEST_TICKET, clip by clip. The caller cannot hear it end, so it waits this
 * long (plus a margin) before keying the pay menu; keys during it are dropped.
 */
function readoutMs(): number {
  const store = new PromptStore();
  const clips = [
    'parking.ticket_violation',
    'violation.expired_meter',
    'parking.ticket_issued',
    ...dateClips(LOAD_TEST_TICKET.issuedOn, 'en-US'),
    'parking.ticket_amount',
    ...currencyClips(LOAD_TEST_TICKET.amountCents, 'en-US'),
  ];
  return clips.reduce((sum, id) => sum + store.loadFile(id, join(root, `prompts/en-US/${id}.wav`)).durationMs, 0);
}

interface Journey {
  xml: string;
  /** Scenario time at which the caller starts paying (after its last lookup's read-back). */
  payStartMs: number;
  durationMs: number;
}

/**
 * The caller's keys: English, then `lookups` times the citation path (1, the citation, the
 * read-back; 9 at the pay menu goes back to the main menu), then pay: card and #, expiry, security
 * code and #, ZIP, 1 to confirm, and 2 once "payment approved" plays — not an option there, so the
 * read-back of the confirmation number ends (no retries) and the IVR says goodbye and hangs up.
 */
function journey(lookups: number, readout: number): Journey {
  const script = new KeyScript(KEY_SPACING_MS);
  script.pause(LANGUAGE_KEY_MS);
  script.press('1');
  for (let lookup = 0; lookup < lookups; lookup++) {
    if (lookup > 0) script.press('9');
    script.press('1');
    for (let field = 0; field < CITATION_DIGITS.length; field++) script.pressInjected(field, CITATION_DIGITS);
    script.pause(readout + READOUT_MARGIN_MS - KEY_SPACING_MS);
  }
  const payStartMs = script.nowMs;
  script.press('1');
  script.press(`${CARD}#`);
  script.press(EXPIRY);
  script.press(`${CVV}#`);
  script.press(ZIP);
  script.press('1');
  script.pause(END_KEY_AFTER_CONFIRM_MS - KEY_SPACING_MS);
  script.press('2');
  return { xml: script.xml(), payStartMs, durationMs: script.nowMs };
}

function ivrConfig(stack: DemoStack, maxCells: number, rtpMax: number): Record<string, unknown> {
  const tls = (paths: { ca: string; cert: string; key: string }) => ({ caFile: paths.ca, certFile: paths.cert, keyFile: paths.key, serverName: 'localhost' });
  return {
    sip: { listeners: [{ transport: 'udp', address: '127.0.0.1', port: SIP_PORT }], trustedPeers: ['127.0.0.1/32'], invitesPerSecondPerSource: 10000 },
    media: { address: '127.0.0.1', portRange: { min: RTP_MIN, max: rtpMax }, srtp: 'optional' },
    cells: { max: maxCells },
    numbers: { '*': 'parking' },
    applications: {
      parking: { flow: join(root, 'apps/parking/flow.ts'), languages: ['en-US', 'es-US'], agentUri: 'sip:agent@127.0.0.1', backends: ['city'], payment: true },
    },
    // The connector's defaults (a pool of 4 connections): what a deployment gets unless it tunes them.
    backends: {
      city: { type: 'postgres', host: stack.db.host, port: stack.db.port, database: stack.db.database, user: stack.db.user, tls: tls(stack.db.tls), operations: CITY_OPERATIONS },
    },
    payment: { type: 'https-gateway', chargeUrl: stack.gateway.url, tls: tls(stack.gateway.tls) },
    admin: { address: '127.0.0.1', port: ADMIN_PORT },
    log: { level: 'info' },
    drainSeconds: 2,
  };
}

/** The city's own count of payment rows, read with its auditor login (never the IVR's). */
async function countPayments(stack: DemoStack): Promise<number | null> {
  let client: pg.Client | undefined;
  try {
    client = await connectAuditor(stack.db);
    const result = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM payments');
    return result.rows[0]?.n ?? null;
  } catch {
    return null;
  } finally {
    await client?.end().catch(() => undefined);
  }
}

/** `paid`, or what went otherwise: the lookups found, the charge, and how the call ended. */
function outcomeOf(call: CallLog, lookups: number): string {
  if (call.lookupsFound === lookups && call.lookupsOther === 0 && call.payment === 'approved' && call.recorded && call.ending === 'completed/local-bye') return 'paid';
  return `lookups ${call.lookupsFound}/${lookups}${call.lookupsOther > 0 ? ` (+${call.lookupsOther} not found or failed)` : ''}, payment ${call.payment ?? 'none'}${call.payment === 'approved' && !call.recorded ? ' not recorded' : ''}, ended ${call.ending ?? 'unknown'}`;
}

function breakReason(step: ParkingStep): string | null {
  if (step.void) return `void: ${step.voidReason}`;
  const allowed = Math.max(1, step.calls / 100);
  if (step.rejected503 > 0 || step.failedCalls > allowed || step.calls - step.paid > allowed) return `${step.calls - step.paid} calls not paid, ${step.failedCalls} failed in sipp, ${step.rejected503} × 503`;
  if (step.rtp.lossPercent > 0.5) return `RTP loss ${step.rtp.lossPercent}%`;
  if (step.rtp.skippedPercent > 5) return `${step.rtp.skippedPercent}% of frames never sent (clock skipped slots)`;
  if ((step.cpuPercentTotal ?? 0) >= 95) return `IVR at ${step.cpuPercentTotal}% of a core`;
  return null;
}

export async function runParking(ctx: ScenarioContext): Promise<ParkingResults> {
  const { tmp } = ctx;
  const dir = join(tmp, 'parking');
  mkdirSync(dir);
  const maxCells = Math.min(10000, Math.max(...ctx.steps) + 50);
  const rtpMax = RTP_MIN + 2 * maxCells + 98;
  const callerAudio = join(dir, 'caller.ul');
  execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-t', 'ul', callerAudio, 'synth', '10', 'pinknoise', 'vol', '0.05']);
  const store = new PromptStore();
  const lookupMarker = markerOf(store, 'parking.ticket_violation');
  const paymentMarker = markerOf(store, 'parking.payment_approved');
  const readout = readoutMs();

  // Every call of the run keys a citation of its own: warm-up first, then each step's in turn.
  const pool = citations(WARMUP_CALLS + ctx.steps.reduce((sum, calls) => sum + calls, 0));
  const citationsFile = join(dir, 'citations.txt');
  writeFileSync(citationsFile, `${pool.join('\n')}\n`);
  let nextCitation = 0;

  log(`parking: starting the city database (${pool.length} load-test tickets) and the test gateway`);
  const stack = await startDemoStack({ handleSignals: false, loadTestCitations: citationsFile });
  let ivrProcess: ChildProcess | null = null;
  try {
    const configFile = join(dir, 'traceless.yaml');
    // JSON is YAML: the config is written as the object the schema describes.
    writeFileSync(configFile, `${JSON.stringify(ivrConfig(stack, maxCells, rtpMax), null, 2)}\n`);

    let calls = new Map<string, CallLog>();
    let wipes: number[] = [];
    let server = { lookup: [] as number[], charge: [] as number[], record: [] as number[] };
    const callLog = (id: unknown): CallLog | null => {
      if (typeof id !== 'string') return null;
      let entry = calls.get(id);
      if (!entry) calls.set(id, (entry = { lookupsFound: 0, lookupsOther: 0, payment: null, recorded: false, ending: null }));
      return entry;
    };
    const onEntry = (entry: IvrLogEntry): void => {
      if (entry.event === 'backend.query') {
        const call = callLog(entry.callId);
        const found = entry.outcome === 'ok' && entry.rows === 1;
        if (entry.operation === 'ticketByCitation') {
          if (call && found) call.lookupsFound++;
          else if (call) call.lookupsOther++;
          if (typeof entry.latencyMs === 'number') server.lookup.push(entry.latencyMs);
        } else if (entry.operation === 'recordPayment') {
          if (call && found) call.recorded = true;
          if (typeof entry.latencyMs === 'number') server.record.push(entry.latencyMs);
        }
      } else if (entry.event === 'payment.result') {
        const call = callLog(entry.callId);
        if (call) call.payment = String(entry.result);
        if (typeof entry.latencyMs === 'number') server.charge.push(entry.latencyMs);
      } else if (entry.event === 'cdr') {
        const call = callLog(entry.callId);
        if (call) call.ending = `${String(entry.outcome)}/${String(entry.hangupCause)}`;
      } else if (entry.event === 'cell.wipe' && typeof entry.durationMs === 'number') wipes.push(entry.durationMs);
    };
    const resetLogs = (): void => {
      calls = new Map();
      wipes = [];
      server = { lookup: [], charge: [], record: [] };
    };

    const ivr = await startIvr({ configFile, cwd: dir, profileDir: ctx.profileDir, onEntry });
    ivrProcess = ivr;
    const ivrPort = (port: number): boolean => port >= RTP_MIN && port <= rtpMax + 1;
    const ports = `portrange ${RTP_MIN}-${rtpMax + 1}`;
    const keysFilter = `(dst ${ports} and udp[9] & 0x7f == ${EVENT_PT})`;
    const windowFilter = `udp and (src ${ports} or ${keysFilter})`;
    // The whole step's keys, and only the IVR's packets that may start the two response prompts
    // (the first 4 payload bytes after the 12-byte RTP header): small enough for a thousand calls.
    const responseFilter = `udp and (${keysFilter} or (src ${ports} and (udp[20:4] == 0x${lookupMarker.head} or udp[20:4] == 0x${paymentMarker.head})))`;

    /** One run of `count` callers through the journey; returns what the caller and the IVR saw. */
    async function callers<T>(name: string, count: number, rate: number, lookups: number, during: (stepDir: string, rampMs: number, generatorPid: number) => Promise<T>) {
      const stepDir = join(dir, name);
      mkdirSync(stepDir);
      const mine = pool.slice(nextCitation, nextCitation + count);
      nextCitation += count;
      // Not .csv: sipp's statistics file is the .csv that readUacResult looks for.
      const injection = join(stepDir, 'citations.inf');
      writeFileSync(injection, `SEQUENTIAL\n${mine.map((citation) => `${[...citation].join(';')};`).join('\n')}\n`);
      const plan = journey(lookups, readout);
      const scenario = writeScenario(stepDir, 'uac-parking.xml', { DIALLED, CALLER_AUDIO: callerAudio, JOURNEY: plan.xml, BYE_TIMEOUT_MS });
      const rampMs = (1000 * count) / rate;
      resetLogs();
      const sipCapture = await startSipCapture(stepDir, SIP_PORT);
      const responsesPath = join(stepDir, 'responses.pcap');
      const responses = track(
        spawn('dumpcap', ['-P', '-q', '-i', 'lo', '-s', '96', '-B', '64', '-f', responseFilter, '-a', 'duration:900', '-w', responsesPath], { cwd: stepDir, stdio: 'ignore' }),
      );
      await sleep(700);
      const uac = startUac({ cwd: stepDir, scenario, target: `127.0.0.1:${SIP_PORT}`, calls: count, rate, limit: count, timeoutSeconds: Math.ceil((rampMs + plan.durationMs + BYE_TIMEOUT_MS) / 1000) + 30, injectionFile: injection });
      track(uac.child);
      const measured = await during(stepDir, rampMs, uac.child.pid!);
      const code = await uac.exited;
      const sip = await stopSipCapture(sipCapture, SIP_PORT);
      await stopChild(responses, 5000);
      await ivrIdle(ADMIN_PORT);
      const responsePackets = readRtpPackets(responsesPath);
      rmSync(responsesPath, { force: true });
      const outcomes: Record<string, number> = {};
      for (const call of calls.values()) {
        const outcome = outcomeOf(call, lookups);
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      }
      if (calls.size < count) outcomes['no call record, lookup or payment in the IVR log'] = count - calls.size;
      return { code, sip, uac: readUacResult(stepDir), outcomes, paid: outcomes.paid ?? 0, responsePackets, measured };
    }

    // Warm-up: a few whole journeys, so JIT compilation and the first charges do not land in step
    // one — and a check that the journey works at all before the steps depend on it.
    const warm = await callers('warmup', WARMUP_CALLS, WARMUP_CALLS, 1, async () => undefined);
    log(`parking warm-up: ${warm.paid}/${WARMUP_CALLS} paid`);
    if (warm.paid !== WARMUP_CALLS) throw new Error(`parking warm-up: ${warm.paid}/${WARMUP_CALLS} calls paid (${JSON.stringify(warm.outcomes)}; sipp: ${warm.uac.errors.slice(0, 3).join(' | ')})`);

    async function step(count: number): Promise<ParkingStep> {
      const rate = Math.min(RAMP_RATE, count);
      const rampMs = (1000 * count) / rate;
      // Every caller stays on the lookup path until the window has ended, then pays.
      const windowStartMs = rampMs + LANGUAGE_KEY_MS;
      let lookups = 1;
      while (journey(lookups, readout).payStartMs < windowStartMs + ctx.windowSeconds * 1000 + 1000) lookups++;
      const paymentsBefore = await countPayments(stack);
      const stepStart = { ivr: sampleProcess(ivr.pid!), db: sampleTree(stack.db.pid), gateway: sampleTree(stack.gateway.pid) };
      const run = await callers(`step-${count}`, count, rate, lookups, async (stepDir, ramp, generatorPid) => {
        const capture = join(stepDir, 'rtp.pcap');
        // The window opens when the last caller is past the greeting; the capture starts just before.
        await sleep(ramp + LANGUAGE_KEY_MS - 800);
        const dumpcap = track(spawn('dumpcap', ['-P', '-q', '-i', 'lo', '-s', '96', '-B', '64', '-f', windowFilter, '-a', `duration:${ctx.windowSeconds + 2}`, '-w', capture], { stdio: 'ignore' }));
        await sleep(800);
        const sample = () => ({ ivr: sampleProcess(ivr.pid!), db: sampleTree(stack.db.pid), gateway: sampleTree(stack.gateway.pid), generator: sampleProcess(generatorPid), machine: sampleMachine() });
        const startEpoch = Date.now();
        const before = sample();
        await sleep(ctx.windowSeconds * 1000);
        const after = sample();
        const endEpoch = Date.now();
        await Promise.race([exitOf(dumpcap), sleep(10_000)]);
        return { before, after, startEpoch, endEpoch, capture };
      });
      const stepEnd = { ivr: sampleProcess(ivr.pid!), db: sampleTree(stack.db.pid), gateway: sampleTree(stack.gateway.pid) };
      const paymentsAfter = await countPayments(stack);
      const w = run.measured;
      const packets = readRtpPackets(w.capture).filter((p) => p.timeMs >= w.startEpoch && p.timeMs <= w.endEpoch);
      rmSync(w.capture, { force: true });
      const ivrCpu = corePercent(w.before.ivr, w.after.ivr);
      const dbCpu = corePercent(w.before.db, w.after.db);
      const gatewayCpu = corePercent(w.before.gateway, w.after.gateway);
      const generatorCpu = corePercent(w.before.generator, w.after.generator);
      const generatorMain = corePercent(w.before.generator, w.after.generator, true);
      const machineBusy = machineBusyPercent(w.before.machine, w.after.machine);
      const voidReason = generatorMain >= GENERATOR_SATURATED_PERCENT ? `generator main thread at ${generatorMain.toFixed(0)}% of a core` : null;
      const lookupTimings = keyResponses(run.responsePackets, ivrPort, EVENT_PT, lookupMarker.frame, lookupMarker.index).filter((t) => t.keyAtMs >= w.startEpoch && t.keyAtMs <= w.endEpoch);
      const paymentTimings = keyResponses(run.responsePackets, ivrPort, EVENT_PT, paymentMarker.frame, paymentMarker.index, 1);
      const perCall = (from: ProcessSample, to: ProcessSample) => round(((to.cpuSeconds - from.cpuSeconds) * 1000) / count, 1);
      const endings: Record<string, number> = {};
      for (const call of calls.values()) if (call.ending) endings[call.ending] = (endings[call.ending] ?? 0) + 1;
      const wire = run.sip.inviteTo200Ms;
      const result: ParkingStep = {
        calls: count,
        void: voidReason !== null,
        voidReason,
        lookupsPerCall: lookups,
        successfulCalls: run.uac.successful,
        failedCalls: run.uac.failed,
        rejected503: run.sip.rejected503,
        failures: run.uac.errors,
        outcomes: run.outcomes,
        paid: run.paid,
        paymentRowsWritten: paymentsBefore === null || paymentsAfter === null ? null : paymentsAfter - paymentsBefore,
        endings,
        windowSeconds: round((w.after.ivr.atMs - w.before.ivr.atMs) / 1000)!,
        cpuPercentPerCall: round(ivrCpu / count, 4),
        cpuPercentTotal: round(ivrCpu, 1),
        rssKiBPerCall: round((w.after.ivr.rssKiB - stepStart.ivr.rssKiB) / count, 1),
        rssKiB: { idle: stepStart.ivr.rssKiB, loaded: w.after.ivr.rssKiB },
        dbCpuPercent: round(dbCpu, 1),
        gatewayCpuPercent: round(gatewayCpu, 1),
        dbRssKiB: w.after.db.rssKiB,
        cpuMsPerCall: { ivr: perCall(stepStart.ivr, stepEnd.ivr), db: perCall(stepStart.db, stepEnd.db), gateway: perCall(stepStart.gateway, stepEnd.gateway) },
        generator: { cpuPercent: round(generatorCpu, 1), mainThreadPercent: round(generatorMain, 1) },
        machineBusyPercent: round(machineBusy, 1),
        otherCores: round((machineBusy * ctx.nproc - ivrCpu - dbCpu - gatewayCpu - generatorCpu) / 100, 2),
        rtp: roundFigures(streamFigures(packets, ivrPort)),
        lookupResponse: latencies(lookupTimings.map((t) => t.latencyMs)),
        paymentResponse: latencies(paymentTimings.map((t) => t.latencyMs)),
        serverMs: { lookup: latencies(server.lookup), charge: latencies(server.charge), record: latencies(server.record) },
        inviteTo200Ms: { p50: round(percentile(wire, 0.5), 3), p99: round(percentile(wire, 0.99), 3), count: wire.length },
        wipeMs: { ...latencies(wipes, 4), count: wipes.length },
      };
      log(
        `parking ${count} calls: sipp exit ${run.code}, ${run.paid}/${count} paid (${result.paymentRowsWritten} payment rows), ${run.uac.failed} failed in sipp, ` +
          `IVR cpu ${result.cpuPercentTotal}%, db ${result.dbCpuPercent}%, gateway ${result.gatewayCpuPercent}%, lookup p99 ${result.lookupResponse.p99} ms (${result.lookupResponse.count}), ` +
          `payment p99 ${result.paymentResponse.p99} ms, loss ${result.rtp.lossPercent}%${voidReason ? `, VOID (${voidReason})` : ''}`,
      );
      return result;
    }

    const steps: ParkingStep[] = [];
    let brokeAt: { calls: number; reason: string } | null = null;
    for (const count of ctx.steps) {
      const result = await step(count);
      steps.push(result);
      const reason = breakReason(result);
      if (reason) {
        brokeAt = { calls: count, reason };
        log(`parking: service level broke at ${count} calls: ${reason}`);
        if (!ctx.quick) break;
      }
    }
    await stopChild(ivr);
    const profile = ctx.profileDir ? newestProfile(ctx.profileDir) : null;
    return {
      setup: {
        flow: 'apps/parking/flow.ts',
        database: 'embedded PostgreSQL (apps/parking/city-db.ts), mutual TLS, connector pool of 4',
        gateway: 'apps/parking/test-gateway.ts, mutual TLS',
        rampCallsPerSecond: RAMP_RATE,
        windowSeconds: ctx.windowSeconds,
        keySpacingMs: KEY_SPACING_MS,
        readoutMs: readout,
        readoutMarginMs: READOUT_MARGIN_MS,
        journey: 'English; per lookup: 1, citation (8 digits, its own per call), read-back, 9; then 1 pay, card #, expiry, security code #, ZIP, 1 confirm, 2 after "payment approved"; the IVR says goodbye and hangs up',
        generator: 'sipp 3.6.1 UAC: rtp_stream PCMU (pink noise) + RFC 2833 captures via play_pcap_audio; citations from an injection file',
      },
      warmup: { calls: WARMUP_CALLS, paid: warm.paid, outcomes: warm.outcomes },
      steps,
      brokeAt,
      profile,
    };
  } finally {
    // On the way out of a failed step too: the IVR before the backends it calls.
    if (ivrProcess) await stopChild(ivrProcess);
    await stack.stop();
  }
}
