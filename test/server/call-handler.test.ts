// The incoming-call hand-off with a stand-in IncomingCall (the SIP side) and everything else
// real: the cell pool, media bound on 127.0.0.1, the flow runner, logger, metrics and records.
// Each way a call can end must give exactly one verified wipe, one record and one count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { randomInt } from 'node:crypto';
import { CellPool } from '../../src/vault/cell-pool.ts';
import { PortPool } from '../../src/media/port-pool.ts';
import { MediaClock } from '../../src/media/media-clock.ts';
import { PromptStore } from '../../src/media/prompt-store.ts';
import { createLogger } from '../../src/observe/logger.ts';
import { createMetrics, type Metrics } from '../../src/observe/metrics.ts';
import { createCallerMasker } from '../../src/observe/caller-mask.ts';
import { defineFlow, type Flow } from '../../src/flow/define-flow.ts';
import type { EndCause, IncomingCall } from '../../src/sip/incoming-call.ts';
import type { MediaConfig } from '../../src/media/call-media.ts';
import {
  handleIncomingCall,
  recordRejection,
  type ActiveCall,
  type CallHandlerServices,
} from '../../src/server/call-handler.ts';

const OFFER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n';
const CONFIGURED = '3115550100';

/** The SIP side of one call, as call-handler sees it: ends once, like the real call session. */
class FakeCall extends EventEmitter {
  readonly callId = 'x';
  readonly caller = '+15551234567';
  readonly application = 'app';
  readonly remote = { address: '127.0.0.1', port: 5060 };
  readonly transport = 'udp' as const;
  readonly remoteSdp = OFFER;
  readonly actions: string[] = [];
  ended = false;
  constructor(readonly dialled = CONFIGURED) {
    super();
  }
  accept(): boolean {
    this.actions.push('accept');
    return !this.ended;
  }
  reject(status: number): boolean {
    this.actions.push(`reject ${status}`);
    this.end('rejected');
    return true;
  }
  hangup(): void {
    this.actions.push('hangup');
    this.end('local-bye');
  }
  close(): void {
    this.hangup();
  }
  async transfer(): Promise<'failed'> {
    return 'failed';
  }
  /** What the session does when the far end or a timer ends the call. */
  end(cause: EndCause): void {
    if (this.ended) return;
    this.ended = true;
    this.emit('ended', cause);
  }
}

type LogLine = Record<string, unknown> & { event?: string };

function harness(t: { after(fn: () => void): void }, options: { flow?: Flow; media?: MediaConfig; cells?: number } = {}) {
  const lines: string[] = [];
  const maskHits: string[] = [];
  const watchers: Array<{ match: (line: LogLine) => boolean; resolve: () => void }> = [];
  const logger = createLogger({
    level: 'info',
    destination: {
      write: (line: string) => {
        lines.push(line);
        const parsed = JSON.parse(line) as LogLine;
        for (const watcher of watchers.filter((w) => w.match(parsed))) {
          watchers.splice(watchers.indexOf(watcher), 1);
          watcher.resolve();
        }
      },
    },
    allowedNumbers: [CONFIGURED],
    onMaskHit: (rule) => maskHits.push(rule),
  });
  const metrics = createMetrics({ backends: [] });
  const pool = new CellPool({ cells: options.cells ?? 1 });
  const clock = new MediaClock();
  const prompts = new PromptStore();
  // A minute of silence: the flow is still playing it when the test ends the call.
  prompts.add('en-US/hold', new Int16Array(8000 * 60));
  prompts.add('en-US/short', new Int16Array(160)); // one 20 ms frame
  const base = randomInt(10_000, 25_000) * 2; // RTP ports are even
  const calls: ActiveCall[] = [];
  t.after(() => {
    metrics.close();
    clock.close();
    pool.shutdown();
  });
  const services: CallHandlerServices = {
    pool,
    media: { pool: new PortPool({ min: base, max: base + 20 }), clock, config: { bindAddress: '127.0.0.1', ...options.media } },
    prompts,
    apps: new Map([
      [
        'app',
        {
          name: 'app',
          flow: options.flow ?? defineFlow(async () => {}),
          settings: {},
          backendFor: () => ({ query: async () => ({ rows: [] }) }),
          payment: { charge: async () => ({ approved: false, reason: 'unavailable' }) },
        },
      ],
    ]) as CallHandlerServices['apps'],
    logger,
    metrics,
    callerMask: createCallerMasker({ mode: 'last4' }),
    inbandDtmf: false,
    configuredNumbers: new Set([CONFIGURED]),
    track: (call) => calls.push(call),
  };
  const events = (): LogLine[] => lines.map((line) => JSON.parse(line) as LogLine);
  return {
    services,
    pool,
    metrics,
    maskHits,
    events,
    records: () => events().filter((e) => e.event === 'cdr'),
    sample: (series: string) => readSample(metrics, series),
    /** Resolves when a log line that matches is written. */
    line: (match: (line: LogLine) => boolean) => new Promise<void>((resolve) => watchers.push({ match, resolve })),
    /** Starts a call; resolves with its tracked handle. */
    dial(call: FakeCall): ActiveCall {
      handleIncomingCall(call as unknown as IncomingCall, services);
      const active = calls.at(-1);
      assert.ok(active, 'the call was tracked');
      return active;
    },
  };
}

/** One sample of a metric from the exposition, 0 when absent. */
async function readSample(metrics: Metrics, series: string): Promise<number> {
  const line = (await metrics.exposition()).split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

test('an unexpected failure while serving a call still hangs up, wipes the cell and writes one record', async (t) => {
  const h = harness(t, { media: { bindAddress: 'not-an-ip' } }); // binding the RTP ports throws
  const call = new FakeCall();
  await h.dial(call).done;
  assert.deepEqual(call.actions, ['hangup']);
  assert.equal(h.pool.stats.free, 1, 'the cell went back to the pool');
  assert.equal(h.events().filter((e) => e.event === 'cell.wipe' && e.verified === true).length, 1);
  const records = h.records();
  assert.equal(records.length, 1);
  assert.equal(records[0]!.outcome, 'failed');
  assert.equal(records[0]!.hangupCause, 'internal-error');
});

/**
 * Every exit path, one row each. `during` ends the call while the flow plays its prompt;
 * `beforeAnswer` ends it before the 200 OK could go out.
 */
const EXIT_PATHS: Array<{
  name: string;
  flow: 'hold' | 'throws';
  end?: { when: 'beforeAnswer' | 'during'; how: (call: FakeCall, active: ActiveCall) => void };
  media?: MediaConfig;
  outcome: string;
  cause: string;
  answered: boolean;
}> = [
  { name: 'session timer expired', flow: 'hold', end: { when: 'during', how: (call) => call.end('session-timer') }, outcome: 'abandoned', cause: 'session-timer', answered: true },
  { name: 'CANCEL before the answer', flow: 'hold', end: { when: 'beforeAnswer', how: (call) => call.end('cancel') }, outcome: 'abandoned', cause: 'cancel', answered: false },
  { name: 'caller BYE during the flow', flow: 'hold', end: { when: 'during', how: (call) => call.end('remote-bye') }, outcome: 'abandoned', cause: 'remote-bye', answered: true },
  { name: 'the flow throws', flow: 'throws', outcome: 'failed', cause: 'flow-error', answered: true },
  { name: 'media inactivity', flow: 'hold', media: { inactivityMs: 100 }, outcome: 'abandoned', cause: 'media-timeout', answered: true },
  { name: 'cut by the drain limit', flow: 'hold', end: { when: 'during', how: (_call, active) => active.cut('drain-timeout') }, outcome: 'failed', cause: 'drain-timeout', answered: true },
  { name: 'cut by shutdown (SIGINT)', flow: 'hold', end: { when: 'during', how: (_call, active) => active.cut('shutdown') }, outcome: 'failed', cause: 'shutdown', answered: true },
];

for (const row of EXIT_PATHS) {
  test(`exit path — ${row.name}: one verified wipe, one record (${row.outcome}, ${row.cause}), one count`, async (t) => {
    let playing!: () => void;
    const flowPlaying = new Promise<void>((resolve) => (playing = resolve));
    const flow =
      row.flow === 'throws'
        ? defineFlow(async () => {
            throw Object.assign(new Error('a flow bug'), { code: 'TEST_FLOW_BUG' });
          })
        : defineFlow(async (call) => {
            playing();
            await call.say('hold', { id: 'hold' });
          });
    const h = harness(t, { flow, ...(row.media ? { media: row.media } : {}) });
    const call = new FakeCall();
    const active = h.dial(call);
    if (row.end?.when === 'beforeAnswer') row.end.how(call, active);
    if (row.end?.when === 'during') {
      await flowPlaying;
      row.end.how(call, active);
    }
    await active.done;

    const events = h.events();
    const wipes = events.filter((e) => e.event === 'cell.wipe');
    assert.equal(wipes.length, 1, 'exactly one wipe');
    assert.equal(wipes[0]!.verified, true, 'read back as zero');
    assert.equal(h.pool.stats.free, 1, 'the cell is free again');
    const records = h.records();
    assert.equal(records.length, 1, 'exactly one record');
    const record = records[0]!;
    assert.equal(record.outcome, row.outcome);
    assert.equal(record.hangupCause, row.cause);
    assert.equal(record.answerTime !== null, row.answered, 'answerTime');
    assert.deepEqual(record.wipe, { bytes: wipes[0]!.bytes, verified: true });
    assert.equal(call.ended, true, 'the call is over on the SIP side');
    assert.equal(await h.sample(`traceless_calls_total{outcome="${row.outcome}"}`), 1);
    assert.equal(await h.sample('traceless_wipes_total{verified="true"}'), 1);
  });
}

test('a number the configuration does not name is logged and recorded as "other", with no mask hit', async (t) => {
  const h = harness(t, { flow: defineFlow(async () => {}) });
  const call = new FakeCall('4111111111111111');
  await h.dial(call).done;
  const start = h.events().find((e) => e.event === 'call.start');
  assert.equal(start?.dialled, 'other');
  assert.equal(h.records()[0]!.dialled, 'other');
  assert.equal(h.records()[0]!.invalidFields, undefined, 'a valid record');
  assert.ok(!h.events().some((e) => JSON.stringify(e).includes('4111111111111111')));
  assert.deepEqual(h.maskHits, [], 'the masker had nothing to catch');

  const listed = harness(t);
  await listed.dial(new FakeCall(CONFIGURED)).done;
  assert.equal(listed.records()[0]!.dialled, CONFIGURED, 'a configured number is written as is');
});

test('no free cell: 503 with Retry-After, one sip.reject, one rejected record without a cell, counted', async (t) => {
  const h = harness(t);
  const held = h.pool.acquire(); // the only cell is busy
  assert.ok(held);
  const call = new FakeCall('4111111111111111');
  await h.dial(call).done;
  held.release('completed');
  assert.deepEqual(call.actions, ['reject 503']);
  const rejects = h.events().filter((e) => e.event === 'sip.reject');
  assert.equal(rejects.length, 1);
  const [reject] = rejects;
  assert.deepEqual(
    { method: reject!.method, status: reject!.status, reason: reject!.reason, transport: reject!.transport },
    { method: 'INVITE', status: 503, reason: 'no-cell', transport: 'udp' },
  );
  const [record] = h.records();
  assert.equal(record?.callId, reject!.callId, 'the line names the record');
  assert.equal(record?.outcome, 'rejected');
  assert.equal(record?.hangupCause, 'no-cell');
  assert.equal(record?.answerTime, null);
  assert.equal(record?.wipe, null);
  assert.equal(record?.dialled, 'other');
  assert.equal(record?.caller, '*4567');
  assert.equal(await h.sample('traceless_calls_total{outcome="rejected"}'), 1);
  assert.equal(h.events().some((e) => e.event === 'call.start'), false, 'a rejected call never started');
  assert.deepEqual(h.maskHits, []);
});

test('recordRejection: a refused INVITE is a rejected call; a 401 challenge and other methods are lines only', async (t) => {
  const h = harness(t);
  recordRejection({ method: 'INVITE', status: 403, reason: 'untrusted', transport: 'tcp', dialled: CONFIGURED, caller: '+15551234567' }, h.services);
  recordRejection({ method: 'INVITE', status: 401, reason: 'challenged', transport: 'udp', dialled: CONFIGURED, caller: '+15551234567' }, h.services);
  recordRejection({ method: 'INVITE', status: 503, reason: 'rate-limited', transport: 'udp' }, h.services);
  recordRejection({ method: 'OPTIONS', status: 503, reason: 'draining', transport: 'udp' }, h.services);

  const rejects = h.events().filter((e) => e.event === 'sip.reject');
  assert.deepEqual(
    rejects.map((e) => [e.method, e.status, e.reason, typeof e.callId]),
    [
      ['INVITE', 403, 'untrusted', 'string'],
      ['INVITE', 401, 'challenged', 'undefined'],
      ['INVITE', 503, 'rate-limited', 'string'],
      ['OPTIONS', 503, 'draining', 'undefined'],
    ],
  );
  const records = h.records();
  assert.deepEqual(
    records.map((r) => [r.callId, r.outcome, r.hangupCause, r.dialled, r.caller, r.answerTime, r.wipe, r.steps]),
    [
      [rejects[0]!.callId, 'rejected', 'untrusted', CONFIGURED, '*4567', null, null, []],
      [rejects[2]!.callId, 'rejected', 'rate-limited', 'other', '*', null, null, []],
    ],
  );
  for (const record of records) assert.equal(record.invalidFields, undefined);
  assert.equal(await h.sample('traceless_calls_total{outcome="rejected"}'), 2);
});

test('the record lists the flow steps by id, once per visit — a barge-in entry from the moment it opens', async (t) => {
  const flow = defineFlow(async (call) => {
    await call.say('short', { id: 'greeting' });
    await call.say('short', { id: 'greeting' }); // the same step again, right after: one visit
    await call.say('short', { id: 'notice' });
    // Keys barge in from the prompt's start: the caller hangs up before the prompt ends.
    await call.gather({ id: 'account', prompt: 'hold', bargeIn: true, min: 4, max: 4, retries: 0 });
  });
  const h = harness(t, { flow });
  const call = new FakeCall();
  const opened = h.line((line) => line.event === 'flow.step' && line.kind === 'open');
  const active = h.dial(call);
  await opened;
  call.end('remote-bye');
  await active.done;
  const [record] = h.records();
  assert.deepEqual(record?.steps, ['greeting', 'notice', 'account']);
  assert.equal(h.events().some((e) => e.event === 'flow.step' && e.kind === 'armed'), false, 'the entry never got past its prompt');
});
