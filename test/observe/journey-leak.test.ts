// The primary path alone, without the masker's help: a whole parking call logged at
// `trace` with canaries in every place a careless caller of the logger might put them.
// Nothing may come out, and the masker must not have had to act (0 hits).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/observe/logger.ts';
import { startCallRecord } from '../../src/observe/call-record.ts';
import { createCallerMasker } from '../../src/observe/caller-mask.ts';

const CANARIES = {
  pan: '4111111111111111',
  cvv: '7395', // 4 digits (Amex): a 3-digit canary could match a timestamp's milliseconds
  pin: '86429',
  citation: '12345678',
  caller: '+15551234567',
};

/** A stand-in for a vault Secret holding a canary: the value exists only in this closure. */
function secretHolding(value: string): object {
  return { toJSON: () => '[secret]', toString: () => '[secret]', [Symbol.for('test.value')]: () => value };
}

test('a full journey at trace level writes no canary and never needs the masker', () => {
  const lines: string[] = [];
  const logger = createLogger({ level: 'trace', allowedNumbers: ['+18005550100'], destination: { write: (l: string) => lines.push(l) } });
  const caller = createCallerMasker({ mode: 'hash' }).mask(CANARIES.caller);
  const call = logger.child({ callId: 'c-journey', component: 'flow' });
  const record = startCallRecord({ callId: 'c-journey', dialled: '+18005550100', caller, sink: logger });

  const invite = [
    'INVITE sip:+18005550100@127.0.0.1 SIP/2.0',
    `From: <sip:${CANARIES.caller}@carrier>;tag=zkq`,
    `Authorization: Digest username="${CANARIES.pin}", response="${CANARIES.citation}"`,
    `User-to-User: ${CANARIES.pan};encoding=hex`,
    'Content-Length: 80',
    '',
    `v=0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${CANARIES.pan}${CANARIES.cvv}`,
  ].join('\r\n');
  logger.event('sip.trace', { direction: 'in', transport: 'udp', bytes: invite.length, message: Buffer.from(invite) });
  const info = `INFO sip:ivr SIP/2.0\r\nContent-Type: application/dtmf-relay\r\nContent-Length: 24\r\n\r\nSignal=${CANARIES.pin[0]}\r\nDuration=160\r\n`;
  logger.event('sip.trace', { direction: 'in', transport: 'udp', bytes: info.length, message: Buffer.from(info) });

  call.event('call.start', { callId: 'c-journey', dialled: '+18005550100', caller, app: 'parking', transport: 'udp' });
  record.answered();
  for (const step of ['greeting', 'language', 'main-menu', 'citation', 'pay', 'card-number', 'expiry', 'cvv', 'zip', 'confirm']) {
    record.step(step);
    call.event('flow.step', { callId: 'c-journey', step });
  }
  call.event('menu.choice', { callId: 'c-journey', step: 'main-menu', outcome: 'chosen', option: 'pay-by-citation' });
  // Careless callers: secrets and raw digits in fields the events do not allow, or in allowed ones.
  call.event('gather.done', { callId: 'c-journey', step: 'citation', secure: false, outcome: 'terminator', keys: 8, digits: CANARIES.citation } as never);
  call.event('gather.done', { callId: 'c-journey', step: secretHolding(CANARIES.pan) as never, secure: true, outcome: 'terminator', keys: 16 });
  call.event('backend.query', { callId: 'c-journey', backend: 'city-db', outcome: 'ok', latencyMs: 4.2, operation: secretHolding(CANARIES.citation) as never });
  call.event('payment.result', { callId: 'c-journey', gateway: 'test-gateway', result: 'approved', latencyMs: 150, card: CANARIES.pan } as never);
  call.debug({ pan: secretHolding(CANARIES.pan), cvv: secretHolding(CANARIES.cvv), wire: Buffer.from(CANARIES.pin) }, 'payment request built');
  record.backendLatency('city-db', 4.2);
  record.paymentLatency(150);
  call.event('cell.wipe', { callId: 'c-journey', cell: 3, bytes: 64, verified: true, durationMs: 0.03 });
  record.wiped({ bytes: 64, verified: true });
  call.event('call.end', { callId: 'c-journey', outcome: 'completed', cause: 'caller-bye', durationMs: 61000 });
  record.finish('completed', 'caller-bye');

  const output = lines.join('');
  for (const [name, canary] of Object.entries(CANARIES)) {
    assert.ok(!output.includes(canary), `${name} leaked`);
  }
  assert.ok(!output.includes('5551234567'));
  assert.deepEqual(logger.stats().maskHits, { luhn: 0, longRun: 0 });
  assert.equal(lines.filter((l) => l.includes('"event":"cdr"')).length, 1);
  assert.ok(logger.stats().unknownFields >= 2);
});
