import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { CellPool } from '../../src/vault/cell-pool.ts';
import { PortPool } from '../../src/media/port-pool.ts';
import { MediaClock } from '../../src/media/media-clock.ts';
import { PromptStore } from '../../src/media/prompt-store.ts';
import { createLogger } from '../../src/observe/logger.ts';
import { createMetrics } from '../../src/observe/metrics.ts';
import { createCallerMasker } from '../../src/observe/caller-mask.ts';
import { defineFlow } from '../../src/flow/define-flow.ts';
import type { IncomingCall } from '../../src/sip/incoming-call.ts';
import { handleIncomingCall, type CallHandlerServices } from '../../src/server/call-handler.ts';

const OFFER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n';

test('an unexpected failure while serving a call still hangs up, wipes the cell and writes one record', async (t) => {
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => lines.push(line) } });
  const metrics = createMetrics({ backends: [] });
  const pool = new CellPool({ cells: 1 });
  const clock = new MediaClock();
  t.after(() => {
    metrics.close();
    clock.close();
    pool.shutdown();
  });
  const hangups: string[] = [];
  const call = Object.assign(new EventEmitter(), {
    callId: 'x', dialled: '3115550100', caller: '5551234', application: 'app', remote: { address: '127.0.0.1', port: 5060 },
    transport: 'udp', remoteSdp: OFFER, ended: false,
    accept: () => true, reject: () => true, hangup: () => hangups.push('hangup'), transfer: async () => 'failed', close: () => undefined,
  }) as unknown as IncomingCall;
  let done: Promise<void> = Promise.resolve();
  const services: CallHandlerServices = {
    pool,
    // A bind address that is not an IP literal makes binding the RTP ports throw.
    media: { pool: new PortPool({ min: 30000, max: 30010 }), clock, config: { bindAddress: 'not-an-ip' } },
    prompts: new PromptStore(),
    apps: new Map([['app', { name: 'app', flow: defineFlow(async () => {}), settings: {}, backendFor: () => ({ query: async () => ({ rows: [] }) }), payment: { charge: async () => ({ approved: false, reason: 'unavailable' }) } }]]),
    logger,
    metrics,
    callerMask: createCallerMasker({ mode: 'last4' }),
    inbandDtmf: false,
    track: (_call, promise) => {
      done = promise;
    },
  };
  handleIncomingCall(call, services);
  await done;
  assert.deepEqual(hangups, ['hangup']);
  assert.equal(pool.stats.free, 1, 'the cell went back to the pool');
  const events = lines.map((line) => JSON.parse(line) as { event?: string; verified?: boolean; outcome?: string; hangupCause?: string });
  assert.equal(events.filter((e) => e.event === 'cell.wipe' && e.verified === true).length, 1);
  const records = events.filter((e) => e.event === 'cdr');
  assert.equal(records.length, 1);
  assert.equal(records[0]!.outcome, 'failed');
  assert.equal(records[0]!.hangupCause, 'internal-error');
});
