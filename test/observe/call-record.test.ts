import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallRecord, CallRecordClock } from '../../src/observe/call-record.ts';
import { callRecordSchema, MAX_RECORDED_STEPS, startCallRecord } from '../../src/observe/call-record.ts';
import type { MaskedCaller } from '../../src/observe/caller-mask.ts';
import { createLogger } from '../../src/observe/logger.ts';
import { UNLISTED_DIALLED } from '../../src/observe/events.ts';

/** A clock the test moves by hand: wall time and monotonic time advance together. */
function manualClock(startIso: string): CallRecordClock & { advance(ms: number): void } {
  let wall = Date.parse(startIso);
  let mono = 1000;
  return {
    now: () => new Date(wall),
    monotonicMs: () => mono,
    advance(ms) {
      wall += ms;
      mono += ms;
    },
  };
}

function loggerCapture(level: 'info' | 'error' | 'silent' = 'info') {
  const lines: string[] = [];
  const logger = createLogger({ level, allowedNumbers: ['+18005550100'], destination: { write: (l: string) => lines.push(l) } });
  return { logger, lines };
}

const base = { callId: 'c-7f3k', dialled: '+18005550100', caller: 'h:abcdefghijklmnop' as MaskedCaller };

test('a full call gives one cdr line with every fact, valid against the schema', () => {
  const { logger, lines } = loggerCapture();
  const clock = manualClock('2026-11-28T19:00:00.000Z');
  const record = startCallRecord({ ...base, sink: logger, clock });
  clock.advance(12.5);
  record.answered();
  for (const step of ['greeting', 'language', 'main-menu', 'citation', 'pay']) record.step(step);
  record.backendLatency('city-db', 4.123456);
  record.paymentLatency(180.5);
  clock.advance(90_000);
  record.wiped({ bytes: 4096, verified: true });
  assert.equal(record.finish('completed', 'caller-bye'), true);

  assert.equal(lines.length, 1);
  const line = JSON.parse(lines[0]!) as Record<string, unknown>;
  const { level, time, event, ...body } = line;
  assert.equal(level, 'info');
  assert.equal(event, 'cdr');
  assert.equal(typeof time, 'string');
  const expected: CallRecord = {
    ...base,
    startTime: '2026-11-28T19:00:00.000Z',
    answerTime: '2026-11-28T19:00:00.012Z',
    endTime: '2026-11-28T19:01:30.012Z',
    durationMs: 90012.5,
    outcome: 'completed',
    steps: ['greeting', 'language', 'main-menu', 'citation', 'pay'],
    stepsOmitted: 0,
    backendLatencies: [{ backend: 'city-db', ms: 4.123 }],
    paymentLatencies: [180.5],
    wipe: { bytes: 4096, verified: true },
    hangupCause: 'caller-bye',
  };
  assert.deepEqual(body, expected);
  assert.equal(callRecordSchema.safeParse(body).success, true);
  assert.deepEqual(logger.stats().maskHits, { luhn: 0, longRun: 0 });
});

test('finish() twice writes exactly one record, and later facts are ignored', () => {
  const { logger, lines } = loggerCapture();
  const record = startCallRecord({ ...base, sink: logger, clock: manualClock('2026-11-28T19:00:00Z') });
  assert.equal(record.finish('abandoned', 'caller-cancel'), true);
  record.step('late-step');
  assert.equal(record.finish('failed', 'flow-error'), false);
  assert.equal(record.finished, true);
  assert.equal(lines.length, 1);
  const line = JSON.parse(lines[0]!) as CallRecord;
  assert.equal(line.outcome, 'abandoned');
  assert.deepEqual(line.steps, []);
  assert.equal(line.answerTime, null);
  assert.equal(line.wipe, null);
});

test('call records are written even when the log level hides info, but not when silent', () => {
  const quiet = loggerCapture('error');
  startCallRecord({ ...base, sink: quiet.logger }).finish('rejected', 'pool-full');
  assert.equal(quiet.lines.length, 1);
  const silent = loggerCapture('silent');
  startCallRecord({ ...base, sink: silent.logger }).finish('rejected', 'pool-full');
  assert.equal(silent.lines.length, 0);
});

test('the steps list is bounded and the overflow counted', () => {
  const records: Array<Partial<CallRecord>> = [];
  const record = startCallRecord({ ...base, sink: { callRecord: (r) => records.push(r) } });
  for (let i = 0; i < MAX_RECORDED_STEPS + 10; i++) record.step(`s${i}`);
  record.finish('completed', 'caller-bye');
  assert.equal(records[0]?.steps?.length, MAX_RECORDED_STEPS);
  assert.equal(records[0]?.stepsOmitted, 10);
});

test('a record with an invalid field is still written once, without that field, and names it', () => {
  const records: Array<Partial<CallRecord>> = [];
  const record = startCallRecord({ ...base, callId: 'bad id with spaces', sink: { callRecord: (r) => records.push(r) } });
  record.backendLatency('city db', 3);
  record.finish('failed', 'flow-error');
  assert.equal(records.length, 1);
  assert.equal(records[0]?.callId, undefined);
  assert.equal(records[0]?.backendLatencies, undefined);
  assert.deepEqual(records[0]?.invalidFields, ['callId', 'backendLatencies']);
  assert.equal(records[0]?.outcome, 'failed');
});

test('schema: rejects unknown fields, unmasked callers, unknown outcomes and bad times', () => {
  const valid: CallRecord = {
    ...base,
    startTime: '2026-11-28T19:00:00.000Z',
    answerTime: null,
    endTime: '2026-11-28T19:00:01.000Z',
    durationMs: 1000,
    outcome: 'transferred',
    steps: ['main-menu'],
    stepsOmitted: 0,
    backendLatencies: [],
    paymentLatencies: [],
    wipe: { bytes: 0, verified: true },
    hangupCause: 'refer-accepted',
  };
  assert.equal(callRecordSchema.safeParse(valid).success, true);
  const broken: Array<[string, unknown]> = [
    ['pan', '4111111111111111'],
    ['caller', '+15551234567'],
    ['outcome', 'paid'],
    ['startTime', 'yesterday'],
    ['durationMs', -1],
    ['steps', ['ok', 'has space']],
    ['wipe', { bytes: 1, verified: true, extra: 1 }],
    ['dialled', '1-800-FLOWERS'],
    ['dialled', 'unknown'],
  ];
  for (const [field, value] of broken) {
    assert.equal(callRecordSchema.safeParse({ ...valid, [field]: value }).success, false, field);
  }
});

test('a number the configuration does not name is recorded as "other", never as dialled', () => {
  const { logger, lines } = loggerCapture();
  const record = startCallRecord({ ...base, dialled: UNLISTED_DIALLED, sink: logger });
  record.finish('rejected', 'full');
  const line = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(line.dialled, 'other');
  assert.equal(line.invalidFields, undefined, 'a valid record');
});

test('the logger writes only the record’s own fields and prints a Secret-like value as [secret]', () => {
  const { logger, lines } = loggerCapture();
  logger.callRecord({ callId: 'c-1', hangupCause: { toJSON: () => '[secret]' } as never, pin: '1234' } as never);
  const line = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(line.hangupCause, '[secret]');
  assert.equal(line.pin, undefined);
  assert.equal(logger.stats().unknownFields, 1);
});
