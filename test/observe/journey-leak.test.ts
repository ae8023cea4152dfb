// The primary path alone, without the masker's help: a whole parking call logged at
// `trace` with canaries in every place a careless caller of the logger might put them —
// first held by a stand-in, then by real vault Secrets (card, expiry, CVV, ZIP, PIN,
// citation) from a cell. Nothing may come out (searched leaf by leaf, test/observe/leak-scan.ts),
// and the masker must not have had to act (0 hits). The end-to-end version, with keys
// pressed on a real call, is test/e2e/log-leak.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/observe/logger.ts';
import { startCallRecord } from '../../src/observe/call-record.ts';
import { createCallerMasker } from '../../src/observe/caller-mask.ts';
import { CellPool } from '../../src/vault/index.ts';
import type { Secret, SecretKind } from '../../src/vault/index.ts';
import { findCanaries } from './leak-scan.ts';

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
  call.event('menu.choice', { callId: 'c-journey', step: 'main-menu', outcome: 'chosen' });
  // Careless callers: secrets and raw digits in fields the events do not allow, or in allowed ones.
  call.event('gather.done', { callId: 'c-journey', step: 'citation', secure: false, outcome: 'terminator', keys: 8, digits: CANARIES.citation } as never);
  call.event('gather.done', { callId: 'c-journey', step: secretHolding(CANARIES.pan) as never, secure: true, outcome: 'terminator', keys: 16 });
  call.event('backend.query', { callId: 'c-journey', backend: 'city-db', outcome: 'ok', latencyMs: 4.2, operation: secretHolding(CANARIES.citation) as never });
  call.event('payment.result', { callId: 'c-journey', gateway: 'payment', result: 'approved', latencyMs: 150, card: CANARIES.pan } as never);
  call.debug({ pan: secretHolding(CANARIES.pan), cvv: secretHolding(CANARIES.cvv), wire: Buffer.from(CANARIES.pin) }, 'payment request built');
  record.backendLatency('city-db', 4.2);
  record.paymentLatency(150);
  call.event('cell.wipe', { callId: 'c-journey', cell: 3, bytes: 64, verified: true, durationMs: 0.03 });
  record.wiped({ bytes: 64, verified: true });
  call.event('call.end', { callId: 'c-journey', outcome: 'completed', cause: 'caller-bye', durationMs: 61000 });
  record.finish('completed', 'caller-bye');

  assert.deepEqual(findCanaries(lines, [...Object.values(CANARIES), '5551234567']), []);
  assert.deepEqual(logger.stats().maskHits, { luhn: 0, longRun: 0 });
  assert.equal(lines.filter((l) => l.includes('"event":"cdr"')).length, 1);
  assert.ok(logger.stats().unknownFields >= 2);
});

test('real vault Secrets in every place a logger call can take them print as [secret] and nothing else', () => {
  const canaries: Record<Exclude<SecretKind, 'digits'>, string> = {
    pan: '4111111111111111',
    expiry: '0931',
    cvv: '7395',
    zip: '13579',
    pin: '864297',
    account: '12345678',
  };
  const pool = new CellPool({ cells: 1 });
  const cell = pool.acquire();
  assert.ok(cell);
  // importSecret copies into the arena and zeroes its source: the canaries live in the test's strings only.
  const secrets = Object.fromEntries(
    Object.entries(canaries).map(([kind, value]) => [kind, cell.importSecret(kind as SecretKind, Buffer.from(value))]),
  ) as Record<keyof typeof canaries, Secret>;
  const all = Object.values(secrets);

  const lines: string[] = [];
  const logger = createLogger({ level: 'trace', allowedNumbers: ['+18005550100'], destination: { write: (l: string) => lines.push(l) } });
  const call = logger.child({ callId: 'c-vault', component: secrets.pin as never });
  // Allowlisted fields of each kind, and fields no event allows.
  call.event('flow.step', { callId: 'c-vault', step: secrets.account as never, kind: secrets.pin as never });
  call.event('gather.done', { callId: 'c-vault', step: 'pin', secure: true, outcome: 'complete', keys: secrets.pin, durationMs: secrets.pin } as never);
  call.event('payment.result', { callId: 'c-vault', gateway: 'payment', result: 'approved', latencyMs: 1, card: secrets.pan, cvv: secrets.cvv } as never);
  call.event('security.warning', { code: 'test', detail: secrets.zip as never });
  // Diagnostics: top level, nested, in arrays, as the message, inside an Error's message.
  call.debug({ request: { card: secrets.pan, expiry: secrets.expiry, extra: [secrets.cvv, { zip: secrets.zip }] } }, 'payment request built');
  call.trace(secrets.pin as never);
  call.warn({ all }, `interpolated ${String(secrets.account)}`);
  call.error(new Error(`failed for ${String(secrets.pan)}`));
  const record = startCallRecord({ callId: 'c-vault', dialled: '+18005550100', caller: createCallerMasker({ mode: 'last4' }).mask('+15551234567'), sink: logger });
  record.step(secrets.account as never);
  // After the wipe the handles are dead, and still print as nothing but [secret].
  cell.release('completed');
  call.info({ afterWipe: secrets.pan }, 'after wipe');
  record.finish('completed', 'caller-bye');
  pool.shutdown();

  assert.deepEqual(findCanaries(lines, Object.values(canaries)), []);
  const output = lines.join('');
  // The record refuses a Secret as a step id: it is written once, naming the field it left out.
  const cdr = lines.filter((l) => l.includes('"event":"cdr"'));
  assert.equal(cdr.length, 1);
  assert.deepEqual(JSON.parse(cdr[0]!).invalidFields, ['steps']);
  for (const expected of ['"step":"[secret]"', '"card":"[secret]"', '"extra":["[secret]",{"zip":"[secret]"}]', '"msg":"interpolated [secret]"', '"afterWipe":"[secret]"', 'failed for [secret]']) {
    assert.ok(output.includes(expected), `${expected} was written`);
  }
  assert.deepEqual(logger.stats().maskHits, { luhn: 0, longRun: 0 });
});
